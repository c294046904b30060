import { LogCompactedError, LogUnavailableError } from '../consensus/errors.js';
import { type LogStorage, limitSize } from '../consensus/log-storage.js';
import type { Entry, Snapshot } from '../consensus/types.js';
import { UnstableLog } from './unstable-log.js';

/**
 * The engine's whole log: the durable part (read through LogStorage) followed by the unstable part, plus the
 * commit and applied indexes. Invariants: applied <= committed <= lastIndex.
 */
export class RaftLog {
  readonly unstable: UnstableLog;
  committed: number;
  /** Highest index the driver has applied (reported through advance). */
  applied: number;
  /** Highest index handed to the driver for applying (>= applied; the same with a synchronous driver). */
  applying: number;

  constructor(
    readonly storage: LogStorage,
    readonly maxApplyBytes: number,
  ) {
    const first = storage.firstIndex();
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    this.committed = first - 1;
    this.applied = first - 1;
    this.applying = first - 1;
  }

  /** The last index durable in storage and still part of the log (entries in progress are not). */
  stableLastIndex(): number {
    return Math.min(this.storage.lastIndex(), this.unstable.offset - 1);
  }

  firstIndex(): number {
    return this.unstable.maybeFirstIndex() ?? this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.maybeLastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex());
  }

  /** Term at `index`; throws LogCompactedError / LogUnavailableError outside [firstIndex - 1, lastIndex]. */
  term(index: number): number {
    const dummy = this.firstIndex() - 1;
    if (index < dummy) throw new LogCompactedError(index);
    if (index > this.lastIndex()) throw new LogUnavailableError(index);
    return this.unstable.maybeTerm(index) ?? this.storage.term(index);
  }

  /** Term at `index`, or 0 when unknown (compacted or past the end). */
  termOrZero(index: number): number {
    // Checked up front: this runs for every new entry, and exceptions are expensive in a hot path.
    if (index > this.lastIndex() || index < this.firstIndex() - 1) return 0;
    try {
      return this.term(index);
    } catch (error) {
      if (error instanceof LogCompactedError || error instanceof LogUnavailableError) return 0;
      throw error;
    }
  }

  matchTerm(index: number, term: number): boolean {
    if (index === 0) return term === 0;
    const t = this.termOrZero(index);
    return t !== 0 && t === term;
  }

  /** Raft §5.4.1: a candidate's log is at least as up to date as ours. */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const ourTerm = this.lastTerm();
    return lastTerm > ourTerm || (lastTerm === ourTerm && lastIndex >= this.lastIndex());
  }

  /** Entries from `lo` to the end, at most `maxBytes` (but at least one). */
  entriesFrom(lo: number, maxBytes: number): Entry[] {
    const last = this.lastIndex();
    if (lo > last) return [];
    return this.slice(lo, last + 1, maxBytes);
  }

  /** Entries in [lo, hi) limited to `maxBytes` (at least one); throws LogCompactedError if lo was compacted. */
  slice(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.firstIndex()) throw new LogCompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new LogUnavailableError(hi - 1);
    if (lo === hi) return [];
    const unstableStart = this.unstable.offset;
    let result: Entry[] = [];
    if (lo < unstableStart) {
      result = this.storage.entries(lo, Math.min(hi, unstableStart), maxBytes);
      // Storage returned fewer than asked (byte limit): the unstable part cannot follow.
      if (result.length < Math.min(hi, unstableStart) - lo) return result;
    }
    if (hi > unstableStart) {
      const part = this.unstable.slice(Math.max(lo, unstableStart), hi);
      result = result.length === 0 ? part : result.concat(part);
    }
    return limitSize(result, maxBytes);
  }

  /**
   * The index of the first entry in `entries` that conflicts with the log (same index, other term) or is new;
   * 0 when every entry is already present.
   */
  findConflict(entries: readonly Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The largest index <= `index` whose term is <= `term` (with that term), for fast backtracking: every entry
   * after it up to `index` has a higher term, so it cannot match a log whose entry at `index` has term `term`.
   * An index we cannot read (compacted) is returned with term 0: it may match.
   */
  findConflictByTerm(index: number, term: number): { index: number; term: number } {
    for (let i = index; i > 0; i--) {
      let ourTerm: number;
      try {
        ourTerm = this.term(i);
      } catch {
        return { index: i, term: 0 };
      }
      if (ourTerm <= term) return { index: i, term: ourTerm };
    }
    return { index: 0, term: 0 };
  }

  /**
   * Appends `entries` following (prevIndex, prevTerm) if the log matches there, truncating a conflicting suffix.
   * Returns the index of the last new entry, or undefined when the log does not match at prevIndex.
   */
  maybeAppend(prevIndex: number, prevTerm: number, committed: number, entries: readonly Entry[]): number | undefined {
    if (!this.matchTerm(prevIndex, prevTerm)) return undefined;
    const lastNew = prevIndex + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw new Error(`raft: entry ${conflict} conflicts with a committed entry (committed ${this.committed})`);
      }
      this.append(entries.slice(conflict - prevIndex - 1));
    }
    this.commitTo(Math.min(committed, lastNew));
    return lastNew;
  }

  append(entries: readonly Entry[]): number {
    if (entries.length === 0) return this.lastIndex();
    const after = entries[0]!.index - 1;
    if (after < this.committed) {
      throw new Error(`raft: append after ${after} is below the commit index ${this.committed}`);
    }
    this.unstable.truncateAndAppend(entries);
    return this.lastIndex();
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) {
      throw new Error(`raft: commit ${index} is past the last index ${this.lastIndex()}`);
    }
    this.committed = index;
  }

  /** Raft §5.4.2: only an entry of the current term is committed by counting replicas. */
  maybeCommit(index: number, term: number): boolean {
    if (index > this.committed && this.termOrZero(index) === term) {
      this.commitTo(index);
      return true;
    }
    return false;
  }

  appliedTo(index: number): void {
    if (index === 0) return;
    if (index > this.committed || index < this.applied) {
      throw new Error(`raft: applied ${index} outside [${this.applied}, ${this.committed}]`);
    }
    this.applied = index;
    if (this.applying < index) this.applying = index;
  }

  hasPendingSnapshot(): boolean {
    return this.unstable.snapshot !== null;
  }

  /**
   * Committed entries not yet handed out for applying, up to `maxApplyBytes` — only those already durable here,
   * so a driver may apply them at once (none while a snapshot waits to be installed).
   */
  nextCommittedEntries(): Entry[] {
    if (this.hasPendingSnapshot()) return [];
    const lo = Math.max(this.applying + 1, this.firstIndex());
    const hi = Math.min(this.committed, this.stableLastIndex()) + 1;
    if (lo >= hi) return [];
    return this.slice(lo, hi, this.maxApplyBytes);
  }

  hasNextCommittedEntries(): boolean {
    return !this.hasPendingSnapshot() && Math.min(this.committed, this.stableLastIndex()) > this.applying;
  }

  restore(snapshot: Snapshot): void {
    this.committed = snapshot.meta.index;
    this.unstable.restore(snapshot);
  }

  unstableEntries(): Entry[] {
    return this.unstable.entries;
  }
}
