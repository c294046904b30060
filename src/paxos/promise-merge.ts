import type { Entry, EntryType } from '../consensus/types.js';

/** A value a new leader proposes for one instance. */
export interface MergedValue {
  readonly type: EntryType;
  readonly data: Uint8Array;
  /** The ballot the value was accepted in (0: a no-op filling a gap no acceptor reported). */
  readonly fromBallot: number;
}

export interface MergedLog {
  /** Values for instances `from`, `from + 1`, ..., `from + values.length - 1`. */
  readonly values: readonly MergedValue[];
  /** Instances no acceptor of the quorum reported, filled with no-ops. */
  readonly gaps: number;
}

const NO_OP = new Uint8Array(0);

/**
 * Phase 1's rule, for every instance from `from` on: propose the value accepted in the highest ballot any promise
 * reports; where no promise reports a value, propose a no-op. When a value was chosen at an instance, every
 * quorum holds it in the highest ballot it reports there (the Paxos invariant), so the new leader can only
 * re-propose it.
 */
export function mergePromisedValues(from: number, reports: Iterable<readonly Entry[]>): MergedLog {
  const best = new Map<number, Entry>();
  let max = from - 1;
  for (const entries of reports) {
    for (const e of entries) {
      if (e.index < from) continue;
      const known = best.get(e.index);
      if (!known || e.term > known.term) best.set(e.index, e);
      if (e.index > max) max = e.index;
    }
  }
  const values: MergedValue[] = [];
  let gaps = 0;
  for (let i = from; i <= max; i++) {
    const e = best.get(i);
    if (e) {
      values.push({ type: e.type, data: e.data, fromBallot: e.term });
    } else {
      gaps++;
      values.push({ type: 'normal', data: NO_OP, fromBallot: 0 });
    }
  }
  return { values, gaps };
}
