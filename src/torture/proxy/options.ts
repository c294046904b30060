import type { Clock, Logger, Timers } from '../../transport/components.js';
import { noopLogger, systemClock, systemTimers } from '../../transport/components.js';
import { type Random, systemRandom } from '../../util/random.js';
import { FaultProxyError } from './errors.js';

const MiB = 1024 * 1024;

export interface FaultProxyOptions {
  /**
   * Per direction of one proxied connection: the most bytes held (delay/throttle queue plus the destination
   * socket's unsent write buffer) before the source socket is paused; it resumes below half. TCP backpressure
   * then reaches the sending node. One read chunk (≤ 64 KiB) can overshoot it. Default 4 MiB.
   */
  maxBufferedBytes?: number;
  /** Per direction of one connection: the most queued chunks before the source is paused. Default 16384. */
  maxBufferedChunks?: number;
  /** The proxy's dial to the real node must connect within this, or the client connection is reset. Default 5000 ms. */
  connectTimeoutMs?: number;
  /** Open proxied connections over all front doors; connections beyond it are reset at once. Default 1024. */
  maxConnections?: number;
  /**
   * Bind the proxy's dial to the real node to the source node's host, so the real node still sees who dials.
   * Default true.
   */
  bindSourceHost?: boolean;
  /**
   * Connections from a host that is no registered node's: `reject` resets them (a misconfigured harness shows up
   * at once), `pass` proxies them on a link named after the remote address (faults cannot target it).
   * Default 'reject'.
   */
  unknownSources?: 'reject' | 'pass';
}

export interface ResolvedFaultProxyOptions {
  readonly maxBufferedBytes: number;
  readonly maxBufferedChunks: number;
  readonly connectTimeoutMs: number;
  readonly maxConnections: number;
  readonly bindSourceHost: boolean;
  readonly unknownSources: 'reject' | 'pass';
}

export const FAULT_PROXY_DEFAULTS: ResolvedFaultProxyOptions = Object.freeze({
  maxBufferedBytes: 4 * MiB,
  maxBufferedChunks: 16_384,
  connectTimeoutMs: 5000,
  maxConnections: 1024,
  bindSourceHost: true,
  unknownSources: 'reject',
});

export function resolveFaultProxyOptions(options: FaultProxyOptions = {}): ResolvedFaultProxyOptions {
  const resolved = { ...FAULT_PROXY_DEFAULTS, ...definedOnly(options) };
  checkInteger(resolved.maxBufferedBytes, 'maxBufferedBytes', 1024, 1024 * MiB);
  checkInteger(resolved.maxBufferedChunks, 'maxBufferedChunks', 2, 10_000_000);
  checkInteger(resolved.connectTimeoutMs, 'connectTimeoutMs', 1, 3_600_000);
  checkInteger(resolved.maxConnections, 'maxConnections', 1, 1_000_000);
  if (typeof resolved.bindSourceHost !== 'boolean') {
    throw new FaultProxyError('INVALID_OPTION', `bindSourceHost must be a boolean`);
  }
  if (resolved.unknownSources !== 'reject' && resolved.unknownSources !== 'pass') {
    throw new FaultProxyError('INVALID_OPTION', `unknownSources must be 'reject' or 'pass'`);
  }
  return Object.freeze(resolved);
}

function definedOnly(options: FaultProxyOptions): FaultProxyOptions {
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined));
}

function checkInteger(value: unknown, name: string, min: number, max: number): void {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FaultProxyError('INVALID_OPTION', `${name} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
}

/** The effects the proxy receives from outside, so tests can drive time and jitter. */
export interface FaultProxyComponents {
  /** Default: a no-op logger. */
  logger?: Logger;
  /** Delivery times of delayed and throttled chunks. Default: `systemClock`. */
  clock?: Clock;
  /** Delivery and connect-timeout timers. Default: the global setTimeout/clearTimeout. */
  timers?: Timers;
  /** Delay jitter. Default: `systemRandom()`. */
  random?: Random;
}

export interface ResolvedFaultProxyComponents {
  readonly logger: Logger;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly random: Random;
}

export function resolveFaultProxyComponents(components: FaultProxyComponents = {}): ResolvedFaultProxyComponents {
  return {
    logger: components.logger ?? noopLogger,
    clock: components.clock ?? systemClock,
    timers: components.timers ?? systemTimers,
    random: components.random ?? systemRandom(),
  };
}
