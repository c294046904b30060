import { type Random, systemRandom } from '../util/random.js';

/**
 * The effects the transport receives from outside (js-libp2p style `components`), so tests can drive time and
 * randomness. Sockets are real: the transport is the edge of the system.
 */

/** Milliseconds on a monotonic scale. `lastReceivedAt` and queue ages are read from it. */
export interface Clock {
  now(): number;
}

/** Opaque handle returned by `Timers.setTimeout`. */
export type TimerHandle = unknown;

/** One-shot timers (reconnect backoff, connect and handshake timeouts, write-stall detection). */
export interface Timers {
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** pino-compatible logger: `logger.warn({ peer: 'n2' }, 'message')`. */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

export interface TransportComponents {
  /** Default: a no-op logger. */
  logger?: Logger;
  /** Default: `systemClock` (wall-clock epoch milliseconds that never go backwards within the process). */
  clock?: Clock;
  /** Default: `systemTimers` (the global setTimeout/clearTimeout). */
  timers?: Timers;
  /** Jitter for reconnect backoff. Default: `systemRandom()`. */
  random?: Random;
}

export interface ResolvedTransportComponents {
  logger: Logger;
  clock: Clock;
  timers: Timers;
  random: Random;
}

const noop = (): void => {};

export const noopLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** performance.now() is monotonic; adding timeOrigin makes it read like Date.now() in logs. */
export const systemClock: Clock = { now: () => performance.timeOrigin + performance.now() };

export const systemTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

export function resolveTransportComponents(components: TransportComponents = {}): ResolvedTransportComponents {
  return {
    logger: components.logger ?? noopLogger,
    clock: components.clock ?? systemClock,
    timers: components.timers ?? systemTimers,
    random: components.random ?? systemRandom(),
  };
}
