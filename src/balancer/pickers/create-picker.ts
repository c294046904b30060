import { invalidArgument } from '../errors.js';
import { STRATEGY_NAMES, type StrategyName } from '../types.js';
import type { ConsistentHashOptions } from './consistent-hash-picker.js';
import { createIpHashPicker } from './ip-hash.js';
import { type LeastTimeOptions, LeastTimePicker } from './least-time.js';
import type { Picker, PickerContext } from './picker.js';
import { RoundRobinPicker } from './round-robin.js';
import { type SmoothWeightedRoundRobinOptions, SmoothWeightedRoundRobinPicker } from './smooth-weighted-round-robin.js';
import { createUrlHashPicker } from './url-hash.js';
import { ZoneAwarePicker } from './zone-aware.js';

export interface ZoneAwareOptions {
  /** The strategy that picks a host inside the chosen zone (one instance per zone). Default: 'least-time'. */
  inner?: Exclude<StrategyName, 'zone'>;
}

/** Per-strategy options; each strategy reads only its own field. */
export interface StrategyOptions {
  wrr?: SmoothWeightedRoundRobinOptions;
  leastTime?: LeastTimeOptions;
  /** For ip-hash and url-hash. */
  hash?: ConsistentHashOptions;
  zone?: ZoneAwareOptions;
}

export const ZONE_DEFAULTS = { inner: 'least-time' } as const;

export function isStrategyName(value: unknown): value is StrategyName {
  return typeof value === 'string' && (STRATEGY_NAMES as readonly string[]).includes(value);
}

/** Builds the picker for a strategy. Options are checked here, so a bad one fails at construction. */
export function createPicker(strategy: StrategyName, context: PickerContext, options: StrategyOptions = {}): Picker {
  switch (strategy) {
    case 'rr':
      return new RoundRobinPicker(context);
    case 'wrr':
      return new SmoothWeightedRoundRobinPicker(context, options.wrr);
    case 'least-time':
      return new LeastTimePicker(context, options.leastTime);
    case 'ip-hash':
      return createIpHashPicker(context, options.hash);
    case 'url-hash':
      return createUrlHashPicker(context, options.hash);
    case 'zone': {
      const inner = options.zone?.inner ?? ZONE_DEFAULTS.inner;
      if (!isStrategyName(inner) || (inner as StrategyName) === 'zone') {
        throw invalidArgument(`zone.inner must be one of rr, wrr, least-time, ip-hash, url-hash; got ${String(inner)}`);
      }
      // Build one inner picker now so its options are validated at construction, not on the first request.
      createPicker(inner, context, options);
      return new ZoneAwarePicker(context, (zoneContext) => createPicker(inner, zoneContext, options));
    }
    default:
      throw invalidArgument(`strategy must be one of ${STRATEGY_NAMES.join(', ')}; got ${String(strategy)}`);
  }
}
