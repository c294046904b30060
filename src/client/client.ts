import { Pool } from 'undici';
import { CairnError } from './errors.js';
import { SseParser } from './sse-parser.js';

export type Consistency = 'linearizable' | 'lease' | 'stale';
export type AckMode = 'quorum' | 'all' | 'leader';

export interface ClientOptions {
  /** Node API addresses: `http://host:port` or `host:port`. At least one. */
  readonly endpoints: readonly string[];
  /** Per-request timeout. Default 10 000 ms. */
  readonly timeoutMs?: number;
  /** Attempts on other nodes for requests that surely did not take effect (connection refused, UNAVAILABLE). Default 3. */
  readonly retries?: number;
}

export interface KeyValue {
  readonly key: string;
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: number;
}

export interface GetResult extends KeyValue {
  /** The store's revision the read was served at. */
  readonly revision: number;
  /** The value as UTF-8 text. */
  text(): string;
}

export interface PutOptions {
  readonly ifVersion?: number;
  readonly ifModRevision?: number;
  readonly lease?: number;
  readonly ack?: AckMode;
}

export interface RangeQuery {
  readonly prefix?: string;
  readonly start?: string;
  readonly end?: string;
  readonly limit?: number;
  readonly keysOnly?: boolean;
  readonly consistency?: Consistency;
}

export interface WatchQuery {
  readonly key?: string;
  readonly prefix?: string;
  readonly start?: string;
  readonly end?: string;
  /** First revision to deliver (default: changes after the watch starts). */
  readonly fromRevision?: number;
  readonly prevKv?: boolean;
}

export interface WatchEvent extends KeyValue {
  readonly type: 'put' | 'delete';
  readonly prevKv?: KeyValue;
}

export interface WatchBatch {
  readonly revision: number;
  readonly events: readonly WatchEvent[];
}

interface KeyValueJson {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

function fromJson(kv: KeyValueJson): KeyValue {
  return { ...kv, value: new Uint8Array(Buffer.from(kv.value, 'base64')) };
}

/** Errors of connecting: the request never reached a node, so trying another is safe. */
const CONNECT_ERRORS = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ECONNRESET_BEFORE',
]);

/**
 * The Cairn client: key-value reads and writes, transactions, leases, watches and cluster administration over
 * the HTTP API. Requests go to any node (followers forward writes to the leader); a request that surely did not
 * take effect (connection refused, 503 UNAVAILABLE) is retried on the next node.
 */
export class Client {
  private readonly endpoints: string[];
  private readonly pools = new Map<string, Pool>();
  private next = 0;
  private readonly timeoutMs: number;
  private readonly retries: number;

  constructor(options: ClientOptions) {
    if (!options.endpoints?.length) throw new CairnError('INVALID_ARGUMENT', 0, 'at least one endpoint is needed');
    this.endpoints = options.endpoints.map((e) => {
      const url = new URL(e.includes('://') ? e : `http://${e}`);
      return `${url.protocol}//${url.host}`;
    });
    this.next = Math.floor(Math.random() * this.endpoints.length);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.retries = options.retries ?? 3;
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: 16,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        connectTimeout: Math.min(this.timeoutMs, 3000),
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Sends one request, moving to the next endpoint when it surely did not take effect. */
  async request(
    method: string,
    path: string,
    body?: Uint8Array | string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
    let lastError: unknown;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      const origin = this.endpoints[this.next % this.endpoints.length]!;
      try {
        const r = await this.pool(origin).request({
          method: method as 'GET',
          path,
          headers,
          ...(body !== undefined ? { body } : {}),
        });
        const data = Buffer.from(await r.body.arrayBuffer());
        if (r.statusCode === 503 || r.statusCode === 429) {
          lastError = CairnError.fromResponse(r.statusCode, data);
          this.next++;
          await delay(Math.min(1000, 50 * 2 ** attempt));
          continue;
        }
        return { status: r.statusCode, headers: r.headers, body: data };
      } catch (error) {
        const code = (error as { code?: string }).code ?? '';
        if (!CONNECT_ERRORS.has(code)) {
          throw new CairnError(
            'TIMEOUT',
            0,
            `request to ${origin} failed (${code || String(error)}): the outcome is unknown`,
          );
        }
        lastError = new CairnError('UNAVAILABLE', 0, `${origin} is unreachable (${code})`);
        this.next++;
      }
    }
    throw lastError instanceof CairnError ? lastError : new CairnError('UNAVAILABLE', 0, String(lastError));
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const r = await this.request(
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      body === undefined ? {} : { 'content-type': 'application/json' },
    );
    if (r.status >= 400) throw CairnError.fromResponse(r.status, r.body);
    return JSON.parse(r.body.toString('utf8')) as T;
  }

  async put(
    key: string,
    value: string | Uint8Array,
    options: PutOptions = {},
  ): Promise<{ revision: number; version: number }> {
    const q = query({
      ifVersion: options.ifVersion,
      ifModRevision: options.ifModRevision,
      lease: options.lease,
      ack: options.ack,
    });
    const r = await this.request('PUT', `/v1/kv/${encodeURIComponent(key)}${q}`, value, {
      'content-type': 'application/octet-stream',
    });
    if (r.status >= 400) throw CairnError.fromResponse(r.status, r.body);
    return JSON.parse(r.body.toString('utf8'));
  }

  async get(key: string, options: { consistency?: Consistency } = {}): Promise<GetResult | null> {
    const r = await this.request(
      'GET',
      `/v1/kv/${encodeURIComponent(key)}${query({ consistency: options.consistency })}`,
    );
    if (r.status === 404) {
      const error = CairnError.fromResponse(r.status, r.body);
      if (error.code === 'KEY_NOT_FOUND') return null;
      throw error;
    }
    if (r.status >= 400) throw CairnError.fromResponse(r.status, r.body);
    const h = (name: string) => Number(r.headers[name]);
    const value = new Uint8Array(r.body);
    return {
      key,
      value,
      revision: h('cairn-revision'),
      modRevision: h('cairn-mod-revision'),
      createRevision: h('cairn-create-revision'),
      version: h('cairn-version'),
      lease: Number(r.headers['cairn-lease'] ?? 0),
      text: () => new TextDecoder().decode(value),
    };
  }

  async del(
    key: string,
    options: { ifVersion?: number; ifModRevision?: number; ack?: AckMode } = {},
  ): Promise<{ revision: number; deleted: number }> {
    return this.json('DELETE', `/v1/kv/${encodeURIComponent(key)}${query(options)}`);
  }

  async scan(q: RangeQuery = {}): Promise<{ kvs: KeyValue[]; more: boolean; nextStart?: string; revision: number }> {
    const r = await this.json<{ kvs: KeyValueJson[]; more: boolean; nextStart?: string; revision: number }>(
      'GET',
      `/v1/kv${query({ ...q })}`,
    );
    return { ...r, kvs: r.kvs.map(fromJson) };
  }

  /** A transaction: `compare`, `success`, `failure` as in docs/api.md (values as UTF-8 `value` or `valueBase64`). */
  async txn(body: unknown): Promise<{ succeeded: boolean; revision: number; responses: unknown[] }> {
    return this.json('POST', '/v1/txn', body);
  }

  async grantLease(ttlSeconds: number): Promise<{ id: number; ttlSeconds: number }> {
    return this.json('POST', '/v1/leases', { ttlSeconds });
  }

  async keepAlive(id: number): Promise<{ id: number; ttlSeconds: number }> {
    return this.json('POST', `/v1/leases/${id}/keepalive`);
  }

  async revokeLease(id: number): Promise<{ id: number; deleted: number }> {
    return this.json('DELETE', `/v1/leases/${id}`);
  }

  async status(): Promise<ClusterStatus> {
    return this.json('GET', '/v1/cluster/status');
  }

  /** Every member's liveness, condition and vital signs, as the node asked sees them. */
  async health(): Promise<ClusterHealth> {
    return this.json('GET', '/v1/cluster/health');
  }

  /** Automatic actions and observations: this node's, or (cluster) every member's merged by time. */
  async events(
    options: { cluster?: boolean; since?: number } = {},
  ): Promise<{ events: ClusterEvent[]; unreachable?: string[] }> {
    return this.json(
      'GET',
      `/v1/cluster/events${query({ cluster: options.cluster ? 'true' : undefined, since: options.since })}`,
    );
  }

  async addMember(name: string, peer: string, http?: string): Promise<MembershipResult> {
    return this.json('POST', '/v1/cluster/members', { name, peer, ...(http ? { http } : {}) });
  }

  async promoteMember(name: string): Promise<MembershipResult> {
    return this.json('POST', `/v1/cluster/members/${encodeURIComponent(name)}/promote`);
  }

  async removeMember(name: string): Promise<MembershipResult> {
    return this.json('DELETE', `/v1/cluster/members/${encodeURIComponent(name)}`);
  }

  /**
   * Watches keys: `onBatch` gets every revision's changes in order. If the stream breaks (a node dies), it
   * reconnects to the next node from the last revision seen, so no change is missed or repeated.
   */
  watch(q: WatchQuery, onBatch: (batch: WatchBatch) => void | Promise<void>): Watch {
    return new Watch(this, q, onBatch, this.endpoints);
  }

  /** @internal used by Watch */
  openStream(origin: string, path: string, lastRevision: number | null, signal: AbortSignal) {
    return this.pool(origin).request({
      method: 'GET',
      path,
      headers: lastRevision !== null ? { 'last-event-id': String(lastRevision) } : {},
      signal,
      bodyTimeout: 0,
      headersTimeout: this.timeoutMs,
    });
  }

  async close(): Promise<void> {
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => {})));
    this.pools.clear();
  }
}

export interface ClusterEvent {
  readonly id: number;
  readonly at: string;
  readonly node: string;
  readonly action: string;
  readonly target?: string;
  readonly reason: string;
  readonly outcome: string;
}

export interface ClusterHealth {
  readonly node: string;
  readonly nodes: {
    name: string;
    state: 'alive' | 'suspect' | 'dead';
    phi: number;
    condition: 'healthy' | 'degraded' | 'unknown';
    reasons: { code: string; severity: string; message: string }[];
    metrics: Record<string, number | null> | null;
    lastHeartbeatMsAgo: number | null;
  }[];
}

export interface MembershipResult {
  readonly index: number;
  /** Pass it to the new member as --cluster-id. */
  readonly clusterId: string;
  readonly voters: string[];
  readonly learners: string[];
}

export interface ClusterStatus {
  readonly clusterId: string;
  readonly node: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly revision: number;
  readonly members: {
    name: string;
    peer: string;
    http: string | null;
    role: string;
    match: number | null;
    commit: number | null;
    applied: number | null;
    reachable: boolean;
    labels: Record<string, string>;
  }[];
}

/** A running watch; `close()` ends it, `done` settles when it ends (with the error that ended it, if any). */
export class Watch {
  private readonly controller = new AbortController();
  private lastRevision: number | null = null;
  private closed = false;
  readonly done: Promise<CairnError | null>;

  constructor(
    private readonly client: Client,
    private readonly q: WatchQuery,
    private readonly onBatch: (batch: WatchBatch) => void | Promise<void>,
    private readonly endpoints: readonly string[],
  ) {
    if (q.fromRevision !== undefined) this.lastRevision = q.fromRevision - 1;
    this.done = this.run();
  }

  close(): void {
    this.closed = true;
    this.controller.abort();
  }

  private path(): string {
    const { key, prefix, start, end, prevKv } = this.q;
    return `/v1/watch${query({ key, prefix, start, end, prevKv: prevKv ? 'true' : undefined })}`;
  }

  private async run(): Promise<CairnError | null> {
    let attempt = 0;
    let i = Math.floor(Math.random() * this.endpoints.length);
    while (!this.closed) {
      const origin = this.endpoints[i % this.endpoints.length]!;
      try {
        const r = await this.client.openStream(origin, this.path(), this.lastRevision, this.controller.signal);
        if (r.statusCode !== 200) {
          const body = Buffer.from(await r.body.arrayBuffer());
          const error = CairnError.fromResponse(r.statusCode, body);
          if (error.code === 'COMPACTED' || r.statusCode === 400) return error;
          throw error;
        }
        attempt = 0;
        const parser = new SseParser();
        for await (const chunk of r.body) {
          for (const event of parser.push(chunk as Buffer)) {
            if (event.event === 'error') {
              const error = CairnError.fromResponse(0, Buffer.from(event.data));
              if (error.code === 'COMPACTED') return error;
              throw error;
            }
            if (event.data === '') continue;
            const raw = JSON.parse(event.data) as {
              revision: number;
              events: (KeyValueJson & { type: 'put' | 'delete'; prevKv?: KeyValueJson })[];
            };
            if (this.lastRevision !== null && raw.revision <= this.lastRevision) continue;
            await this.onBatch({
              revision: raw.revision,
              events: raw.events.map((e) => ({
                ...fromJson(e),
                type: e.type,
                ...(e.prevKv ? { prevKv: fromJson(e.prevKv) } : {}),
              })),
            });
            this.lastRevision = raw.revision;
          }
        }
      } catch (error) {
        if (this.closed) break;
        if (error instanceof CairnError && error.code === 'COMPACTED') return error;
      }
      if (this.closed) break;
      // The stream ended or broke: resume on the next node after a short, growing pause.
      i++;
      attempt++;
      await delay(Math.min(2000, 50 * 2 ** Math.min(attempt, 6)));
    }
    return null;
  }
}

function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
