import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * The engine's synchronous, read-only view of what the driver made durable: hard state, the stable log and
 * the latest snapshot. The engine never writes through it; the driver writes what `Ready` asks, then advances.
 *
 * The log is the contiguous range [firstIndex(), lastIndex()]; the entry at firstIndex() - 1 is the snapshot's
 * (its term is still answered by `term()`).
 */
export interface LogStorage {
  /** Hard state and the configuration as of the latest snapshot. */
  initialState(): { hardState: HardState; confState: ConfState };
  /**
   * Entries in [lo, hi), at least one (when lo < hi) and then as many as fit in `maxBytes`.
   * Throws LogCompactedError when lo < firstIndex(), LogUnavailableError when hi > lastIndex() + 1.
   */
  entries(lo: number, hi: number, maxBytes: number): Entry[];
  /** Term of the entry at `index`, for firstIndex() - 1 <= index <= lastIndex(); throws otherwise. */
  term(index: number): number;
  firstIndex(): number;
  lastIndex(): number;
  /** The latest snapshot (throws SnapshotTemporarilyUnavailableError if it is being made). */
  snapshot(): Snapshot;
}

export const EMPTY_CONF_STATE: ConfState = Object.freeze({
  voters: [],
  votersOutgoing: [],
  learners: [],
  learnersNext: [],
  autoLeave: false,
});

export const EMPTY_HARD_STATE: HardState = Object.freeze({ term: 0, vote: null, commit: 0 });

/** Bytes an entry counts for in flow control and size limits (payload plus a fixed overhead). */
export function entrySize(entry: Entry): number {
  return entry.data.length + 24;
}

export function entriesSize(entries: readonly Entry[]): number {
  let total = 0;
  for (const e of entries) total += entrySize(e);
  return total;
}

/** Keeps a prefix of `entries` that fits in `maxBytes`, but always at least one entry. */
export function limitSize<T extends Entry>(entries: T[], maxBytes: number): T[] {
  if (entries.length <= 1) return entries;
  let size = entrySize(entries[0]!);
  let n = 1;
  for (; n < entries.length; n++) {
    size += entrySize(entries[n]!);
    if (size > maxBytes) break;
  }
  return n === entries.length ? entries : entries.slice(0, n);
}
