import type { UnknownClass } from './partition-problem.js';

/**
 * How many members of each class of unknown-outcome operations a configuration has linearized. Since the members
 * of a class are always used earliest first, this vector is all the search needs to know about them.
 *
 * Vectors are interned: each distinct vector gets a number, and a vector's successors (one more member of class c)
 * are memoized, so configurations store one integer and moving to a successor costs a map lookup. Vectors are
 * stored sparsely (class, count pairs sorted by class) because a partition may have many classes of which a
 * configuration uses few.
 */
export class CountVectorPool {
  /** Per vector: offset of its pairs in `pairs`, number of pairs, and total count. */
  private offsets: Int32Array;
  private lengths: Int32Array;
  private totals: Int32Array;
  private pairs: Int32Array;
  private pairsUsed = 0;
  private count = 0;
  private readonly successors = new Map<number, number>();

  private readonly classGroup: Int32Array;
  private readonly classUniversal: Uint8Array;
  /** Per group, its unconditional class, or -1. */
  private readonly groupUniversal: Int32Array;
  /** Scratch per group for the dominance check (always left zeroed). */
  private readonly deficit: Int32Array;
  private readonly touched: Int32Array;

  /** The vector of a configuration that used no unknown-outcome operation. */
  static readonly ZERO = 0;

  constructor(private readonly classes: readonly UnknownClass[]) {
    this.offsets = new Int32Array(256);
    this.lengths = new Int32Array(256);
    this.totals = new Int32Array(256);
    this.pairs = new Int32Array(1024);
    this.count = 1; // vector 0: all zero
    this.classGroup = Int32Array.from(classes, (c) => c.group);
    this.classUniversal = Uint8Array.from(classes, (c) => (c.universal ? 1 : 0));
    const groups = classes.reduce((max, c) => Math.max(max, c.group + 1), 0);
    this.groupUniversal = new Int32Array(groups).fill(-1);
    classes.forEach((c, i) => {
      if (c.universal) this.groupUniversal[c.group] = i;
    });
    this.deficit = new Int32Array(groups);
    this.touched = new Int32Array(groups);
  }

  get size(): number {
    return this.count;
  }

  /** How many unknown-outcome operations vector `v` used in all. */
  total(v: number): number {
    return this.totals[v]!;
  }

  /** Adds vector `v`'s counts into `dense` (one slot per class); `sign` -1 removes them again. */
  accumulate(v: number, dense: Int32Array, sign: 1 | -1): void {
    const offset = this.offsets[v]!;
    const length = this.lengths[v]!;
    for (let i = 0; i < length; i++) {
      const c = this.pairs[offset + 2 * i]!;
      dense[c] = dense[c]! + sign * this.pairs[offset + 2 * i + 1]!;
    }
  }

  /** How many members of class `c` vector `v` used. */
  used(v: number, c: number): number {
    const offset = this.offsets[v]!;
    const length = this.lengths[v]!;
    for (let i = 0; i < length; i++) {
      const cls = this.pairs[offset + 2 * i]!;
      if (cls === c) return this.pairs[offset + 2 * i + 1]!;
      if (cls > c) break;
    }
    return 0;
  }

  /** The vector with one more member of class `c` than `v`. */
  successor(v: number, c: number): number {
    const key = v * this.classes.length + c;
    const known = this.successors.get(key);
    if (known !== undefined) return known;
    const offset = this.offsets[v]!;
    const length = this.lengths[v]!;
    let present = false;
    for (let i = 0; i < length; i++) if (this.pairs[offset + 2 * i] === c) present = true;
    const newLength = present ? length : length + 1;
    this.ensure(newLength);
    const id = this.count++;
    const start = this.pairsUsed;
    let out = start;
    let inserted = false;
    for (let i = 0; i < length; i++) {
      const cls = this.pairs[offset + 2 * i]!;
      const n = this.pairs[offset + 2 * i + 1]!;
      if (!inserted && cls >= c) {
        if (cls === c) {
          this.pairs[out++] = c;
          this.pairs[out++] = n + 1;
          inserted = true;
          continue;
        }
        this.pairs[out++] = c;
        this.pairs[out++] = 1;
        inserted = true;
      }
      this.pairs[out++] = cls;
      this.pairs[out++] = n;
    }
    if (!inserted) {
      this.pairs[out++] = c;
      this.pairs[out++] = 1;
    }
    this.pairsUsed = out;
    this.offsets[id] = start;
    this.lengths[id] = newLength;
    this.totals[id] = this.totals[v]! + 1;
    this.successors.set(key, id);
    return id;
  }

  /**
   * Whether a configuration that used `d` can do everything one that used `x` can (other things equal): it used
   * no more of each class, except that a conditional member used instead of an unconditional one of the same group
   * is fine, as long as it has that many unconditional members left over to stand in later.
   */
  dominates(d: number, x: number): boolean {
    if (d === x || d === CountVectorPool.ZERO) return true;
    if (this.totals[d]! > this.totals[x]!) return false;
    const pairs = this.pairs;
    const dOffset = this.offsets[d]!;
    const dLength = this.lengths[d]!;
    const xOffset = this.offsets[x]!;
    const xLength = this.lengths[x]!;
    let j = 0;
    let touchedCount = 0;
    let ok = true;
    // Both pair lists are sorted by class: walk them together.
    for (let i = 0; i < dLength; i++) {
      const c = pairs[dOffset + 2 * i]!;
      while (j < xLength && pairs[xOffset + 2 * j]! < c) j++;
      const xCount = j < xLength && pairs[xOffset + 2 * j] === c ? pairs[xOffset + 2 * j + 1]! : 0;
      const extra = pairs[dOffset + 2 * i + 1]! - xCount;
      if (extra <= 0) continue;
      // D used more of class c than X: it must cover X's later uses of c with unconditional members of c's group.
      const g = this.classGroup[c]!;
      if (this.classUniversal[c] === 1 || this.groupUniversal[g] === -1) {
        ok = false;
        break;
      }
      if (this.deficit[g] === 0) this.touched[touchedCount++] = g;
      this.deficit[g]! += extra;
    }
    for (let i = 0; i < touchedCount; i++) {
      const g = this.touched[i]!;
      if (ok) {
        const u = this.groupUniversal[g]!;
        if (this.used(x, u) - this.used(d, u) < this.deficit[g]!) ok = false;
      }
      this.deficit[g] = 0;
    }
    return ok;
  }

  private ensure(pairCount: number): void {
    if (this.count === this.offsets.length) {
      this.offsets = growInt32(this.offsets);
      this.lengths = growInt32(this.lengths);
      this.totals = growInt32(this.totals);
    }
    if (this.pairsUsed + 2 * pairCount > this.pairs.length) {
      const bigger = new Int32Array(Math.max(this.pairs.length * 2, this.pairsUsed + 2 * pairCount));
      bigger.set(this.pairs.subarray(0, this.pairsUsed));
      this.pairs = bigger;
    }
  }
}

export function growInt32(array: Int32Array): Int32Array<ArrayBuffer> {
  const bigger = new Int32Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
