import { Pool } from 'undici';
import { type Balancer, type BalancerOptions, type BalancerStats, createBalancer } from '../balancer/balancer.js';
import { RetryBudget, type RetryBudgetOptions } from '../balancer/retry-budget.js';
import { type BalanceRequest, STRATEGY_NAMES, type StrategyName } from '../balancer/types.js';
import { type Random, systemRandom } from '../util/random.js';
import { type ClusterView, MemberDiscovery } from './discovery.js';
import { CairnError } from './errors.js';
import { delay, errorCode, headerValue, isConnectError, query, readBounded, toOrigin } from './http-util.js';
import { LeaseKeeper, type LeaseKeeperOptions } from './lease-keeper.js';
import type {
  ClusterEvent,
  ClusterHealth,
  ClusterStatus,
  DeleteOptions,
  GetOptions,
  GetResult,
  KeyValueJson,
  LeaseGrant,
  LeaseInfo,
  MemberStatus,
  MembershipResult,
  PutOptions,
  RangeQuery,
  RangeResult,
  TxnResult,
  WatchBatch,
  WatchQuery,
} from './types.js';
import { keyValueFromJson } from './types.js';
import { Watch } from './watch.js';

export type {
  AckMode,
  ClusterEvent,
  ClusterHealth,
  ClusterStatus,
  Consistency,
  DeleteOptions,
  GetOptions,
  GetResult,
  KeyValue,
  LeaseGrant,
  LeaseInfo,
  MemberStatus,
  MembershipResult,
  PutOptions,
  RangeQuery,
  RangeResult,
  TxnResult,
  WatchBatch,
  WatchEvent,
  WatchQuery,
} from './types.js';
export { Watch } from './watch.js';

/** Balancer settings a client may tune (docs/balancer.md lists their defaults). */
export type ClientBalancerOptions = Pick<
  BalancerOptions,
  | 'outlier'
  | 'panicThresholdPercent'
  | 'latencyDecayTimeMs'
  | 'failurePenaltyMs'
  | 'trafficDecayTimeMs'
  | 'wrr'
  | 'leastTime'
  | 'hash'
  | 'zone'
>;

export interface ClientOptions {
  /** Node API addresses (`http://host:port` or `host:port`), or a gateway's. At least one. Required. */
  readonly endpoints: readonly string[];
  /** Per-request timeout (waiting for headers, and between body chunks). Default: 10,000 ms. */
  readonly timeoutMs?: number;
  /**
   * Further attempts, on other nodes, of a request that surely did not take effect (connection refused, 503
   * UNAVAILABLE, 429) — and, for reads, of any failed attempt. 0..10. Default: 3.
   */
  readonly retries?: number;
  /** How reads and watches are spread over the nodes: rr | wrr | least-time | ip-hash | url-hash | zone. Default: least-time. */
  readonly strategy?: StrategyName;
  /** The client's zone, for `strategy: 'zone'` (keeps traffic in it while it has capacity). Default: '' (none). */
  readonly zone?: string;
  /** The client's region, for `strategy: 'zone'`. Default: inferred from the nodes in `zone`. */
  readonly region?: string;
  /**
   * Find the members (and the leader) from `GET /v1/cluster/status` and balance over all of them, refreshing
   * periodically and after errors. When false, only `endpoints` are used. An endpoint that is a Cairn gateway is
   * recognized and kept as is. Default: true.
   */
  readonly discovery?: boolean;
  /** Time between periodic member refreshes. Default: 5,000 ms. */
  readonly discoveryIntervalMs?: number;
  /** Send writes straight to the leader when discovery knows it (saves the follower's forwarding hop). Default: true. */
  readonly leaderWrites?: boolean;
  /** Largest answer body the client reads (a bigger one fails with BODY_TOO_LARGE). Default: 64 MiB. */
  readonly maxResponseBytes?: number;
  /** Connections kept per node. Default: 16. */
  readonly connectionsPerNode?: number;
  /** Balancer tuning (outlier ejection, panic threshold, per-strategy options). Default: the balancer's defaults. */
  readonly balancer?: ClientBalancerOptions;
  /** Caps retries to a share of the traffic (no retry storms). Default: 20 % of requests, at least 10 per second. */
  readonly retryBudget?: RetryBudgetOptions;
  /** Randomness for the balancer. Default: seeded from the OS. */
  readonly random?: Random;
}

export const CLIENT_DEFAULTS = {
  timeoutMs: 10_000,
  retries: 3,
  strategy: 'least-time',
  discovery: true,
  discoveryIntervalMs: 5_000,
  leaderWrites: true,
  maxResponseBytes: 64 * 1024 * 1024,
  connectionsPerNode: 16,
} as const;

/** Pause before retrying after a 503/429: 50 ms doubling per retry, at most 1,000 ms. */
const BACKOFF_BASE_MS = 50;
const BACKOFF_MAX_MS = 1_000;
const MAX_RETRIES = 10;

/** A raw answer: what `request` resolves with. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** What the client knows about the cluster and its own traffic. */
export interface ClientStats {
  readonly strategy: StrategyName;
  /** The leader's name and API, when discovery knows them (and leader writes are on). */
  readonly leader: string | null;
  readonly leaderEndpoint: string | null;
  /** True when the endpoint is a Cairn gateway (the client then does not balance itself). */
  readonly viaGateway: boolean;
  readonly discovery: {
    readonly enabled: boolean;
    readonly refreshes: number;
    readonly failures: number;
    readonly lastError: string | null;
    readonly source: string | null;
  };
  /** Per-node state, load, latency and traffic share (`endpoint` = `address`). */
  readonly balancer: BalancerStats;
}

type RequestKind = 'read' | 'write';

function positiveInteger(name: string, value: number | undefined, fallback: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > max) {
    throw CairnError.create('INVALID_ARGUMENT', 0, `${name} must be an integer in 0..${max}, got ${String(value)}`);
  }
  return v;
}

/**
 * The Cairn client: key-value reads and writes, transactions, leases, watches and cluster administration over
 * the HTTP API.
 *
 * - Discovery: from the endpoints it learns every member's API address, labels and the leader, refreshing every
 *   `discoveryIntervalMs` and soon after an error.
 * - Writes go to the leader when known (else to a node chosen by the strategy, which forwards them).
 * - Reads (every consistency: followers serve linearizable reads with ReadIndex) and watches are spread by the
 *   strategy, least response time by default.
 * - A request that surely did not take effect (connection refused, 503, 429) is retried on another node, with
 *   a short backoff after 503/429; reads are retried after any failure. Retries are capped per request
 *   (`retries`) and overall (the retry budget).
 * - Errors are typed: one `CairnError` subclass per API code (errors.ts).
 */
export class Client {
  private readonly seeds: string[];
  private readonly pools = new Map<string, Pool>();
  private readonly timeoutMs: number;
  private readonly retries: number;
  private readonly maxResponseBytes: number;
  private readonly connectionsPerNode: number;
  private readonly leaderWrites: boolean;
  private readonly zone: string;
  private readonly region: string;
  readonly strategy: StrategyName;
  private readonly balancer: Balancer;
  private readonly retryBudget: RetryBudget;
  private readonly discovery: MemberDiscovery | null;
  private firstDiscovery: Promise<void> | null = null;
  private leaderName: string | null = null;
  private leaderOrigin: string | null = null;
  private gateway = false;
  private closed = false;
  private readonly watches = new Set<Watch>();
  private readonly keepers = new Set<LeaseKeeper>();
  private readonly now = () => performance.now();

  constructor(options: ClientOptions) {
    if (typeof options !== 'object' || options === null) {
      throw CairnError.create('INVALID_ARGUMENT', 0, 'client options must be an object');
    }
    if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
      throw CairnError.create('INVALID_ARGUMENT', 0, 'at least one endpoint is needed');
    }
    this.seeds = [...new Set(options.endpoints.map(toOrigin))];
    this.timeoutMs = positiveInteger('timeoutMs', options.timeoutMs, CLIENT_DEFAULTS.timeoutMs, 3_600_000);
    if (this.timeoutMs === 0) throw CairnError.create('INVALID_ARGUMENT', 0, 'timeoutMs must be positive');
    this.retries = positiveInteger('retries', options.retries, CLIENT_DEFAULTS.retries, MAX_RETRIES);
    this.maxResponseBytes = positiveInteger(
      'maxResponseBytes',
      options.maxResponseBytes,
      CLIENT_DEFAULTS.maxResponseBytes,
      2 ** 31,
    );
    this.connectionsPerNode = Math.max(
      1,
      positiveInteger('connectionsPerNode', options.connectionsPerNode, CLIENT_DEFAULTS.connectionsPerNode, 1024),
    );
    this.leaderWrites = options.leaderWrites ?? CLIENT_DEFAULTS.leaderWrites;
    const strategy = options.strategy ?? CLIENT_DEFAULTS.strategy;
    if (!(STRATEGY_NAMES as readonly string[]).includes(strategy)) {
      throw CairnError.create('INVALID_ARGUMENT', 0, `strategy must be one of ${STRATEGY_NAMES.join(', ')}`);
    }
    this.strategy = strategy;
    this.zone = options.zone ?? '';
    this.region = options.region ?? '';
    const random = options.random ?? systemRandom();
    try {
      this.balancer = createBalancer({
        ...options.balancer,
        strategy,
        hosts: this.seeds.map((origin) => ({ id: origin, address: origin })),
        random,
        now: this.now,
      });
      this.retryBudget = new RetryBudget(this.now, options.retryBudget);
    } catch (error) {
      throw CairnError.create('INVALID_ARGUMENT', 0, error instanceof Error ? error.message : String(error));
    }
    this.discovery =
      (options.discovery ?? CLIENT_DEFAULTS.discovery)
        ? new MemberDiscovery({
            seeds: this.seeds,
            fetch: (origin, signal) => this.fetchStatus(origin, signal),
            now: this.now,
            timers: { setTimeout, clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout) },
            refreshIntervalMs: options.discoveryIntervalMs ?? CLIENT_DEFAULTS.discoveryIntervalMs,
            timeoutMs: Math.min(this.timeoutMs, 2_000),
            onRefresh: (view, changed) => this.onDiscovery(view, changed),
          })
        : null;
  }

  // ——— key-value ———

  /** Writes a value. Conditions fail with CompareFailedError; `ack: 'leader'` answers before replication. */
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
    const r = await this.exchange('write', 'PUT', `${keyPath(key)}${q}`, value, {
      'content-type': 'application/octet-stream',
    });
    return parseAnswer(r);
  }

  /** Reads a key; null when it does not exist. */
  async get(key: string, options: GetOptions = {}): Promise<GetResult | null> {
    const r = await this.exchange(
      'read',
      'GET',
      `${keyPath(key)}${query({ consistency: options.consistency })}`,
      undefined,
      {},
      { key },
    );
    if (r.status === 404) {
      const error = CairnError.fromResponse(r.status, r.body);
      if (error.code === 'KEY_NOT_FOUND') return null;
      throw error;
    }
    if (r.status >= 400) throw CairnError.fromResponse(r.status, r.body);
    const h = (name: string) => Number(headerValue(r.headers, name));
    const value = new Uint8Array(r.body);
    return {
      key,
      value,
      revision: h('cairn-revision'),
      modRevision: h('cairn-mod-revision'),
      createRevision: h('cairn-create-revision'),
      version: h('cairn-version'),
      lease: Number(headerValue(r.headers, 'cairn-lease') ?? 0),
      text: () => new TextDecoder().decode(value),
    };
  }

  async del(key: string, options: DeleteOptions = {}): Promise<{ revision: number; deleted: number }> {
    return this.json('write', 'DELETE', `${keyPath(key)}${query({ ...options })}`);
  }

  /** Deletes every key of a prefix or range (at most 10,000) in one revision. */
  async deleteRange(
    range: { prefix: string } | { start: string; end?: string },
    options: { ack?: DeleteOptions['ack'] } = {},
  ): Promise<{ revision: number; deleted: number }> {
    return this.json('write', 'DELETE', `/v1/kv${query({ ...range, ack: options.ack })}`);
  }

  /** Lists keys by prefix or range; continue with `start: nextStart` while `more`. */
  async scan(q: RangeQuery = {}): Promise<RangeResult> {
    const r = await this.json<{ kvs: KeyValueJson[]; more: boolean; nextStart?: string; revision: number }>(
      'read',
      'GET',
      `/v1/kv${query({ ...q })}`,
      undefined,
      { key: q.prefix ?? q.start ?? '' },
    );
    return { ...r, kvs: r.kvs.map(keyValueFromJson) };
  }

  /** A transaction: `compare`, `success`, `failure` as in docs/api.md (values as UTF-8 `value` or `valueBase64`). */
  async txn(body: unknown, options: { ack?: 'quorum' | 'all' } = {}): Promise<TxnResult> {
    return this.json('write', 'POST', `/v1/txn${query({ ack: options.ack })}`, body);
  }

  // ——— leases ———

  async grantLease(ttlSeconds: number, options: { id?: number } = {}): Promise<LeaseGrant> {
    return this.json('write', 'POST', '/v1/leases', {
      ttlSeconds,
      ...(options.id !== undefined ? { id: options.id } : {}),
    });
  }

  async keepAlive(id: number): Promise<{ id: number; ttlSeconds: number }> {
    return this.json('write', 'POST', `/v1/leases/${leaseId(id)}/keepalive`);
  }

  async revokeLease(id: number): Promise<{ id: number; deleted: number }> {
    return this.json('write', 'DELETE', `/v1/leases/${leaseId(id)}`);
  }

  async getLease(id: number): Promise<LeaseInfo> {
    return this.json('read', 'GET', `/v1/leases/${leaseId(id)}`);
  }

  async listLeases(): Promise<LeaseInfo[]> {
    return (await this.json<{ leases: LeaseInfo[] }>('read', 'GET', '/v1/leases')).leases;
  }

  /**
   * Keeps a lease alive until `stop()`: a keep-alive every third of its TTL. `done` settles with
   * LeaseNotFoundError when the lease is gone (expired or revoked), or null once stopped.
   */
  keepLeaseAlive(id: number, options: LeaseKeeperOptions = {}): LeaseKeeper {
    this.assertOpen();
    const keeper = new LeaseKeeper((lease) => this.keepAlive(lease), leaseId(id), options);
    this.keepers.add(keeper);
    void keeper.done.finally(() => this.keepers.delete(keeper));
    return keeper;
  }

  // ——— cluster ———

  async status(): Promise<ClusterStatus> {
    return this.json('read', 'GET', '/v1/cluster/status');
  }

  /** Every member's liveness, condition and vital signs, as the node asked sees them. */
  async health(): Promise<ClusterHealth> {
    return this.json('read', 'GET', '/v1/cluster/health');
  }

  /** Automatic actions and observations: this node's, or (cluster) every member's merged by time. */
  async events(
    options: { cluster?: boolean; since?: number } = {},
  ): Promise<{ events: ClusterEvent[]; unreachable?: string[] }> {
    return this.json(
      'read',
      'GET',
      `/v1/cluster/events${query({ cluster: options.cluster ? 'true' : undefined, since: options.since })}`,
    );
  }

  async listMembers(): Promise<MemberStatus[]> {
    return (await this.json<{ members: MemberStatus[] }>('read', 'GET', '/v1/cluster/members')).members;
  }

  async addMember(name: string, peer: string, http?: string): Promise<MembershipResult> {
    return this.json('write', 'POST', '/v1/cluster/members', { name, peer, ...(http ? { http } : {}) });
  }

  async promoteMember(name: string): Promise<MembershipResult> {
    return this.json('write', 'POST', `/v1/cluster/members/${encodeURIComponent(name)}/promote`);
  }

  async removeMember(name: string): Promise<MembershipResult> {
    return this.json('write', 'DELETE', `/v1/cluster/members/${encodeURIComponent(name)}`);
  }

  // ——— watch ———

  /**
   * Watches keys: `onBatch` gets every revision's changes in order. If the stream breaks (a node dies), it
   * reconnects — to another node, chosen by the strategy — from the last revision seen, so no change is missed
   * or repeated.
   */
  watch(q: WatchQuery, onBatch: (batch: WatchBatch) => void | Promise<void>): Watch {
    this.assertOpen();
    const watch = new Watch(
      {
        pick: (exclude) => this.pickOrigin({ key: q.key ?? q.prefix ?? q.start ?? '' }, exclude),
        open: (origin, path, lastRevision, signal) => this.openStream(origin, path, lastRevision, signal),
        reportFailure: (origin) => this.noteFailure(origin),
        ready: () => this.ready(),
      },
      q,
      onBatch,
    );
    this.watches.add(watch);
    void watch.done.finally(() => this.watches.delete(watch));
    return watch;
  }

  /** @internal the watch's stream request */
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

  // ——— plumbing ———

  /**
   * Sends one request as the methods above do: GET and HEAD as reads (spread by the strategy), anything else as
   * a write (to the leader when known). Resolves with any HTTP answer; rejects only when no node answered.
   */
  async request(
    method: string,
    path: string,
    body?: Uint8Array | string,
    headers: Record<string, string> = {},
  ): Promise<RawResponse> {
    const kind: RequestKind = method === 'GET' || method === 'HEAD' ? 'read' : 'write';
    const r = await this.exchange(kind, method, path, body, headers, { path: path.slice(0, 4096) });
    return { status: r.status, headers: r.headers, body: r.body };
  }

  /** What the client knows: leader, discovery, and the balancer's per-node state and traffic shares. */
  stats(): ClientStats {
    const d = this.discovery?.stats();
    return {
      strategy: this.strategy,
      leader: this.leaderOrigin ? this.leaderName : null,
      leaderEndpoint: this.leaderOrigin,
      viaGateway: this.gateway,
      discovery: {
        enabled: this.discovery !== null,
        refreshes: d?.refreshes ?? 0,
        failures: d?.failures ?? 0,
        lastError: d?.lastError ?? null,
        source: d?.view?.source ?? null,
      },
      balancer: this.balancer.stats(),
    };
  }

  /** The endpoints requests may go to now (the discovered members, or the configured endpoints). */
  endpoints(): string[] {
    return this.balancer.hosts().map((host) => host.address);
  }

  /** Waits for the first discovery (if enabled), then resolves with `endpoints()`. */
  async discover(): Promise<string[]> {
    await this.ready();
    return this.endpoints();
  }

  /** Stops watches, lease keepers, discovery, and closes the connections. The client cannot be used afterwards. */
  async close(): Promise<void> {
    this.closed = true;
    this.discovery?.stop();
    this.balancer.close();
    for (const watch of this.watches) watch.close();
    for (const keeper of this.keepers) keeper.stop();
    await Promise.all([...this.pools.values()].map((p) => p.close().catch(() => {})));
    this.pools.clear();
  }

  private assertOpen(): void {
    if (this.closed) throw CairnError.create('INVALID_ARGUMENT', 0, 'the client is closed');
  }

  private ready(): Promise<void> {
    if (!this.discovery) return Promise.resolve();
    this.firstDiscovery ??= this.discovery.start().then(() => undefined);
    return this.firstDiscovery;
  }

  private onDiscovery(view: ClusterView, changed: boolean): void {
    if (view.viaGateway) {
      // A gateway balances for us: keep talking to it, not to the members behind it.
      this.gateway = true;
      this.leaderName = null;
      this.leaderOrigin = null;
      return;
    }
    this.gateway = false;
    const usable = view.members.filter((m) => m.role !== 'learner');
    if (usable.length === 0) return;
    this.leaderName = view.leader;
    this.leaderOrigin = this.leaderWrites ? view.leaderOrigin : null;
    if (!changed && this.balancer.hosts().length === usable.length) return;
    try {
      this.balancer.setHosts(
        usable.map((m) => ({ id: m.origin, address: m.origin, zone: m.zone, region: m.region, weight: m.weight })),
      );
    } catch {
      return; // a member list the balancer refuses (should not happen after discovery's checks): keep the old one
    }
    const keep = new Set([...usable.map((m) => m.origin), ...this.seeds]);
    for (const [origin, pool] of this.pools) {
      if (keep.has(origin)) continue;
      this.pools.delete(origin);
      void pool.close().catch(() => {});
    }
  }

  /** Something failed on `origin`: forget it as leader and look at the cluster again soon. */
  private noteFailure(origin: string): void {
    if (origin === this.leaderOrigin) this.leaderOrigin = null;
    this.discovery?.requestRefresh();
  }

  private pickOrigin(request: BalanceRequest, exclude: ReadonlySet<string>): string {
    const full: BalanceRequest = { ...request, ...(this.zone ? { clientZone: this.zone } : {}) };
    if (this.region) full.clientRegion = this.region;
    if (full.key !== undefined && full.key.length > 4096) full.key = full.key.slice(0, 4096);
    let host = this.balancer.pick(full, { exclude });
    if (!host && exclude.size > 0) host = this.balancer.pick(full);
    return host?.address ?? this.seeds[0]!;
  }

  private chooseOrigin(kind: RequestKind, request: BalanceRequest, tried: Set<string>): string {
    if (kind === 'write' && this.leaderOrigin !== null && !tried.has(this.leaderOrigin)) return this.leaderOrigin;
    // Every node tried: start over (the backoff spaces the rounds out).
    if (tried.size >= this.balancer.hosts().length) tried.clear();
    return this.pickOrigin(request, tried);
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.connectionsPerNode,
        headersTimeout: this.timeoutMs,
        bodyTimeout: this.timeoutMs,
        connectTimeout: Math.min(this.timeoutMs, 3000),
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  private async fetchStatus(origin: string, signal: AbortSignal) {
    const r = await this.pool(origin).request({ method: 'GET', path: '/v1/cluster/status?local=true', signal });
    const body = await readBounded(r.body, Math.min(this.maxResponseBytes, 4 * 1024 * 1024));
    return { status: r.statusCode, headers: r.headers, body };
  }

  /**
   * One request with the routing and retry rules of the class comment. Resolves with the first answer that is
   * not a retryable refusal; rejects with the last error when the attempts or the retry budget run out.
   */
  private async exchange(
    kind: RequestKind,
    method: string,
    path: string,
    body: Uint8Array | string | undefined,
    headers: Record<string, string>,
    request: BalanceRequest = {},
  ): Promise<RawResponse & { origin: string }> {
    this.assertOpen();
    await this.ready();
    this.retryBudget.recordRequest();
    const tried = new Set<string>();
    let lastError: CairnError | null = null;
    for (let attempt = 0; attempt <= this.retries; attempt++) {
      if (attempt > 0 && !this.retryBudget.tryRetry()) break;
      const origin = this.chooseOrigin(kind, request, tried);
      tried.add(origin);
      const handle = this.balancer.begin(origin);
      let status: number;
      let answerHeaders: Record<string, string | string[] | undefined>;
      let data: Buffer;
      try {
        const r = await this.pool(origin).request({
          method: method as 'GET',
          path,
          headers,
          ...(body !== undefined ? { body } : {}),
        });
        status = r.statusCode;
        answerHeaders = r.headers;
        data = await readBounded(r.body, this.maxResponseBytes);
      } catch (error) {
        if (error instanceof CairnError) {
          this.balancer.abandon(handle);
          throw error;
        }
        if (errorCode(error) === 'UND_ERR_INVALID_ARG') {
          // The request itself is malformed (a header or path undici refuses): no node is to blame, nothing was sent.
          this.balancer.abandon(handle);
          throw CairnError.create('INVALID_ARGUMENT', 0, error instanceof Error ? error.message : String(error));
        }
        this.balancer.end(handle, { ok: false });
        this.noteFailure(origin);
        const code = errorCode(error) || String(error);
        if (isConnectError(error)) {
          lastError = CairnError.create('UNAVAILABLE', 0, `${origin} is unreachable (${code})`);
          continue;
        }
        if (kind === 'read') {
          lastError = CairnError.create('TIMEOUT', 0, `read from ${origin} failed (${code})`);
          continue;
        }
        throw CairnError.create('TIMEOUT', 0, `request to ${origin} failed (${code}): the outcome is unknown`);
      }
      const refused = status === 503 || status === 429 || (kind === 'read' && status === 504);
      this.balancer.end(handle, { ok: status < 500 && status !== 429 });
      if (!refused) return { status, headers: answerHeaders, body: data, origin };
      lastError = CairnError.fromResponse(status, data);
      this.noteFailure(origin);
      if (attempt < this.retries) await delay(Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** attempt));
    }
    throw lastError ?? CairnError.create('UNAVAILABLE', 0, 'no node could take the request (retry budget spent)');
  }

  private async json<T>(
    kind: RequestKind,
    method: string,
    path: string,
    body?: unknown,
    request: BalanceRequest = {},
  ): Promise<T> {
    const r = await this.exchange(
      kind,
      method,
      path,
      body === undefined ? undefined : JSON.stringify(body),
      body === undefined ? {} : { 'content-type': 'application/json' },
      request,
    );
    return parseAnswer<T>(r);
  }
}

function parseAnswer<T>(r: RawResponse): T {
  if (r.status >= 400) throw CairnError.fromResponse(r.status, r.body);
  try {
    return JSON.parse(r.body.toString('utf8')) as T;
  } catch {
    throw CairnError.create('INTERNAL', r.status, `the answer is not JSON: ${r.body.toString('utf8').slice(0, 200)}`);
  }
}

function keyPath(key: string): string {
  if (typeof key !== 'string' || key.length === 0) {
    throw CairnError.create('INVALID_KEY', 0, 'the key must be a non-empty string');
  }
  return `/v1/kv/${encodeURIComponent(key)}`;
}

function leaseId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw CairnError.create('INVALID_ARGUMENT', 0, `a lease id is a positive integer, got ${String(id)}`);
  }
  return id;
}
