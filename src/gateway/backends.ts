import { Pool } from 'undici';
import { type Balancer, type BalancerStats, createBalancer } from '../balancer/balancer.js';
import type { TimerApi } from '../balancer/health-checker.js';
import type { RequestHandle } from '../balancer/host-tracker.js';
import type { BalanceRequest, Host, HostSpec } from '../balancer/types.js';
import type { ClientBalancerOptions } from '../client/client.js';
import { type ClusterView, MemberDiscovery } from '../client/discovery.js';
import { readBounded } from '../client/http-util.js';
import type { Random } from '../util/random.js';
import type { GatewayLogger, ResolvedBackend, ResolvedGatewayOptions } from './options.js';

/** Largest cluster-status answer read during discovery. */
const MAX_STATUS_BYTES = 4 * 1024 * 1024;

export interface BackendInfo {
  readonly name: string;
  /** The member's role as discovery last saw it ('' for a backend given by hand). */
  readonly role: string;
}

export interface BackendSetStats {
  readonly balancer: BalancerStats;
  readonly info: ReadonlyMap<string, BackendInfo>;
  readonly streams: ReadonlyMap<string, number>;
  readonly leader: { name: string | null; address: string } | null;
  readonly discovery: {
    enabled: boolean;
    refreshes: number;
    failures: number;
    lastError: string | null;
    source: string | null;
    ageMs: number | null;
  };
}

interface Dependencies {
  readonly random: Random;
  readonly now: () => number;
  readonly timers: TimerApi;
  readonly logger: GatewayLogger | null;
  readonly balancer: ClientBalancerOptions | undefined;
}

/**
 * The gateway's backends: the balancer over them (with active health checks), the discovery that keeps the list
 * and the leader current, one connection pool per backend for ordinary requests and one for watch streams (so
 * long-lived streams never starve short requests of connections), and the count of open streams per backend.
 */
export class BackendSet {
  readonly balancer: Balancer;
  private readonly discovery: MemberDiscovery | null;
  private readonly pools = new Map<string, Pool>();
  private readonly streamPools = new Map<string, Pool>();
  private readonly info = new Map<string, BackendInfo>();
  private readonly streamCounts = new Map<string, number>();
  private leaderOrigin: string | null = null;
  private leaderName: string | null = null;

  constructor(
    private readonly options: ResolvedGatewayOptions,
    private readonly deps: Dependencies,
  ) {
    for (const b of options.backends) this.info.set(b.id, { name: b.name, role: '' });
    const health = options.health;
    this.balancer = createBalancer({
      ...deps.balancer,
      strategy: options.strategy,
      hosts: options.backends.map(hostSpec),
      random: deps.random,
      now: deps.now,
      ...(health
        ? {
            health: {
              ...health,
              timers: deps.timers,
              probe: (host, { signal }) => this.probe(host, signal),
            },
          }
        : {}),
    });
    this.discovery = options.discovery
      ? new MemberDiscovery({
          seeds: options.backends.map((b) => b.address),
          fetch: async (origin, signal) => {
            const r = await this.pool(origin).request({
              method: 'GET',
              path: '/v1/cluster/status?local=true',
              signal,
            });
            return { status: r.statusCode, headers: r.headers, body: await readBounded(r.body, MAX_STATUS_BYTES) };
          },
          now: deps.now,
          timers: deps.timers,
          refreshIntervalMs: options.discoveryIntervalMs,
          timeoutMs: Math.min(options.requestTimeoutMs, 2_000),
          onRefresh: (view, changed) => this.onDiscovery(view, changed),
        })
      : null;
  }

  /** Runs the first discovery (when on); resolves once it answered or gave up. */
  async start(): Promise<void> {
    await this.discovery?.start();
  }

  /** The leader's API, when writes should go straight to it. */
  leader(): string | null {
    return this.options.leaderWrites ? this.leaderOrigin : null;
  }

  pick(request: BalanceRequest, exclude: ReadonlySet<string>): Host | null {
    return this.balancer.pick(request, { exclude });
  }

  begin(origin: string): RequestHandle {
    return this.balancer.begin(origin);
  }

  /** A backend failed: forget it as leader and look at the cluster again soon. */
  noteFailure(origin: string): void {
    if (origin === this.leaderOrigin) this.leaderOrigin = null;
    this.discovery?.requestRefresh();
  }

  pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: this.options.connectionsPerBackend,
        headersTimeout: this.options.requestTimeoutMs,
        bodyTimeout: this.options.requestTimeoutMs,
        connectTimeout: Math.min(this.options.requestTimeoutMs, 3_000),
      });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  /** Connections for watch streams: unlimited here, bounded by the gateway's `maxWatchStreams`. */
  streamPool(origin: string): Pool {
    let pool = this.streamPools.get(origin);
    if (!pool) {
      pool = new Pool(origin, {
        connections: null,
        headersTimeout: this.options.requestTimeoutMs,
        bodyTimeout: this.options.streamIdleTimeoutMs,
        connectTimeout: Math.min(this.options.requestTimeoutMs, 3_000),
      });
      this.streamPools.set(origin, pool);
    }
    return pool;
  }

  streamOpened(origin: string): void {
    this.streamCounts.set(origin, (this.streamCounts.get(origin) ?? 0) + 1);
  }

  streamClosed(origin: string): void {
    const n = (this.streamCounts.get(origin) ?? 0) - 1;
    if (n > 0) this.streamCounts.set(origin, n);
    else this.streamCounts.delete(origin);
  }

  nameOf(origin: string): string {
    return this.info.get(origin)?.name ?? origin;
  }

  stats(): BackendSetStats {
    const d = this.discovery?.stats();
    return {
      balancer: this.balancer.stats(),
      info: this.info,
      streams: this.streamCounts,
      leader: this.leaderOrigin ? { name: this.leaderName, address: this.leaderOrigin } : null,
      discovery: {
        enabled: this.discovery !== null,
        refreshes: d?.refreshes ?? 0,
        failures: d?.failures ?? 0,
        lastError: d?.lastError ?? null,
        source: d?.view?.source ?? null,
        ageMs: d?.view ? Math.max(0, Math.round(this.deps.now() - d.view.fetchedAtMs)) : null,
      },
    };
  }

  async close(): Promise<void> {
    this.discovery?.stop();
    this.balancer.close();
    const all = [...this.pools.values(), ...this.streamPools.values()];
    this.pools.clear();
    this.streamPools.clear();
    await Promise.all(all.map((p) => p.destroy().catch(() => {})));
  }

  private async probe(host: Host, signal: AbortSignal): Promise<boolean> {
    const r = await this.pool(host.address).request({ method: 'GET', path: '/healthz', signal });
    await r.body.dump();
    return r.statusCode === 200;
  }

  private onDiscovery(view: ClusterView, changed: boolean): void {
    if (view.viaGateway) return; // another gateway: keep it as the (only) backend
    const members = view.members.filter((m) => m.role !== 'learner');
    if (members.length === 0) return;
    this.leaderOrigin = view.leaderOrigin;
    this.leaderName = view.leader;
    if (!changed) return;
    const backends: ResolvedBackend[] = members.map((m) => ({
      id: m.origin,
      name: m.name,
      address: m.origin,
      zone: m.zone,
      region: m.region,
      weight: m.weight,
    }));
    const before = new Set(this.balancer.hosts().map((h) => h.id));
    try {
      this.balancer.setHosts(backends.map(hostSpec));
    } catch (error) {
      this.deps.logger?.warn({ err: String(error) }, 'discovered backends refused; keeping the previous list');
      return;
    }
    this.info.clear();
    for (const m of members) this.info.set(m.origin, { name: m.name, role: m.role });
    const now = new Set(backends.map((b) => b.id));
    const added = [...now].filter((id) => !before.has(id));
    const removed = [...before].filter((id) => !now.has(id));
    if (added.length > 0 || removed.length > 0) {
      this.deps.logger?.info({ added, removed, leader: view.leader }, 'backends changed');
    }
    for (const origin of removed) {
      const pool = this.pools.get(origin);
      this.pools.delete(origin);
      void pool?.close().catch(() => {});
      // Watch streams on a departed backend end on their own (their pool closes once they do).
      const streams = this.streamPools.get(origin);
      this.streamPools.delete(origin);
      void streams?.close().catch(() => {});
    }
  }
}

function hostSpec(b: ResolvedBackend): HostSpec {
  return { id: b.id, address: b.address, zone: b.zone, region: b.region, weight: b.weight };
}
