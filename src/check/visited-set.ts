import type { CountVectorPool } from './count-vectors.js';
import type { OpBitset } from './op-bitset.js';

/**
 * Lowe's memoization: the configurations (set of linearized operations, model state) the search has already
 * entered. A configuration's future does not depend on how it was reached, so entering one twice is wasted work.
 *
 * It is extended with subsumption for unknown-outcome operations. Within a class of interchangeable ones, the
 * linearized members are always the earliest (see PartitionProblem), so a configuration's unknown-outcome part is
 * just how many members of each class it used. A configuration is skipped when an entered one has the same state
 * and known-outcome operations and DOMINATES it: it can do everything this one can, because it used no more of each
 * class — or used a conditional member where this one used an unconditional member of the same group, which can
 * stand in for it later. If the dominating one led nowhere, neither does this one; if it is still being explored, it
 * will explore this continuation itself. Without this, every combination of timed-out writes that a later delete
 * erased, or that another timed-out write could replace, would be searched anew.
 *
 * A hash table with chaining, stored as parallel typed arrays (about 40 bytes per entry plus the known window's
 * few words in one shared arena) so that millions of entries neither allocate objects nor strain the garbage collector. Lookups
 * compare the full sets and state, never just the hash.
 */

/** `add` found the configuration, or one dominating it. */
export const PRESENT = -1;
/** `add` could not record the configuration: the entry limit is reached. */
export const FULL = -2;

/** Per entry: known window lo, its arena offset and length in words, and the count vector's number. */
const FIELDS = 4;

export class VisitedSet {
  private heads: Int32Array;
  private hashes: Int32Array;
  private states: Float64Array;
  private chain: Int32Array;
  private fields: Int32Array;
  /** Known-set windows, one after the other. */
  private arena: Int32Array;
  private arenaUsed = 0;
  private count = 0;

  /** @param maxEntries the most configurations kept; `add` reports FULL past it. */
  constructor(
    readonly maxEntries: number,
    private readonly vectors: CountVectorPool,
  ) {
    const initial = 1024;
    this.heads = new Int32Array(initial).fill(-1);
    this.hashes = new Int32Array(initial);
    this.states = new Float64Array(initial);
    this.chain = new Int32Array(initial);
    this.fields = new Int32Array(initial * FIELDS);
    this.arena = new Int32Array(initial * 4);
  }

  get size(): number {
    return this.count;
  }

  /**
   * Records the configuration (known set, vector of unknown-class counts, state) unless it, or one that dominates
   * it, is present. `hash` must depend on `known` and `state` only. Returns the new entry's number (0, 1, 2… in
   * order of addition), or PRESENT, or FULL (the limit is reached).
   */
  add(hash: number, state: number, known: OpBitset, vector: number): number {
    const knownLo = known.lo();
    const knownHi = known.hi();
    for (let e = this.heads[hash & (this.heads.length - 1)]!; e !== -1; e = this.chain[e]!) {
      if (
        this.hashes[e] === hash &&
        this.states[e] === state &&
        this.knownEquals(e, known, knownLo, knownHi) &&
        this.vectors.dominates(this.fields[e * FIELDS + 3]!, vector)
      ) {
        return PRESENT;
      }
    }
    if (this.count >= this.maxEntries) return FULL;
    if (this.count === this.hashes.length) this.growEntries();
    if (this.count >= this.heads.length) this.rehash(this.heads.length * 2);
    const e = this.count++;
    this.hashes[e] = hash;
    this.states[e] = state;
    this.store(e, known, knownLo, knownHi, vector);
    const bucket = hash & (this.heads.length - 1);
    this.chain[e] = this.heads[bucket]!;
    this.heads[bucket] = e;
    return e;
  }

  private knownEquals(e: number, bits: OpBitset, lo: number, hi: number): boolean {
    const base = e * FIELDS;
    if (this.fields[base] !== lo || this.fields[base + 2] !== hi - lo) return false;
    const offset = this.fields[base + 1]!;
    const words = bits.words;
    for (let i = 0; i < hi - lo; i++) {
      if (this.arena[offset + i]! >>> 0 !== words[lo + i]) return false;
    }
    return true;
  }

  private store(e: number, bits: OpBitset, lo: number, hi: number, vector: number): void {
    if (this.arenaUsed + hi - lo > this.arena.length) {
      const bigger = new Int32Array(Math.max(this.arena.length * 2, this.arenaUsed + hi - lo));
      bigger.set(this.arena.subarray(0, this.arenaUsed));
      this.arena = bigger;
    }
    const base = e * FIELDS;
    this.fields[base] = lo;
    this.fields[base + 1] = this.arenaUsed;
    this.fields[base + 2] = hi - lo;
    this.fields[base + 3] = vector;
    for (let i = lo; i < hi; i++) this.arena[this.arenaUsed++] = bits.words[i]! | 0;
  }

  private growEntries(): void {
    const capacity = this.hashes.length * 2;
    const hashes = new Int32Array(capacity);
    hashes.set(this.hashes);
    this.hashes = hashes;
    const states = new Float64Array(capacity);
    states.set(this.states);
    this.states = states;
    const chain = new Int32Array(capacity);
    chain.set(this.chain);
    this.chain = chain;
    const fields = new Int32Array(capacity * FIELDS);
    fields.set(this.fields);
    this.fields = fields;
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
