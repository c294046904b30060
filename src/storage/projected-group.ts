import { LogUnavailableError } from '../consensus/errors.js';
import type { Entry, GroupId } from '../consensus/types.js';
import { StorageError } from './errors.js';
import type { GroupState } from './group-state.js';

/**
 * What one group will look like once every write queued for it (accepted but not yet durable) is applied: only
 * the shape of its log and the terms of pending entries. New writes are validated against it when they are
 * issued, so a write is refused before it can reach the disk, while the group's readable state stays the
 * durable one. Its rules mirror GroupState's (and MemoryLogStorage's).
 *
 * Terms of indexes below `cutAt` come from the durable state: queued writes have not changed them.
 */
export class ProjectedGroup {
  exists: boolean;
  offset: number;
  offsetTerm: number;
  lastIndex: number;
  snapshotIndex: number;
  /** Pending entries' terms: tail[i] is the term at cutAt + i. */
  private cutAt: number;
  private tail: number[];
  /** Queued operations not yet applied; the projection is dropped when this returns to 0. */
  pending = 0;

  constructor(
    readonly id: GroupId,
    private durable: GroupState | undefined,
  ) {
    this.exists = durable !== undefined;
    this.offset = durable?.offset ?? 0;
    this.offsetTerm = durable?.offsetTerm ?? 0;
    this.lastIndex = durable?.lastIndex ?? 0;
    this.snapshotIndex = durable?.snapshot.meta.index ?? 0;
    this.cutAt = this.lastIndex + 1;
    this.tail = [];
  }

  clone(): ProjectedGroup {
    const copy = new ProjectedGroup(this.id, this.durable);
    copy.exists = this.exists;
    copy.offset = this.offset;
    copy.offsetTerm = this.offsetTerm;
    copy.lastIndex = this.lastIndex;
    copy.snapshotIndex = this.snapshotIndex;
    copy.cutAt = this.cutAt;
    copy.tail = this.tail.slice();
    copy.pending = this.pending;
    return copy;
  }

  /** The projected term at `index`, or undefined when outside [offset, lastIndex]. */
  term(index: number): number | undefined {
    if (index === this.offset) return this.offsetTerm;
    if (index < this.offset || index > this.lastIndex) return undefined;
    if (index >= this.cutAt) return this.tail[index - this.cutAt];
    return this.durable?.term(index);
  }

  requireExists(): void {
    if (!this.exists) throw new StorageError('GROUP_NOT_FOUND', `group ${this.id} does not exist`);
  }

  bootstrap(snapshotIndex: number, snapshotTerm: number): void {
    if (this.exists) throw new StorageError('GROUP_EXISTS', `group ${this.id} already exists`);
    this.exists = true;
    this.durable = undefined;
    this.offset = snapshotIndex;
    this.offsetTerm = snapshotTerm;
    this.lastIndex = snapshotIndex;
    this.snapshotIndex = snapshotIndex;
    this.cutAt = snapshotIndex + 1;
    this.tail = [];
  }

  delete(): void {
    this.requireExists();
    this.exists = false;
    this.durable = undefined;
  }

  append(entries: readonly Entry[]): void {
    this.requireExists();
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    if (first > this.lastIndex + 1) {
      throw new StorageError(
        'INVALID_ARGUMENT',
        `group ${this.id}: append leaves a gap: last index ${this.lastIndex}, first new ${first}`,
      );
    }
    const skip = Math.max(0, this.offset + 1 - first);
    if (skip >= entries.length) return;
    const from = first + skip;
    const terms = entries.slice(skip).map((e) => e.term);
    if (from < this.cutAt) {
      this.cutAt = from;
      this.tail = terms;
    } else {
      this.tail = this.tail.slice(0, from - this.cutAt).concat(terms);
    }
    this.lastIndex = from + terms.length - 1;
  }

  installSnapshot(index: number, term: number): void {
    this.requireExists();
    if (index <= this.snapshotIndex) return;
    const matching = index >= this.offset && index <= this.lastIndex && this.term(index) === term;
    if (!matching) {
      this.lastIndex = index;
      this.cutAt = index + 1;
      this.tail = [];
    }
    this.offset = index;
    this.offsetTerm = term;
    this.snapshotIndex = index;
  }

  /** Returns the term of the snapshot to record, or undefined when a newer snapshot makes it a no-op. */
  createSnapshot(index: number): number | undefined {
    this.requireExists();
    if (index <= this.snapshotIndex) return undefined;
    const term = this.term(index);
    if (term === undefined) throw new LogUnavailableError(index);
    this.snapshotIndex = index;
    return term;
  }

  compact(index: number): void {
    this.requireExists();
    if (index > this.snapshotIndex) {
      throw new StorageError('INVALID_ARGUMENT', `group ${this.id}: compact(${index}) past the snapshot`);
    }
    if (index <= this.offset) return;
    const term = this.term(index);
    if (term === undefined) throw new LogUnavailableError(index);
    this.offsetTerm = term;
    this.offset = index;
  }
}
