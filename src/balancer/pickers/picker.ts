import type { Random } from '../../util/random.js';
import type { HostRecord, HostTracker } from '../host-tracker.js';
import type { BalanceRequest, StrategyName } from '../types.js';

/**
 * What every strategy implements. The health layer hands each call the current candidates (healthy hosts,
 * or every host in panic mode) — the same array object while nothing changed, so a picker may cache tables
 * keyed on it — plus the ids already tried by this request (a retry must go elsewhere). Returns null only
 * when no candidate is left; never throws for an empty set.
 */
export interface Picker {
  readonly strategy: StrategyName;
  pick(request: BalanceRequest, candidates: readonly HostRecord[], excluded?: ReadonlySet<string>): HostRecord | null;
  /** Told the outcome of every request on a host this picker may choose (after the tracker counted it). */
  onResult?(record: HostRecord, ok: boolean): void;
}

/** What a picker is built from. */
export interface PickerContext {
  readonly tracker: HostTracker;
  readonly random: Random;
  readonly now: () => number;
  /**
   * How many hosts are configured in the set this picker balances (all of them, or one zone's). Hash pickers
   * choose their algorithm from it, not from the healthy count, so ejections never switch algorithms.
   */
  readonly configuredHostCount: () => number;
}

/** The candidates not yet tried; the same array when nothing is excluded (the common case costs nothing). */
export function withoutExcluded(
  candidates: readonly HostRecord[],
  excluded: ReadonlySet<string> | undefined,
): readonly HostRecord[] {
  if (!excluded || excluded.size === 0) return candidates;
  return candidates.filter((record) => !excluded.has(record.id));
}
