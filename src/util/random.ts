import { randomBytes } from 'node:crypto';

/**
 * Seeded, injectable randomness. Nothing in Cairn's cores calls Math.random(): every source of
 * non-determinism is passed in, so one seed reproduces a whole simulated cluster run.
 */
export interface Random {
  /** A float in [0, 1). */
  next(): number;
  /** An integer in [0, maxExclusive). */
  int(maxExclusive: number): number;
  /** True with the given probability (0..1). */
  chance(probability: number): boolean;
  /** A new independent generator derived from this one (for giving each component its own stream). */
  fork(): Random;
}

/**
 * sfc32 (Small Fast Counter, from PractRand): 128 bits of state, passes BigCrush, and is fast in JS
 * because it only uses 32-bit integer operations.
 */
export class SeededRandom implements Random {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    // splitmix32 spreads a small integer seed over the whole state, so seeds 1, 2, 3 diverge at once.
    let s = seed >>> 0;
    const splitmix = (): number => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    return t;
  }

  next(): number {
    return this.nextUint32() / 4294967296;
  }

  int(maxExclusive: number): number {
    if (!(maxExclusive > 0)) throw new RangeError(`int() needs a positive bound, got ${maxExclusive}`);
    return Math.floor(this.next() * maxExclusive);
  }

  chance(probability: number): boolean {
    return probability > 0 && this.next() < probability;
  }

  fork(): Random {
    return new SeededRandom(this.nextUint32());
  }
}

/** Randomness for production: seeded from the OS, still behind the same interface. */
export function systemRandom(): Random {
  return new SeededRandom(randomBytes(4).readUInt32LE(0));
}
