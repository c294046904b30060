import { Pool } from 'undici';
import { ApiError } from './errors.js';
import type { Request, Response } from './http-server.js';

/** Headers a forwarded answer keeps (the rest are hop-by-hop or recomputed). */
const PASSED_HEADERS = /^(content-type|cairn-|location$)/i;

/**
 * Sends a request this node cannot serve (a write on a follower) to the leader's API and streams the answer back.
 * A failure before the request could reach the leader is UNAVAILABLE (surely not applied); after, TIMEOUT.
 */
export class LeaderForwarder {
  private readonly pools = new Map<string, Pool>();

  constructor(
    private readonly selfName: string,
    private readonly timeoutMs: number,
  ) {}

  private pool(address: string): Pool {
    let pool = this.pools.get(address);
    if (!pool) {
      pool = new Pool(`http://${address}`, {
        connections: 64,
        pipelining: 1,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        connectTimeout: Math.min(this.timeoutMs, 2000),
      });
      this.pools.set(address, pool);
    }
    return pool;
  }

  async forward(req: Request, res: Response, leaderAddress: string, body: Buffer | undefined): Promise<void> {
    const headers: Record<string, string> = { 'cairn-forwarded-by': this.selfName };
    const type = req.headers['content-type'];
    if (typeof type === 'string') headers['content-type'] = type;
    const lastEventId = req.headers['last-event-id'];
    if (typeof lastEventId === 'string') headers['last-event-id'] = lastEventId;
    let answer: Awaited<ReturnType<Pool['request']>>;
    try {
      answer = await this.pool(leaderAddress).request({
        method: (req.method ?? 'GET') as 'GET',
        path: req.url ?? '/',
        headers,
        ...(body !== undefined ? { body } : {}),
      });
    } catch (error) {
      const code = (error as { code?: string }).code ?? '';
      if (
        code === 'ECONNREFUSED' ||
        code === 'UND_ERR_CONNECT_TIMEOUT' ||
        code === 'ENOTFOUND' ||
        code === 'EHOSTUNREACH'
      ) {
        throw new ApiError('UNAVAILABLE', `the leader's API at ${leaderAddress} is unreachable (${code}); retry`);
      }
      throw new ApiError(
        'TIMEOUT',
        `forwarding to the leader failed (${code || String(error)}); the outcome is unknown`,
      );
    }
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(answer.headers)) {
      if (PASSED_HEADERS.test(k) && typeof v === 'string') out[k] = v;
    }
    const data = Buffer.from(await answer.body.arrayBuffer());
    out['content-length'] = String(data.length);
    res.writeHead(answer.statusCode, out);
    res.end(data);
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => {})));
    this.pools.clear();
  }
}
