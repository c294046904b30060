import type { Entry, Snapshot } from '../consensus/types.js';

/**
 * The part of the log not yet persisted: entries (and possibly an incoming snapshot) that the next Ready hands to
 * the driver. `entries[i]` has index `offset + i`. Once the driver persisted them, `stableTo` drops them here and
 * the stable storage answers for them.
 *
 * With asynchronous storage writes, entries handed to the driver but not yet durable are "in progress": they
 * stay here (the engine still reads them from memory) but are not handed out again — unless a conflicting append
 * replaces them, in which case the replacement is handed out and the storage overwrites.
 */
export class UnstableLog {
  snapshot: Snapshot | null = null;
  /** The unstable snapshot was handed to the driver and is being installed. */
  snapshotInProgress = false;
  entries: Entry[] = [];
  offset: number;
  /** The last index handed to the driver for persisting (offset - 1 when none). */
  inProgressUpTo: number;

  constructor(offset: number) {
    this.offset = offset;
    this.inProgressUpTo = offset - 1;
  }

  /** Entries not yet handed to the driver. */
  nextEntries(): Entry[] {
    const from = Math.max(0, this.inProgressUpTo + 1 - this.offset);
    return from === 0 ? this.entries.slice() : this.entries.slice(from);
  }

  hasNextEntries(): boolean {
    return this.offset + this.entries.length - 1 > this.inProgressUpTo;
  }

  /** The snapshot not yet handed to the driver, if any. */
  nextSnapshot(): Snapshot | null {
    return this.snapshot && !this.snapshotInProgress ? this.snapshot : null;
  }

  /** The driver took entries up to `lastIndex` (and the snapshot, if `snapshot`) to persist them. */
  acceptInProgress(lastIndex: number, snapshot: boolean): void {
    if (lastIndex > this.inProgressUpTo) this.inProgressUpTo = lastIndex;
    if (snapshot) this.snapshotInProgress = true;
  }

  /** First index, if an unstable snapshot defines it. */
  maybeFirstIndex(): number | undefined {
    return this.snapshot ? this.snapshot.meta.index + 1 : undefined;
  }

  maybeLastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot ? this.snapshot.meta.index : undefined;
  }

  maybeTerm(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot && this.snapshot.meta.index === index ? this.snapshot.meta.term : undefined;
    }
    const last = this.maybeLastIndex();
    if (last === undefined || index > last) return undefined;
    return this.entries[index - this.offset]!.term;
  }

  /** The driver persisted entries up to (index, term): forget them, unless they were replaced meanwhile. */
  stableTo(index: number, term: number): void {
    const t = this.maybeTerm(index);
    if (t === undefined || t !== term || index < this.offset) return;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    if (this.inProgressUpTo < this.offset - 1) this.inProgressUpTo = this.offset - 1;
  }

  stableSnapTo(index: number): void {
    if (this.snapshot && this.snapshot.meta.index === index) {
      this.snapshot = null;
      this.snapshotInProgress = false;
    }
  }

  restore(snapshot: Snapshot): void {
    this.offset = snapshot.meta.index + 1;
    this.entries = [];
    this.snapshot = snapshot;
    this.snapshotInProgress = false;
    this.inProgressUpTo = snapshot.meta.index;
  }

  truncateAndAppend(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const after = entries[0]!.index;
    // Entries being persisted from `after` on are replaced: the replacements must be handed out again.
    if (after <= this.inProgressUpTo) this.inProgressUpTo = after - 1;
    if (after === this.offset + this.entries.length) {
      for (const e of entries) this.entries.push(e);
    } else if (after <= this.offset) {
      // Replaces everything unstable, and (once persisted) the stable entries from `after` on.
      this.offset = after;
      this.entries = entries.slice();
    } else {
      this.entries = this.entries.slice(0, after - this.offset).concat(entries);
    }
  }

  /** Entries in [lo, hi), which must lie within the unstable range. */
  slice(lo: number, hi: number): Entry[] {
    if (lo < this.offset || hi > this.offset + this.entries.length || lo > hi) {
      throw new Error(`unstable.slice(${lo}, ${hi}) out of [${this.offset}, ${this.offset + this.entries.length})`);
    }
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
