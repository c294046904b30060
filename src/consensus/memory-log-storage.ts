import { LogCompactedError, LogUnavailableError } from './errors.js';
import { EMPTY_CONF_STATE, EMPTY_HARD_STATE, type LogStorage, limitSize } from './log-storage.js';
import type { ConfState, Entry, HardState, Snapshot } from './types.js';

/**
 * A LogStorage held in memory. The simulator uses it as a node's "disk" (what survives a simulated crash), and
 * unit tests use it to set up logs. Writes follow the same rules the durable store follows.
 */
export class MemoryLogStorage implements LogStorage {
  private hardState: HardState = EMPTY_HARD_STATE;
  private snap: Snapshot = { meta: { index: 0, term: 0, confState: EMPTY_CONF_STATE }, data: new Uint8Array(0) };
  /** The log starts after `offset` (compacted up to there); log[0] is the entry at offset + 1. */
  private offset = 0;
  private offsetTerm = 0;
  private log: Entry[] = [];

  /** A storage bootstrapped with a configuration, as a brand-new cluster member starts. */
  static withConfState(confState: ConfState): MemoryLogStorage {
    const storage = new MemoryLogStorage();
    storage.snap = { meta: { index: 0, term: 0, confState }, data: new Uint8Array(0) };
    return storage;
  }

  initialState(): { hardState: HardState; confState: ConfState } {
    return { hardState: this.hardState, confState: this.snap.meta.confState };
  }

  firstIndex(): number {
    return this.offset + 1;
  }

  lastIndex(): number {
    return this.offset + this.log.length;
  }

  term(index: number): number {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset) throw new LogCompactedError(index);
    if (index > this.lastIndex()) throw new LogUnavailableError(index);
    return this.log[index - this.offset - 1]!.term;
  }

  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo < this.firstIndex()) throw new LogCompactedError(lo);
    if (hi > this.lastIndex() + 1) throw new LogUnavailableError(hi - 1);
    const first = this.offset + 1;
    return limitSize(this.log.slice(lo - first, hi - first), maxBytes);
  }

  snapshot(): Snapshot {
    return this.snap;
  }

  setHardState(hardState: HardState): void {
    this.hardState = hardState;
  }

  /** Appends entries; entries at indexes already stored replace them and truncate everything after. */
  append(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first > this.lastIndex() + 1) {
      throw new Error(`append leaves a gap: last index ${this.lastIndex()}, first new ${first}`);
    }
    // Entries already covered by the snapshot are redundant.
    const skip = Math.max(0, this.firstIndex() - first);
    if (skip >= entries.length) return;
    const keep = first + skip - this.firstIndex();
    // Truncate in place: copying the whole log on every append would make long runs quadratic.
    this.log.length = keep;
    for (let i = skip; i < entries.length; i++) this.log.push(entries[i]!);
  }

  /** Replaces the whole log with a snapshot received from the leader. */
  applySnapshot(snapshot: Snapshot): void {
    const { index, term } = snapshot.meta;
    if (index <= this.snap.meta.index) return;
    // Keep entries past the snapshot when they agree with it (log matching), else drop them all.
    const matching =
      index >= this.offset && index <= this.lastIndex() && this.term(index) === term
        ? this.log.slice(index - this.offset)
        : [];
    this.snap = snapshot;
    this.offset = index;
    this.offsetTerm = term;
    this.log = matching;
  }

  /** Records a snapshot of the local state machine at `index` (which must be applied, hence stored). */
  createSnapshot(index: number, confState: ConfState, data: Uint8Array): Snapshot {
    if (index <= this.snap.meta.index) return this.snap;
    if (index > this.lastIndex()) throw new LogUnavailableError(index);
    this.snap = { meta: { index, term: this.term(index), confState }, data };
    return this.snap;
  }

  /** Drops log entries up to and including `index` (which must be covered by the snapshot). */
  compact(index: number): void {
    if (index > this.snap.meta.index) {
      throw new Error(`compact(${index}) past the snapshot at ${this.snap.meta.index}`);
    }
    if (index <= this.offset) return;
    this.offsetTerm = this.term(index);
    this.log = this.log.slice(index - this.offset);
    this.offset = index;
  }

  /** Persists what a Ready asks, in the order the contract requires: snapshot, entries, then hard state. */
  persistReady(ready: { hardState: HardState | null; entries: readonly Entry[]; snapshot: Snapshot | null }): void {
    if (ready.snapshot) this.applySnapshot(ready.snapshot);
    this.append(ready.entries);
    if (ready.hardState) this.hardState = ready.hardState;
  }

  /** A deep-enough copy, for the simulator to keep a node's disk across a crash. */
  clone(): MemoryLogStorage {
    const copy = new MemoryLogStorage();
    copy.hardState = this.hardState;
    copy.snap = this.snap;
    copy.offset = this.offset;
    copy.offsetTerm = this.offsetTerm;
    copy.log = this.log.slice();
    return copy;
  }
}
