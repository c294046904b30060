import type { HistoryOp } from '../../src/check/history.js';
import { applyKvOp, type KvState } from '../../src/check/kv-register.js';

/**
 * The definition of linearizability, checked by exhaustive enumeration (for a few operations only): is there an
 * order of all known-outcome operations, plus any subset of the unknown-outcome ones, that respects real time
 * (a before b when a returned before b was called) and that the register model accepts? Shares nothing with the
 * checker's search; uses the readable model (kv-register.ts).
 */
export function bruteForceLinearizable(ops: readonly HistoryOp[], initial: KvState = null): boolean {
  if (ops.length > 12) throw new Error('brute force is for tiny histories');
  const returnOf = (op: HistoryOp): number => op.return ?? Number.POSITIVE_INFINITY;
  const knownMask = ops.reduce((mask, op, i) => (op.return !== null ? mask | (1 << i) : mask), 0);
  const failed = new Set<string>();

  const search = (placed: number, state: KvState): boolean => {
    if ((placed & knownMask) === knownMask) return true;
    const key = `${placed}|${JSON.stringify(state)}`;
    if (failed.has(key)) return false;
    for (let i = 0; i < ops.length; i++) {
      if ((placed & (1 << i)) !== 0) continue;
      const op = ops[i]!;
      // Every operation that returned before this one was called must already be placed.
      const blocked = ops.some((other, j) => (placed & (1 << j)) === 0 && j !== i && returnOf(other) < op.call);
      if (blocked) continue;
      const stepped = applyKvOp(state, op);
      if (stepped.legal && search(placed | (1 << i), stepped.next)) return true;
    }
    failed.add(key);
    return false;
  };
  return search(0, initial);
}
