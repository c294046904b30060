import type { OpBitset } from './op-bitset.js';

/**
 * Lowe's memoization: the configurations (set of linearized operations, model state) the search has already
 * entered. A configuration's future does not depend on how it was reached, so entering one twice is wasted work.
 *
 * It is extended with subsumption for unknown-outcome operations: a configuration is also skipped when one with
 * the same state, the same known-outcome operations, and a SUBSET of its unknown-outcome operations was entered.
 * That one can do everything this one can (it may still apply the extra unknown operations, or never), so if it
 * led nowhere neither does this one; if it is still on the search stack, it will try this path's continuation
 * itself. Without this, every combination of timed-out writes that a later delete erased would be searched anew.
 *
 * A hash table with chaining, stored as parallel typed arrays (about 40 bytes per entry plus the bitset windows in
 * one shared word arena) so that millions of entries neither allocate objects nor strain the garbage collector.
 * Lookups compare the full bitsets and state, never just the hash.
 */
export class VisitedSet {
  private heads: Int32Array;
  private hashes: Int32Array;
  private states: Float64Array;
  private chain: Int32Array;
  /** Per entry, per bitset: lo (first stored word), offset into the arena, and length in words. */
  private windows: Int32Array;
  private arena: Uint32Array;
  private arenaUsed = 0;
  private count = 0;

  /** @param maxEntries the most configurations kept; `add` reports `full` past it. */
  constructor(readonly maxEntries: number) {
    const initial = 1024;
    this.heads = new Int32Array(initial).fill(-1);
    this.hashes = new Int32Array(initial);
    this.states = new Float64Array(initial);
    this.chain = new Int32Array(initial);
    this.windows = new Int32Array(initial * 6);
    this.arena = new Uint32Array(initial * 4);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Records the configuration (known, unknown, state) unless it, or one that subsumes it, is present.
   * `hash` must depend on `known` and `state` only. Returns 'added', 'present', or 'full' (the limit is reached).
   */
  add(hash: number, state: number, known: OpBitset, unknown: OpBitset): 'added' | 'present' | 'full' {
    const knownLo = known.lo();
    const knownHi = known.hi();
    const unknownLo = unknown.lo();
    const unknownHi = unknown.hi();
    for (let e = this.heads[hash & (this.heads.length - 1)]!; e !== -1; e = this.chain[e]!) {
      if (
        this.hashes[e] === hash &&
        this.states[e] === state &&
        this.windowEquals(e, 0, known, knownLo, knownHi) &&
        this.windowIsSubsetOf(e, 3, unknown, unknownLo)
      ) {
        return 'present';
      }
    }
    if (this.count >= this.maxEntries) return 'full';
    if (this.count === this.hashes.length) this.growEntries();
    if (this.count >= this.heads.length) this.rehash(this.heads.length * 2);
    const e = this.count++;
    this.hashes[e] = hash;
    this.states[e] = state;
    this.storeWindow(e, 0, known, knownLo, knownHi);
    this.storeWindow(e, 3, unknown, unknownLo, unknownHi);
    const bucket = hash & (this.heads.length - 1);
    this.chain[e] = this.heads[bucket]!;
    this.heads[bucket] = e;
    return 'added';
  }

  private windowEquals(e: number, slot: number, bits: OpBitset, lo: number, hi: number): boolean {
    const base = e * 6 + slot;
    if (this.windows[base] !== lo || this.windows[base + 2] !== hi - lo) return false;
    const offset = this.windows[base + 1]!;
    const words = bits.words;
    for (let i = 0; i < hi - lo; i++) {
      if (this.arena[offset + i] !== words[lo + i]) return false;
    }
    return true;
  }

  /** Whether the stored set in `slot` of entry `e` is a subset of `bits` (whose first non-full word is `lo`). */
  private windowIsSubsetOf(e: number, slot: number, bits: OpBitset, lo: number): boolean {
    const base = e * 6 + slot;
    const storedLo = this.windows[base]!;
    // Below storedLo the stored set is full, so `bits` must be full there too.
    if (lo < storedLo) return false;
    const offset = this.windows[base + 1]!;
    const length = this.windows[base + 2]!;
    const words = bits.words;
    for (let i = 0; i < length; i++) {
      if ((this.arena[offset + i]! & ~words[storedLo + i]!) !== 0) return false;
    }
    return true;
  }

  private storeWindow(e: number, slot: number, bits: OpBitset, lo: number, hi: number): void {
    const length = hi - lo;
    if (this.arenaUsed + length > this.arena.length) {
      const bigger = new Uint32Array(Math.max(this.arena.length * 2, this.arenaUsed + length));
      bigger.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = bigger;
    }
    this.arena.set(bits.words.subarray(lo, hi), this.arenaUsed);
    const base = e * 6 + slot;
    this.windows[base] = lo;
    this.windows[base + 1] = this.arenaUsed;
    this.windows[base + 2] = length;
    this.arenaUsed += length;
  }

  private growEntries(): void {
    const capacity = this.hashes.length * 2;
    const grow = <T extends Int32Array | Float64Array>(old: T, make: (n: number) => T, n: number): T => {
      const next = make(n);
      next.set(old);
      return next;
    };
    this.hashes = grow(this.hashes, (n) => new Int32Array(n), capacity);
    this.states = grow(this.states, (n) => new Float64Array(n), capacity);
    this.chain = grow(this.chain, (n) => new Int32Array(n), capacity);
    this.windows = grow(this.windows, (n) => new Int32Array(n), capacity * 6);
  }

  private rehash(tableSize: number): void {
    this.heads = new Int32Array(tableSize).fill(-1);
    for (let e = 0; e < this.count; e++) {
      const bucket = this.hashes[e]! & (tableSize - 1);
      this.chain[e] = this.heads[bucket]!;
      this.heads[bucket] = e;
    }
  }
}
