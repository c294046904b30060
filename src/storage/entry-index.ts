import type { Entry, EntryType } from '../consensus/types.js';

const TYPE_CODES: Record<EntryType, number> = { normal: 0, confChange: 1 };
const TYPES: readonly EntryType[] = ['normal', 'confChange'];

/**
 * Where each entry of one group's log lives (segment, file offset, length), with its term and type, in parallel
 * typed arrays: about 29 bytes per entry and no object per entry, so term() is one array read. Positions are
 * 0-based from the first entry of the log; `head` lets compaction drop a prefix without copying every time.
 *
 * Recently written entries may also be held in `cached` (their data, ready to hand out); the shared EntryCache
 * decides which, within its byte budget.
 */
export class EntryIndex {
  private terms = new Float64Array(16);
  private segs = new Uint32Array(16);
  private positions = new Float64Array(16);
  private lens = new Uint32Array(16);
  private types = new Uint8Array(16);
  private cached: (Entry | undefined)[] = new Array(16);
  private head = 0;
  private count = 0;
  private totalBytes = 0;

  get length(): number {
    return this.count;
  }

  /** Bytes the live entries take in the log files. */
  get storedBytes(): number {
    return this.totalBytes;
  }

  term(k: number): number {
    return this.terms[this.head + k]!;
  }

  type(k: number): EntryType {
    return TYPES[this.types[this.head + k]!]!;
  }

  segment(k: number): number {
    return this.segs[this.head + k]!;
  }

  position(k: number): number {
    return this.positions[this.head + k]!;
  }

  /** Bytes of the entry on disk (header + data). */
  storedLength(k: number): number {
    return this.lens[this.head + k]!;
  }

  cachedEntry(k: number): Entry | undefined {
    return this.cached[this.head + k];
  }

  /** Drops the cached data of entry k if it is still `entry` (the cache evicting in its own order). */
  uncache(k: number, entry: Entry): void {
    if (k < 0 || k >= this.count) return;
    const at = this.head + k;
    if (this.cached[at] === entry) this.cached[at] = undefined;
  }

  push(term: number, type: EntryType, segment: number, position: number, length: number, entry?: Entry): void {
    if (this.head + this.count === this.terms.length) this.makeRoom();
    const at = this.head + this.count;
    this.terms[at] = term;
    this.types[at] = TYPE_CODES[type];
    this.segs[at] = segment;
    this.positions[at] = position;
    this.lens[at] = length;
    this.cached[at] = entry;
    this.count++;
    this.totalBytes += length;
  }

  /** Keeps the first `k` entries. */
  truncate(k: number): void {
    for (let i = this.head + k; i < this.head + this.count; i++) {
      this.cached[i] = undefined;
      this.totalBytes -= this.lens[i]!;
    }
    this.count = Math.min(this.count, k);
  }

  /** Drops the first `n` entries. */
  dropFront(n: number): void {
    const drop = Math.min(n, this.count);
    for (let i = this.head; i < this.head + drop; i++) {
      this.cached[i] = undefined;
      this.totalBytes -= this.lens[i]!;
    }
    this.head += drop;
    this.count -= drop;
    if (this.count === 0) this.head = 0;
  }

  clear(): void {
    this.truncate(0);
    this.head = 0;
  }

  /** Called when the arrays are full at the end: slide the live range down, or grow when it fills half. */
  private makeRoom(): void {
    const capacity = this.terms.length;
    const newCapacity = this.count * 2 > capacity ? capacity * 2 : capacity;
    const from = this.head;
    const to = this.head + this.count;
    if (newCapacity === capacity) {
      this.terms.copyWithin(0, from, to);
      this.segs.copyWithin(0, from, to);
      this.positions.copyWithin(0, from, to);
      this.lens.copyWithin(0, from, to);
      this.types.copyWithin(0, from, to);
    } else {
      this.terms = grow(this.terms, new Float64Array(newCapacity), from, to);
      this.segs = grow(this.segs, new Uint32Array(newCapacity), from, to);
      this.positions = grow(this.positions, new Float64Array(newCapacity), from, to);
      this.lens = grow(this.lens, new Uint32Array(newCapacity), from, to);
      this.types = grow(this.types, new Uint8Array(newCapacity), from, to);
    }
    const live = this.cached.slice(from, to);
    this.cached = live.concat(new Array<Entry | undefined>(newCapacity - live.length));
    this.head = 0;
  }
}

function grow<T extends Float64Array | Uint32Array | Uint8Array>(old: T, fresh: T, from: number, to: number): T {
  fresh.set(old.subarray(from, to) as never);
  return fresh;
}
