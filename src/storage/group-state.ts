import { LogCompactedError, LogUnavailableError } from '../consensus/errors.js';
import type { Entry, GroupId, HardState } from '../consensus/types.js';
import type { CacheOwner } from './entry-cache.js';
import { EntryIndex } from './entry-index.js';
import { StorageError } from './errors.js';
import type { GroupBase, SnapshotRef } from './wal-records.js';

/**
 * One group's durable state as the write-ahead log says it is: hard state, latest snapshot and the index of its
 * log. Recovery (replaying records) and the live store (applying a commit once it is durable) change it through
 * the same methods, so a restart rebuilds exactly what the running store had.
 *
 * Methods that change the log follow MemoryLogStorage's rules. A write that breaks them was refused before it
 * reached the disk, so meeting one here means the log contradicts itself: CORRUPTED.
 */
export class GroupState implements CacheOwner {
  hardState!: HardState;
  snapshot!: SnapshotRef;
  /** The log starts after `offset` (compacted up to there); the entry at offset has term `offsetTerm`. */
  offset!: number;
  offsetTerm!: number;
  readonly log = new EntryIndex();
  /** Segment holding this group's latest GROUP_RESET record: it needs nothing from older segments. */
  baseSegment!: number;

  constructor(
    readonly id: GroupId,
    base: GroupBase,
    baseSegment: number,
  ) {
    this.resetTo(base, baseSegment);
  }

  /** Starts over from `base` with an empty log (a GROUP_RESET record; its entries follow it). */
  resetTo(base: GroupBase, baseSegment: number): void {
    this.hardState = base.hardState;
    this.snapshot = base.snapshot;
    this.offset = base.offset;
    this.offsetTerm = base.offsetTerm;
    this.baseSegment = baseSegment;
    this.log.clear();
  }

  get firstIndex(): number {
    return this.offset + 1;
  }

  get lastIndex(): number {
    return this.offset + this.log.length;
  }

  base(): GroupBase {
    return { hardState: this.hardState, snapshot: this.snapshot, offset: this.offset, offsetTerm: this.offsetTerm };
  }

  term(index: number): number {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset) throw new LogCompactedError(index);
    if (index > this.lastIndex) throw new LogUnavailableError(index);
    return this.log.term(index - this.offset - 1);
  }

  uncache(entry: Entry): void {
    this.log.uncache(entry.index - this.offset - 1, entry);
  }

  /**
   * Prepares appending `count` entries starting at `first`: truncates the conflicting suffix and returns how many
   * leading entries to skip because the snapshot already covers them (count means: nothing to append).
   */
  beginAppend(first: number, count: number): number {
    if (first > this.lastIndex + 1) {
      throw new StorageError('CORRUPTED', `group ${this.id}: entries at ${first} leave a gap after ${this.lastIndex}`);
    }
    const skip = Math.max(0, this.firstIndex - first);
    if (skip >= count) return count;
    this.log.truncate(first + skip - this.firstIndex);
    return skip;
  }

  /** Installs a snapshot received from the leader; keeps the log past it only when it agrees with it. */
  installSnapshot(ref: SnapshotRef): void {
    const { index, term } = ref.meta;
    if (index <= this.snapshot.meta.index) return;
    const matching = index >= this.offset && index <= this.lastIndex && this.term(index) === term;
    if (matching) this.log.dropFront(index - this.offset);
    else this.log.clear();
    this.snapshot = ref;
    this.offset = index;
    this.offsetTerm = term;
  }

  /** Records a snapshot of the local state machine; the log is untouched. */
  recordSnapshot(ref: SnapshotRef): void {
    if (ref.meta.index <= this.snapshot.meta.index) return;
    if (ref.meta.index > this.lastIndex || this.term(ref.meta.index) !== ref.meta.term) {
      throw new StorageError('CORRUPTED', `group ${this.id}: snapshot at ${ref.meta.index} does not match the log`);
    }
    this.snapshot = ref;
  }

  compact(index: number): void {
    if (index > this.snapshot.meta.index || index > this.lastIndex) {
      throw new StorageError('CORRUPTED', `group ${this.id}: compaction to ${index} is past the snapshot or the log`);
    }
    if (index <= this.offset) return;
    this.offsetTerm = this.term(index);
    this.log.dropFront(index - this.offset);
    this.offset = index;
  }
}
