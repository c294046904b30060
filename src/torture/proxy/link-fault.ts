import { FaultProxyError } from './errors.js';

/** The longest delay a link accepts (one hour): anything longer is a mistake, not a fault scenario. */
export const MAX_DELAY_MS = 3_600_000;

/**
 * What happens to the bytes of one directed link (from → to). See docs/fault-proxy.md for the TCP semantics.
 * - `pass`: forwarded as they come.
 * - `delay`: each chunk is held `delayMs ± jitterMs` (never below 0); order within a connection is kept.
 * - `blackhole`: bytes are silently discarded, connections stay open; leaving blackhole resets the connections
 *   that lost bytes (their stream is corrupt).
 * - `reject`: new connections are reset at once and existing ones are reset (in both directions: a TCP
 *   connection needs both).
 * - `throttle`: at most `bytesPerSecond`, in slices of about 50 ms worth of bytes.
 */
export type LinkFault =
  | { readonly mode: 'pass' }
  | { readonly mode: 'delay'; readonly delayMs: number; readonly jitterMs?: number }
  | { readonly mode: 'blackhole' }
  | { readonly mode: 'reject' }
  | { readonly mode: 'throttle'; readonly bytesPerSecond: number };

export type FaultMode = LinkFault['mode'];

/** A fault, or the name of a parameterless one. */
export type LinkFaultInput = LinkFault | 'pass' | 'blackhole' | 'reject';

export type ResolvedLinkFault =
  | { readonly mode: 'pass' }
  | { readonly mode: 'delay'; readonly delayMs: number; readonly jitterMs: number }
  | { readonly mode: 'blackhole' }
  | { readonly mode: 'reject' }
  | { readonly mode: 'throttle'; readonly bytesPerSecond: number };

export const PASS: ResolvedLinkFault = Object.freeze({ mode: 'pass' });

/** Validates a fault and fills in its defaults. Throws INVALID_OPTION naming the bad field. */
export function resolveLinkFault(input: LinkFaultInput): ResolvedLinkFault {
  const fault: unknown = typeof input === 'string' ? { mode: input } : input;
  if (typeof fault !== 'object' || fault === null || !('mode' in fault)) {
    throw new FaultProxyError('INVALID_OPTION', `a link fault must be a mode name or { mode, ... }`);
  }
  const spec = fault as Record<string, unknown>;
  switch (spec['mode']) {
    case 'pass':
    case 'blackhole':
    case 'reject':
      return Object.freeze({ mode: spec['mode'] });
    case 'delay': {
      const delayMs = checkNumber(spec['delayMs'], 'delayMs', 0, MAX_DELAY_MS);
      const jitterMs = spec['jitterMs'] === undefined ? 0 : checkNumber(spec['jitterMs'], 'jitterMs', 0, MAX_DELAY_MS);
      return Object.freeze({ mode: 'delay', delayMs, jitterMs });
    }
    case 'throttle': {
      const bytesPerSecond = checkNumber(spec['bytesPerSecond'], 'bytesPerSecond', 1, Number.MAX_SAFE_INTEGER);
      return Object.freeze({ mode: 'throttle', bytesPerSecond });
    }
    default:
      throw new FaultProxyError(
        'INVALID_OPTION',
        `unknown fault mode ${JSON.stringify(spec['mode'])} (pass, delay, blackhole, reject, throttle)`,
      );
  }
}

function checkNumber(value: unknown, name: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new FaultProxyError('INVALID_OPTION', `${name} must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}
