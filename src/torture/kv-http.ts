import { Pool } from 'undici';
import type { OpOutput } from '../check/index.js';

/**
 * What one request's answer says about its effect:
 * - `ok`: it took effect (or, for a failed condition, definitely did nothing) and `output` is the checker's view;
 * - `failed`: it surely did not take effect (503 UNAVAILABLE, 429, or the connection was refused before sending);
 * - `unknown`: it may or may not take effect, now or later (timeout, 504, connection lost after sending, or an
 *   answer the harness did not expect: those are also listed as anomalies).
 */
export type OpAnswer =
  | { readonly kind: 'ok'; readonly output: OpOutput; readonly revision?: number }
  | { readonly kind: 'failed'; readonly code: string; readonly message?: string }
  | { readonly kind: 'unknown'; readonly reason: string; readonly message?: string; readonly anomaly?: string };

/** Errors of connecting: the request never left the harness, so it surely did not take effect. */
const NOT_SENT = new Set(['ECONNREFUSED', 'UND_ERR_CONNECT_TIMEOUT', 'EADDRNOTAVAIL', 'EHOSTUNREACH', 'ENETUNREACH']);

export interface KvHttpOptions {
  /** A request gives up after this long (outcome unknown). */
  readonly timeoutMs: number;
  /** Connections per node; at least the number of clients, so a request never queues behind a stuck one. */
  readonly connections: number;
}

interface RawAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

function errorOf(body: Buffer): { code: string; message: string } {
  try {
    const e = (JSON.parse(body.toString('utf8')) as { error?: { code?: string; message?: string } }).error;
    return { code: e?.code ?? 'NO_CODE', message: (e?.message ?? '').slice(0, 200) };
  } catch {
    return { code: 'NOT_JSON', message: body.toString('utf8').slice(0, 200) };
  }
}

function header(h: RawAnswer['headers'], name: string): number {
  const v = h[name];
  return Number(Array.isArray(v) ? v[0] : v);
}

/**
 * The harness's own minimal Cairn client for the workload: one attempt per operation (no retries, which would
 * blur call and return times), on the node asked, with a hard timeout, and a careful reading of what failed.
 */
export class KvHttp {
  private readonly pools = new Map<string, Pool>();

  constructor(private readonly o: KvHttpOptions) {}

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.o.connections,
        pipelining: 1,
        connectTimeout: Math.min(this.o.timeoutMs, 1000),
        headersTimeout: this.o.timeoutMs,
        bodyTimeout: this.o.timeoutMs,
        keepAliveTimeout: 30_000,
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  async send(
    origin: string,
    method: 'GET' | 'PUT' | 'DELETE',
    path: string,
    body?: string,
  ): Promise<RawAnswer | { readonly error: string; readonly sent: boolean }> {
    try {
      const r = await this.pool(origin).request({
        method,
        path,
        ...(body !== undefined ? { body, headers: { 'content-type': 'application/octet-stream' } } : {}),
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      const data = Buffer.from(await r.body.arrayBuffer());
      return { status: r.statusCode, headers: r.headers, body: data };
    } catch (error) {
      const raw = (error as { code?: unknown }).code;
      const code = typeof raw === 'string' ? raw : ((error as Error).name ?? 'ERROR');
      return { error: code, sent: !NOT_SENT.has(code) };
    }
  }

  /** A read; `lease` asks for `consistency=lease` (the leader's lease instead of a ReadIndex round). */
  async get(origin: string, key: string, consistency: 'linearizable' | 'lease' = 'linearizable'): Promise<OpAnswer> {
    const q = consistency === 'lease' ? '?consistency=lease' : '';
    const r = await this.send(origin, 'GET', `/v1/kv/${encodeURIComponent(key)}${q}`);
    if ('error' in r) return r.sent ? { kind: 'unknown', reason: r.error } : { kind: 'failed', code: r.error };
    if (r.status === 200) {
      return {
        kind: 'ok',
        output: { found: true, value: r.body.toString('utf8'), version: header(r.headers, 'cairn-version') },
        revision: header(r.headers, 'cairn-revision'),
      };
    }
    const error = errorOf(r.body);
    if (r.status === 404 && error.code === 'KEY_NOT_FOUND') return { kind: 'ok', output: { found: false } };
    return this.notOk(r.status, error);
  }

  async put(origin: string, key: string, value: string, ifVersion?: number): Promise<OpAnswer> {
    const q = ifVersion === undefined ? '' : `?ifVersion=${ifVersion}`;
    const r = await this.send(origin, 'PUT', `/v1/kv/${encodeURIComponent(key)}${q}`, value);
    if ('error' in r) return r.sent ? { kind: 'unknown', reason: r.error } : { kind: 'failed', code: r.error };
    if (r.status === 200) {
      const answer = JSON.parse(r.body.toString('utf8')) as { revision: number; version: number };
      return { kind: 'ok', output: { ok: true, version: answer.version }, revision: answer.revision };
    }
    return this.notOk(r.status, errorOf(r.body));
  }

  async del(origin: string, key: string, ifVersion?: number): Promise<OpAnswer> {
    const q = ifVersion === undefined ? '' : `?ifVersion=${ifVersion}`;
    const r = await this.send(origin, 'DELETE', `/v1/kv/${encodeURIComponent(key)}${q}`);
    if ('error' in r) return r.sent ? { kind: 'unknown', reason: r.error } : { kind: 'failed', code: r.error };
    if (r.status === 200) {
      const answer = JSON.parse(r.body.toString('utf8')) as { revision: number; deleted: 0 | 1 };
      return { kind: 'ok', output: { deleted: answer.deleted }, revision: answer.revision };
    }
    return this.notOk(r.status, errorOf(r.body));
  }

  private notOk(status: number, { code, message }: { code: string; message: string }): OpAnswer {
    if (status === 412 && code === 'COMPARE_FAILED') return { kind: 'ok', output: { ok: false, code } };
    // Refused before anything was proposed: surely not applied.
    if ((status === 503 && code === 'UNAVAILABLE') || (status === 429 && code === 'TOO_MANY_REQUESTS')) {
      return { kind: 'failed', code, message };
    }
    if (status === 504 && code === 'TIMEOUT') return { kind: 'unknown', reason: code, message };
    // Anything else is not an answer the workload should ever get: treat its effect as unknown and report it.
    return { kind: 'unknown', reason: code, message, anomaly: `HTTP ${status} ${code}: ${message}` };
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => {})));
    this.pools.clear();
  }
}
