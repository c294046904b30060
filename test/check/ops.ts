import type { HistoryOp, OpOutput } from '../../src/check/history.js';

/**
 * A terse way to write histories in tests: `put('c1', 'a', [0, 1], 1)` is client c1 writing "a" between t=0 and
 * t=1 and getting version 1. Keys default to "x"; ids are "<client>:<call time>" (prefixed by "<key>/" for other
 * keys) so reports can be asserted on.
 */
type Interval = readonly [call: number, ret: number];

function op(
  clientId: string,
  kind: HistoryOp['op'],
  input: HistoryOp['input'],
  [call, ret]: Interval,
  output: OpOutput,
  key = 'x',
): HistoryOp {
  const id = key === 'x' ? `${clientId}:${call}` : `${key}/${clientId}:${call}`;
  return { id, clientId, key, op: kind, input, call, return: ret, output };
}

export function put(clientId: string, value: string, at: Interval, version?: number, key?: string): HistoryOp {
  return op(clientId, 'put', { value }, at, version === undefined ? { ok: true } : { ok: true, version }, key);
}

export function putIf(
  clientId: string,
  value: string,
  ifVersion: number,
  at: Interval,
  result: number | 'COMPARE_FAILED',
  key?: string,
): HistoryOp {
  const output: OpOutput =
    result === 'COMPARE_FAILED' ? { ok: false, code: 'COMPARE_FAILED' } : { ok: true, version: result };
  return op(clientId, 'put', { value, ifVersion }, at, output, key);
}

/** A read: `value` null = the key was absent. */
export function get(clientId: string, at: Interval, value: string | null, version?: number, key?: string): HistoryOp {
  const output: OpOutput =
    value === null
      ? { found: false }
      : version === undefined
        ? { found: true, value }
        : { found: true, value, version };
  return op(clientId, 'get', {}, at, output, key);
}

export function del(clientId: string, at: Interval, deleted: 0 | 1, key?: string): HistoryOp {
  return op(clientId, 'delete', {}, at, { deleted }, key);
}

export function delIf(
  clientId: string,
  ifVersion: number,
  at: Interval,
  result: 0 | 1 | 'COMPARE_FAILED',
  key?: string,
): HistoryOp {
  const output: OpOutput = result === 'COMPARE_FAILED' ? { ok: false, code: 'COMPARE_FAILED' } : { deleted: result };
  return op(clientId, 'delete', { ifVersion }, at, output, key);
}

/** The same operation with its outcome unknown (timeout): no return time, no answer. */
export function timedOut(o: HistoryOp): HistoryOp {
  return { ...o, return: null, output: null };
}

/** The same operation answered `UNAVAILABLE` (surely not applied). */
export function unavailable(o: HistoryOp): HistoryOp {
  return { ...o, output: { ok: false, code: 'UNAVAILABLE' } };
}
