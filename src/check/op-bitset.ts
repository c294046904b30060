/**
 * The set of operations linearized so far, as bits in 32-bit words.
 *
 * During the search the set is almost always "every operation before some point, plus a few concurrent ones":
 * a run of full words, a short window, then zero words. The memo table therefore stores only the window
 * (`lo()`..`hi()`), which keeps each memo entry a few words long instead of n/32. Both bounds are maintained
 * incrementally so that taking a snapshot does not scan the whole set.
 */
export class OpBitset {
  readonly words: Uint32Array;
  /** Mask of a full last word (the last word may be partial). */
  private readonly lastFullMask: number;
  /** Exactly the index of the first word that is not full. */
  private firstNonFull = 0;
  /** An upper bound: every word at or above it is zero. */
  private highWater = 0;

  constructor(readonly size: number) {
    this.words = new Uint32Array(Math.ceil(size / 32));
    const tailBits = size & 31;
    this.lastFullMask = tailBits === 0 ? 0xffffffff : 0xffffffff >>> (32 - tailBits);
  }

  has(i: number): boolean {
    return (this.words[i >>> 5]! & (1 << (i & 31))) !== 0;
  }

  set(i: number): void {
    const w = i >>> 5;
    this.words[w] = this.words[w]! | (1 << (i & 31));
    if (w + 1 > this.highWater) this.highWater = w + 1;
    if (w === this.firstNonFull) {
      while (this.firstNonFull < this.words.length && this.isFull(this.firstNonFull)) this.firstNonFull++;
    }
  }

  clear(i: number): void {
    const w = i >>> 5;
    this.words[w] = this.words[w]! & ~(1 << (i & 31));
    if (w < this.firstNonFull) this.firstNonFull = w;
  }

  /** Every word below `lo()` is full. */
  lo(): number {
    return this.firstNonFull;
  }

  /** Every word at or above `hi()` is zero; `hi() >= lo()`. */
  hi(): number {
    while (this.highWater > this.firstNonFull && this.words[this.highWater - 1] === 0) this.highWater--;
    return Math.max(this.highWater, this.firstNonFull);
  }

  private isFull(w: number): boolean {
    return this.words[w] === (w === this.words.length - 1 ? this.lastFullMask : 0xffffffff);
  }
}
