import { entrySize } from '../consensus/log-storage.js';
import type { Entry } from '../consensus/types.js';

/** Whoever holds a cached entry and must let go of it on eviction. */
export interface CacheOwner {
  uncache(entry: Entry): void;
}

/**
 * One byte budget for the recently written entries of every group on the node. Entries are evicted in the order
 * they were written (oldest first), which matches how they are read: a leader replicates and every replica
 * applies the newest entries, while reads of older ones (a follower catching up) go to disk.
 *
 * Bytes are counted with `entrySize` (data + fixed overhead), the same measure flow control uses.
 */
export class EntryCache {
  private readonly owners: CacheOwner[] = [];
  private readonly entries: Entry[] = [];
  private head = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  get sizeBytes(): number {
    return this.bytes;
  }

  /** Records that `owner` now caches `entry`, evicting the oldest entries when over budget. */
  add(owner: CacheOwner, entry: Entry): void {
    if (this.maxBytes <= 0) {
      owner.uncache(entry);
      return;
    }
    this.owners.push(owner);
    this.entries.push(entry);
    this.bytes += entrySize(entry);
    while (this.bytes > this.maxBytes && this.head < this.entries.length) this.evictOne();
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.owners.splice(0, this.head);
      this.entries.splice(0, this.head);
      this.head = 0;
    }
  }

  private evictOne(): void {
    const owner = this.owners[this.head]!;
    const entry = this.entries[this.head]!;
    this.owners[this.head] = undefined as unknown as CacheOwner;
    this.entries[this.head] = undefined as unknown as Entry;
    this.head++;
    this.bytes -= entrySize(entry);
    owner.uncache(entry);
  }
}
