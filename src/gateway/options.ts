import type { TimerApi } from '../balancer/health-checker.js';
import type { RetryOptions } from '../balancer/retry-policy.js';
import { STRATEGY_NAMES, type StrategyName } from '../balancer/types.js';
import type { ClientBalancerOptions } from '../client/client.js';
import { toOrigin } from '../client/http-util.js';
import type { Random } from '../util/random.js';

/** A backend given by hand (used as is when discovery is off; with discovery on, only a place to start). */
export interface BackendSpec {
  /** `http://host:port` or `host:port`. Required. */
  url: string;
  /** Shown on the status page. Default: the URL's origin. */
  name?: string;
  zone?: string;
  region?: string;
  /** 1..10,000. Default: 1. */
  weight?: number;
}

/** Active health checks of the backends (`GET /healthz`, 200 = fit). */
export interface GatewayHealthOptions {
  /** Time between checks of one backend. Default: 2,000 ms. */
  intervalMs?: number;
  /** Up to this much random time added to each interval. Default: 200 ms. */
  intervalJitterMs?: number;
  /** A check without an answer after this long failed. Default: 1,000 ms. */
  timeoutMs?: number;
  /** Failed checks in a row that mark a backend unhealthy. Default: 2. */
  unhealthyThreshold?: number;
  /** Passed checks in a row that bring it back. Default: 2. */
  healthyThreshold?: number;
}

/** pino-compatible logger. */
export interface GatewayLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface GatewayOptions {
  /** Cluster endpoints (seeds for discovery), or the backends themselves when `discovery` is false. Required, ≥ 1. */
  endpoints: readonly (string | BackendSpec)[];
  /** rr | wrr | least-time | ip-hash | url-hash | zone. Default: least-time. */
  strategy?: StrategyName;
  /** The gateway's zone, for `strategy: 'zone'`. Default: '' (none). */
  zone?: string;
  /** The gateway's region, for `strategy: 'zone'`. Default: inferred from the backends in `zone`. */
  region?: string;
  /** Learn the backends (members' API addresses and labels) and the leader from the cluster status. Default: true. */
  discovery?: boolean;
  /** Time between periodic refreshes of the backends. Default: 5,000 ms. */
  discoveryIntervalMs?: number;
  /** Send writes straight to the leader when it is known (saves the follower's forwarding hop). Default: true. */
  leaderWrites?: boolean;
  /** Active health checks; `false` turns them off. Default: on, with the defaults of GatewayHealthOptions. */
  health?: GatewayHealthOptions | false;
  /** Balancer tuning: outlier ejection, panic threshold, per-strategy options. Default: the balancer's defaults. */
  balancer?: ClientBalancerOptions;
  /** Retries of requests that may safely be sent again: at most 2 per request, within a 20 % budget. */
  retry?: Omit<RetryOptions, 'isRetryable'>;
  /** Largest request body; more is refused with 413 BODY_TOO_LARGE. Default: 8 MiB + 64 KiB (the node's txn limit). */
  maxRequestBodyBytes?: number;
  /**
   * Request bodies up to this size (with a declared Content-Length) are held in memory so the request can be
   * retried on another backend; larger ones stream straight through and are not retried. Default: 64 KiB.
   */
  maxReplayableBodyBytes?: number;
  /** Requests in progress (watch streams included); more get 429 TOO_MANY_REQUESTS. Default: 10,000. */
  maxConcurrentRequests?: number;
  /** Watch streams open at once; more get 429 TOO_MANY_REQUESTS. Default: 5,000. */
  maxWatchStreams?: number;
  /** Wait for a backend's answer headers (and between body chunks) this long. Default: 15,000 ms. */
  requestTimeoutMs?: number;
  /** A watch stream with no bytes for this long is closed (nodes send a keepalive every 15 s). Default: 60,000 ms. */
  streamIdleTimeoutMs?: number;
  /** Connections kept per backend for ordinary requests. Default: 128. */
  connectionsPerBackend?: number;
  /**
   * Use the left-most `X-Forwarded-For` address of the request as the client address (for ip-hash), instead of
   * the socket's. Only safe behind a proxy that sets the header. Default: false.
   */
  trustForwardedFor?: boolean;
  /** Randomness for the balancer. Default: seeded from the OS. */
  random?: Random;
  /** Clock in ms. Default: performance.now. */
  now?: () => number;
  /** Timers for health checks and discovery. Default: Node's (unref'd). */
  timers?: TimerApi;
  /** Default: silent. */
  logger?: GatewayLogger;
}

export const GATEWAY_DEFAULTS = {
  strategy: 'least-time',
  discovery: true,
  discoveryIntervalMs: 5_000,
  leaderWrites: true,
  health: { intervalMs: 2_000, intervalJitterMs: 200, timeoutMs: 1_000, unhealthyThreshold: 2, healthyThreshold: 2 },
  maxRequestBodyBytes: 8 * 1024 * 1024 + 64 * 1024,
  maxReplayableBodyBytes: 64 * 1024,
  maxConcurrentRequests: 10_000,
  maxWatchStreams: 5_000,
  requestTimeoutMs: 15_000,
  streamIdleTimeoutMs: 60_000,
  connectionsPerBackend: 128,
  trustForwardedFor: false,
} as const;

export class GatewayConfigError extends Error {
  readonly code = 'INVALID_ARGUMENT';
  constructor(message: string) {
    super(message);
    this.name = 'GatewayConfigError';
  }
}

export interface ResolvedBackend {
  readonly id: string;
  readonly name: string;
  readonly address: string;
  readonly zone: string;
  readonly region: string;
  readonly weight: number;
}

export interface ResolvedGatewayOptions {
  readonly backends: readonly ResolvedBackend[];
  readonly strategy: StrategyName;
  readonly zone: string;
  readonly region: string;
  readonly discovery: boolean;
  readonly discoveryIntervalMs: number;
  readonly leaderWrites: boolean;
  readonly health: Required<GatewayHealthOptions> | null;
  readonly maxRequestBodyBytes: number;
  readonly maxReplayableBodyBytes: number;
  readonly maxConcurrentRequests: number;
  readonly maxWatchStreams: number;
  readonly requestTimeoutMs: number;
  readonly streamIdleTimeoutMs: number;
  readonly connectionsPerBackend: number;
  readonly trustForwardedFor: boolean;
}

function integer(name: string, value: number | undefined, fallback: number, min: number, max: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw new GatewayConfigError(`${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return v;
}

function backendFrom(spec: string | BackendSpec, index: number): ResolvedBackend {
  const s: BackendSpec = typeof spec === 'string' ? { url: spec } : spec;
  if (typeof s !== 'object' || s === null)
    throw new GatewayConfigError(`endpoints[${index}] must be a URL or an object`);
  let origin: string;
  try {
    origin = toOrigin(s.url);
  } catch (error) {
    throw new GatewayConfigError(`endpoints[${index}]: ${error instanceof Error ? error.message : String(error)}`);
  }
  return {
    id: origin,
    name: s.name ?? origin,
    address: origin,
    zone: s.zone ?? '',
    region: s.region ?? '',
    weight: integer(`endpoints[${index}].weight`, s.weight, 1, 1, 10_000),
  };
}

/** Checks every option and fills in the defaults (GatewayConfigError on a bad one). */
export function resolveGatewayOptions(options: GatewayOptions): ResolvedGatewayOptions {
  if (typeof options !== 'object' || options === null) throw new GatewayConfigError('options must be an object');
  if (!Array.isArray(options.endpoints) || options.endpoints.length === 0) {
    throw new GatewayConfigError('at least one endpoint is needed');
  }
  const backends = options.endpoints.map(backendFrom);
  const unique = new Map(backends.map((b) => [b.id, b]));
  const strategy = options.strategy ?? GATEWAY_DEFAULTS.strategy;
  if (!(STRATEGY_NAMES as readonly string[]).includes(strategy)) {
    throw new GatewayConfigError(`strategy must be one of ${STRATEGY_NAMES.join(', ')}, got ${String(strategy)}`);
  }
  const h = options.health === false ? null : { ...GATEWAY_DEFAULTS.health, ...(options.health ?? {}) };
  if (h) {
    integer('health.intervalMs', h.intervalMs, 0, 1, 3_600_000);
    integer('health.intervalJitterMs', h.intervalJitterMs, 0, 0, 3_600_000);
    integer('health.timeoutMs', h.timeoutMs, 0, 1, 3_600_000);
    integer('health.unhealthyThreshold', h.unhealthyThreshold, 0, 1, 1000);
    integer('health.healthyThreshold', h.healthyThreshold, 0, 1, 1000);
  }
  const maxRequestBodyBytes = integer(
    'maxRequestBodyBytes',
    options.maxRequestBodyBytes,
    GATEWAY_DEFAULTS.maxRequestBodyBytes,
    0,
    2 ** 40,
  );
  return {
    backends: [...unique.values()],
    strategy,
    zone: options.zone ?? '',
    region: options.region ?? '',
    discovery: options.discovery ?? GATEWAY_DEFAULTS.discovery,
    discoveryIntervalMs: integer(
      'discoveryIntervalMs',
      options.discoveryIntervalMs,
      GATEWAY_DEFAULTS.discoveryIntervalMs,
      1,
      86_400_000,
    ),
    leaderWrites: options.leaderWrites ?? GATEWAY_DEFAULTS.leaderWrites,
    health: h,
    maxRequestBodyBytes,
    maxReplayableBodyBytes: Math.min(
      maxRequestBodyBytes,
      integer(
        'maxReplayableBodyBytes',
        options.maxReplayableBodyBytes,
        GATEWAY_DEFAULTS.maxReplayableBodyBytes,
        0,
        64 * 1024 * 1024,
      ),
    ),
    maxConcurrentRequests: integer(
      'maxConcurrentRequests',
      options.maxConcurrentRequests,
      GATEWAY_DEFAULTS.maxConcurrentRequests,
      1,
      1_000_000,
    ),
    maxWatchStreams: integer(
      'maxWatchStreams',
      options.maxWatchStreams,
      GATEWAY_DEFAULTS.maxWatchStreams,
      0,
      1_000_000,
    ),
    requestTimeoutMs: integer(
      'requestTimeoutMs',
      options.requestTimeoutMs,
      GATEWAY_DEFAULTS.requestTimeoutMs,
      1,
      3_600_000,
    ),
    streamIdleTimeoutMs: integer(
      'streamIdleTimeoutMs',
      options.streamIdleTimeoutMs,
      GATEWAY_DEFAULTS.streamIdleTimeoutMs,
      1,
      86_400_000,
    ),
    connectionsPerBackend: integer(
      'connectionsPerBackend',
      options.connectionsPerBackend,
      GATEWAY_DEFAULTS.connectionsPerBackend,
      1,
      100_000,
    ),
    trustForwardedFor: options.trustForwardedFor ?? GATEWAY_DEFAULTS.trustForwardedFor,
  };
}
