import { type CountVectorPool, growInt32 } from './count-vectors.js';

/**
 * A set of search configurations for the frontier search: model state, the set of pending operations already
 * linearized (W words of a bitset over pending slots), and a count vector of unknown-outcome operations used; plus,
 * per configuration, how it was reached (parent, operation) and an optional payload.
 *
 * Lookups find a configuration with the same state and set whose vector dominates a given one. Clearing is O(1)
 * (bucket generations), because the table is reused for every event of a long history.
 */
export class ConfigTable<Payload> {
  private capacity = 256;
  private states = new Float64Array(this.capacity);
  private vectors = new Int32Array(this.capacity);
  private words: Int32Array;
  private parents = new Int32Array(this.capacity);
  private ops = new Int32Array(this.capacity);
  private extras = new Float64Array(this.capacity);
  private dead = new Uint8Array(this.capacity);
  private hashes = new Int32Array(this.capacity);
  private chain = new Int32Array(this.capacity);
  private payloads: (Payload | undefined)[] = [];
  private heads = new Int32Array(256);
  private headGeneration = new Int32Array(256);
  private generation = 1;
  private count = 0;

  constructor(
    readonly wordsPerSet: number,
    private readonly pool: CountVectorPool,
  ) {
    this.words = new Int32Array(this.capacity * Math.max(1, wordsPerSet));
  }

  get size(): number {
    return this.count;
  }

  clear(): void {
    this.count = 0;
    this.payloads.length = 0;
    this.generation++;
  }

  state(i: number): number {
    return this.states[i]!;
  }
  vector(i: number): number {
    return this.vectors[i]!;
  }
  parent(i: number): number {
    return this.parents[i]!;
  }
  op(i: number): number {
    return this.ops[i]!;
  }
  extra(i: number): number {
    return this.extras[i]!;
  }
  payload(i: number): Payload | undefined {
    return this.payloads[i];
  }
  isDead(i: number): boolean {
    return this.dead[i] === 1;
  }
  /** Word `w` of configuration `i`'s set. */
  word(i: number, w: number): number {
    return this.words[i * this.wordsPerSet + w]!;
  }
  hasBit(i: number, bit: number): boolean {
    return (this.words[i * this.wordsPerSet + (bit >>> 5)]! & (1 << (bit & 31))) !== 0;
  }

  /** Hash of a (state, set) pair; `set` holds `wordsPerSet` words. */
  hashOf(state: number, set: Int32Array): number {
    let h = mixState(state);
    for (let w = 0; w < this.wordsPerSet; w++) h = mix(h ^ set[w]!);
    return h;
  }

  /** Whether a live configuration with this state and set has a vector dominating `vector`. */
  hasDominating(hash: number, state: number, set: Int32Array, vector: number): boolean {
    for (let e = this.bucketHead(hash); e !== -1; e = this.chain[e]!) {
      if (this.dead[e] === 0 && this.sameKey(e, hash, state, set) && this.pool.dominates(this.vectors[e]!, vector)) {
        return true;
      }
    }
    return false;
  }

  /** Marks dead every live configuration with this state and set whose vector `vector` dominates. */
  killDominatedBy(hash: number, state: number, set: Int32Array, vector: number): void {
    for (let e = this.bucketHead(hash); e !== -1; e = this.chain[e]!) {
      if (this.dead[e] === 0 && this.sameKey(e, hash, state, set) && this.pool.dominates(vector, this.vectors[e]!)) {
        this.dead[e] = 1;
      }
    }
  }

  add(
    hash: number,
    state: number,
    set: Int32Array,
    vector: number,
    parent: number,
    op: number,
    extra: number,
    payload: Payload | undefined,
  ): number {
    if (this.count === this.capacity) this.grow();
    if (this.count >= this.heads.length) this.rehash(this.heads.length * 2);
    const e = this.count++;
    this.states[e] = state;
    this.vectors[e] = vector;
    for (let w = 0; w < this.wordsPerSet; w++) this.words[e * this.wordsPerSet + w] = set[w]!;
    this.parents[e] = parent;
    this.ops[e] = op;
    this.extras[e] = extra;
    this.dead[e] = 0;
    this.hashes[e] = hash;
    this.payloads[e] = payload;
    const bucket = hash & (this.heads.length - 1);
    this.chain[e] = this.bucketHead(hash);
    this.heads[bucket] = e;
    this.headGeneration[bucket] = this.generation;
    return e;
  }

  private bucketHead(hash: number): number {
    const bucket = hash & (this.heads.length - 1);
    return this.headGeneration[bucket] === this.generation ? this.heads[bucket]! : -1;
  }

  private sameKey(e: number, hash: number, state: number, set: Int32Array): boolean {
    if (this.hashes[e] !== hash || this.states[e] !== state) return false;
    for (let w = 0; w < this.wordsPerSet; w++) if (this.words[e * this.wordsPerSet + w] !== set[w]) return false;
    return true;
  }

  private grow(): void {
    this.capacity *= 2;
    const states = new Float64Array(this.capacity);
    states.set(this.states);
    this.states = states;
    const extras = new Float64Array(this.capacity);
    extras.set(this.extras);
    this.extras = extras;
    const dead = new Uint8Array(this.capacity);
    dead.set(this.dead);
    this.dead = dead;
    this.vectors = growInt32(this.vectors);
    this.parents = growInt32(this.parents);
    this.ops = growInt32(this.ops);
    this.hashes = growInt32(this.hashes);
    this.chain = growInt32(this.chain);
    const words = new Int32Array(this.capacity * Math.max(1, this.wordsPerSet));
    words.set(this.words);
    this.words = words;
  }

  private rehash(size: number): void {
    this.heads = new Int32Array(size);
    this.headGeneration = new Int32Array(size);
    for (let e = 0; e < this.count; e++) {
      const bucket = this.hashes[e]! & (size - 1);
      this.chain[e] = this.headGeneration[bucket] === this.generation ? this.heads[bucket]! : -1;
      this.heads[bucket] = e;
      this.headGeneration[bucket] = this.generation;
    }
  }
}

function mix(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function mixState(state: number): number {
  return mix((state >>> 0) ^ Math.imul((state / 4294967296) >>> 0, 0x27d4eb2d));
}
