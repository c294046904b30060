/** The strategies `createBalancer` knows. */
export const STRATEGY_NAMES = ['rr', 'wrr', 'least-time', 'ip-hash', 'url-hash', 'zone'] as const;
export type StrategyName = (typeof STRATEGY_NAMES)[number];

/** A host as the caller describes it (to `createBalancer` or `setHosts`). */
export interface HostSpec {
  /** Stable identity of the host; statistics follow the id across `setHosts` calls. 1..256 characters. */
  id: string;
  /** Where to send requests (for example `127.0.0.1:7201`). Opaque to the balancer. 1..1024 characters. */
  address: string;
  /** Availability zone label. Default: '' (the unnamed zone). */
  zone?: string;
  /** Region label (a region holds zones). Default: '' (the unnamed region). */
  region?: string;
  /** Relative capacity, an integer in 1..10,000. Default: 1. */
  weight?: number;
}

/** A host as the balancer hands it out: normalized, frozen, compared by `id`. */
export interface Host {
  readonly id: string;
  readonly address: string;
  readonly zone: string;
  readonly region: string;
  readonly weight: number;
}

/** What a picker may look at to choose a host. Every field is optional; each strategy documents what it uses. */
export interface BalanceRequest {
  /** The key the request is about (url-hash hashes this first). */
  key?: string;
  /** The request path (url-hash hashes this when `key` is absent). */
  path?: string;
  /** The client's IPv4 or IPv6 address (ip-hash hashes all of it). */
  clientAddress?: string;
  /** The client's zone (zone-aware routing prefers it). */
  clientZone?: string;
  /** The client's region; inferred from the hosts' labels when absent. */
  clientRegion?: string;
  /** True when the request may safely be sent twice (only these are retried). Default: false. */
  idempotent?: boolean;
}

/** How a request to a host ended, as far as the host's health is concerned. */
export interface RequestOutcome {
  /** False when the host failed the request (connection error, timeout, 5xx): counts toward ejection. */
  ok: boolean;
  /** Measured latency; default: now() minus the time `begin` was called. Must be finite and ≥ 0. */
  latencyMs?: number;
}

/** Active health-check verdict on a host. 'unchecked' = no active checks are configured. */
export type HealthState = 'unchecked' | 'unknown' | 'healthy' | 'unhealthy';
