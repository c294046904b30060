import type { HostStats } from '../balancer/balancer.js';
import type { OutlierStats } from '../balancer/outlier-detector.js';
import type { RetryStats } from '../balancer/retry-policy.js';
import type { StrategyName } from '../balancer/types.js';
import type { BackendSetStats } from './backends.js';

/** One backend's line of `GET /gateway/status`. */
export interface BackendStatus {
  /** The backend's API origin (`http://host:port`); also its id. */
  readonly address: string;
  /** The member name (or the address for a backend given by hand). */
  readonly name: string;
  /** leader | follower | … as discovery last saw it; '' when unknown. */
  readonly role: string;
  readonly zone: string;
  readonly region: string;
  readonly weight: number;
  /** healthy | ejected | unhealthy | unknown (see docs/balancer.md). */
  readonly state: HostStats['state'];
  /** New requests may go to it now (healthy, or any backend during panic). */
  readonly serving: boolean;
  /** How much longer its passive ejection lasts, in ms; null when not ejected. */
  readonly ejectedForMs: number | null;
  readonly timesEjected: number;
  /** Active health-check verdict. */
  readonly health: HostStats['health'];
  /** Load: requests in flight to it now (watch streams not included). */
  readonly pending: number;
  /** Watch streams open through it now. */
  readonly streams: number;
  /** Peak-EWMA latency to the answer headers, in ms; null before the first answer. */
  readonly ewmaMs: number | null;
  readonly requests: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  /** Its part of the recent requests (decayed over ~10 s), 0..1. */
  readonly share: number;
}

/** `GET /gateway/status`. */
export interface GatewayStatus {
  readonly strategy: StrategyName;
  readonly zone: string;
  readonly region: string;
  /** True when too few backends are healthy and health is ignored (every backend serves). */
  readonly panic: boolean;
  readonly leader: { readonly name: string | null; readonly address: string } | null;
  readonly backends: readonly BackendStatus[];
  readonly requests: {
    /** Requests in progress, streams included. */
    readonly inFlight: number;
    /** Watch streams open. */
    readonly streams: number;
    /** Requests received since the start (gateway routes excluded). */
    readonly total: number;
    /** Refused with 429 by the gateway's own limits. */
    readonly rejected: number;
  };
  readonly retries: RetryStats;
  readonly ejections: OutlierStats;
  readonly discovery: BackendSetStats['discovery'];
}

export function buildStatus(
  base: Pick<GatewayStatus, 'strategy' | 'zone' | 'region' | 'requests' | 'retries'>,
  backends: BackendSetStats,
  nowMs: number,
): GatewayStatus {
  const b = backends.balancer;
  return {
    strategy: base.strategy,
    zone: base.zone,
    region: base.region,
    panic: b.panic,
    leader: backends.leader,
    backends: b.hosts.map((h) => ({
      address: h.address,
      name: backends.info.get(h.id)?.name ?? h.id,
      role: backends.info.get(h.id)?.role ?? '',
      zone: h.zone,
      region: h.region,
      weight: h.weight,
      state: h.state,
      serving: h.serving,
      ejectedForMs: h.ejectedUntilMs === null ? null : Math.max(0, Math.round(h.ejectedUntilMs - nowMs)),
      timesEjected: h.timesEjected,
      health: h.health,
      pending: h.pending,
      streams: backends.streams.get(h.id) ?? 0,
      ewmaMs: h.ewmaMs === null ? null : Math.round(h.ewmaMs * 1000) / 1000,
      requests: h.requests,
      failures: h.failures,
      consecutiveFailures: h.consecutiveFailures,
      share: Math.round(h.share * 10_000) / 10_000,
    })),
    requests: base.requests,
    retries: base.retries,
    ejections: b.ejections,
    discovery: backends.discovery,
  };
}
