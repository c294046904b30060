import type { Entry, Snapshot } from './types.js';

/**
 * Shape checks every engine applies to messages from the network: a peer's message is untrusted input, and a
 * malformed one is dropped and counted, never thrown inside an engine.
 */

/** A non-negative safe integer (terms, ballots, indexes, counters). */
export function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** `placed`: the entry has its index and term (a forwarded proposal has not been placed yet). */
export function isEntry(e: unknown, placed: boolean): e is Entry {
  if (typeof e !== 'object' || e === null) return false;
  const x = e as Entry;
  return (
    isCount(x.term) &&
    isCount(x.index) &&
    (!placed || x.index > 0) &&
    (x.type === 'normal' || x.type === 'confChange') &&
    x.data instanceof Uint8Array
  );
}

export function isSnapshot(s: unknown): s is Snapshot {
  if (typeof s !== 'object' || s === null) return false;
  const x = s as Snapshot;
  if (typeof x.meta !== 'object' || x.meta === null || !(x.data instanceof Uint8Array)) return false;
  const cs = x.meta.confState;
  const ids = (a: unknown) => Array.isArray(a) && a.every((id) => typeof id === 'string');
  return (
    isCount(x.meta.index) &&
    isCount(x.meta.term) &&
    typeof cs === 'object' &&
    cs !== null &&
    ids(cs.voters) &&
    ids(cs.votersOutgoing) &&
    ids(cs.learners) &&
    ids(cs.learnersNext) &&
    typeof cs.autoLeave === 'boolean'
  );
}
