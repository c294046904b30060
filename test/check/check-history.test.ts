import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkHistory } from '../../src/check/check-history.js';
import type { HistoryOp } from '../../src/check/history.js';
import { formatViolation } from '../../src/check/violation.js';
import { del, delIf, get, put, putIf, timedOut, unavailable } from './ops.js';

function verdict(history: HistoryOp[]): string {
  return checkHistory(history).verdict;
}

function violationOf(history: HistoryOp[]) {
  const result = checkHistory(history);
  assert.equal(result.verdict, 'not-linearizable');
  const bad = result.keys.find((k) => k.verdict === 'not-linearizable');
  assert.ok(bad?.violation);
  return bad.violation;
}

describe('linearizable histories', () => {
  test('a sequential history that follows the register', () => {
    const h = [
      get('c1', [0, 1], null),
      put('c1', 'a', [2, 3], 1),
      get('c2', [4, 5], 'a', 1),
      putIf('c1', 'b', 1, [6, 7], 2),
      putIf('c2', 'z', 1, [8, 9], 'COMPARE_FAILED'),
      delIf('c2', 2, [10, 11], 1),
      get('c1', [12, 13], null),
      del('c1', [14, 15], 0),
      delIf('c1', 0, [16, 17], 0),
      putIf('c2', 'c', 0, [18, 19], 1),
    ];
    assert.equal(verdict(h), 'linearizable');
  });

  test('a read concurrent with a write may see the old or the new value', () => {
    const write = put('c1', 'b', [10, 20], 2);
    const before = [put('c1', 'a', [0, 1], 1)];
    assert.equal(verdict([...before, write, get('c2', [12, 14], 'a', 1)]), 'linearizable');
    assert.equal(verdict([...before, write, get('c2', [12, 14], 'b', 2)]), 'linearizable');
    // Two overlapping reads may even disagree, if each overlaps the write.
    assert.equal(verdict([...before, write, get('c2', [12, 14], 'b', 2), get('c3', [11, 19], 'a', 1)]), 'linearizable');
  });

  test('operations that merely touch in time count as concurrent', () => {
    assert.equal(verdict([put('c1', 'a', [0, 5], 1), get('c2', [5, 6], null)]), 'linearizable');
  });

  test('outputs without versions are accepted and not compared', () => {
    assert.equal(verdict([put('c1', 'a', [0, 1]), put('c1', 'b', [2, 3]), get('c2', [4, 5], 'b')]), 'linearizable');
  });

  test('a history of only unknown-outcome operations is done at once', () => {
    const h = Array.from({ length: 200 }, (_, i) => timedOut(put(`c${i % 7}`, `v${i}`, [i, i + 1])));
    const result = checkHistory(h);
    assert.equal(result.verdict, 'linearizable');
  });

  test('the initial state can be given per key', () => {
    const h = [get('c1', [0, 1], 'seed', 4), putIf('c1', 'a', 4, [2, 3], 5)];
    assert.equal(verdict(h), 'not-linearizable');
    const result = checkHistory(h, { initialValues: { x: { value: 'seed', version: 4 } } });
    assert.equal(result.verdict, 'linearizable');
  });
});

describe('non-linearizable histories', () => {
  test('a stale read: the old value after a newer write was acknowledged', () => {
    const h = [put('c1', 'a', [0, 1], 1), put('c1', 'b', [2, 3], 2), get('c2', [4, 5], 'a', 1)];
    const v = violationOf(h);
    assert.equal(v.key, 'x');
    assert.equal(v.failedOp.id, 'c2:4');
    assert.deepEqual(v.stateAfter, { value: 'b', version: 2 });
    assert.equal(v.lastWrite?.id, 'c1:2');
    assert.match(formatViolation(v), /could not linearize op "c2:4"/);
    assert.match(formatViolation(v), /read "a" v1 but the key is "b" v2/);
  });

  test('a lost acknowledged write: read absent after the put returned', () => {
    assert.equal(verdict([put('c1', 'a', [0, 1], 1), get('c2', [2, 3], null)]), 'not-linearizable');
  });

  test('a read of a value never written, or written only later, is refuted without a search', () => {
    const v = violationOf([put('c1', 'a', [0, 1], 1), get('c2', [2, 3], 'ghost'), put('c3', 'ghost', [4, 5], 2)]);
    assert.equal(v.failedOp.id, 'c2:2');
    assert.match(v.note ?? '', /no put of "ghost" was called before this read returned/);
    // The report still shows what came before: the state the read should have seen.
    assert.deepEqual(
      v.linearization.map((o) => o.id),
      ['c1:0'],
    );
    assert.deepEqual(v.stateAfter, { value: 'a', version: 1 });
    // A value held initially is not a phantom.
    const initialValues = { x: { value: 'ghost', version: 7 } };
    assert.equal(checkHistory([get('c2', [2, 3], 'ghost', 7)], { initialValues }).verdict, 'linearizable');
  });

  test('two conditional puts both succeeding on the same version', () => {
    const both = [put('c0', 'a', [0, 1], 1), putIf('c1', 'b', 1, [2, 5], 2), putIf('c2', 'c', 1, [3, 6], 2)];
    assert.equal(verdict(both), 'not-linearizable');
    const creates = [putIf('c1', 'b', 0, [2, 5], 1), putIf('c2', 'c', 0, [3, 6], 1)];
    assert.equal(verdict(creates), 'not-linearizable');
    // One of them failing is fine.
    assert.equal(verdict([both[0]!, both[1]!, putIf('c2', 'c', 1, [3, 6], 'COMPARE_FAILED')]), 'linearizable');
  });

  test('a read that sees a write which began after the read returned', () => {
    const h = [get('c1', [0, 2], 'a', 1), put('c2', 'a', [3, 4], 1)];
    const v = violationOf(h);
    assert.equal(v.failedOp.id, 'c1:0');
  });

  test('a version that does not match the writes', () => {
    assert.equal(verdict([put('c1', 'a', [0, 1], 1), get('c2', [2, 3], 'a', 2)]), 'not-linearizable');
    assert.equal(verdict([put('c1', 'a', [0, 1], 1), put('c1', 'b', [2, 3], 3)]), 'not-linearizable');
  });

  test('a delete that reports removing an absent key, and a failed condition that held', () => {
    assert.equal(verdict([del('c1', [0, 1], 1)]), 'not-linearizable');
    assert.equal(verdict([delIf('c1', 0, [0, 1], 'COMPARE_FAILED')]), 'not-linearizable');
    assert.equal(
      verdict([put('c1', 'a', [0, 1], 1), putIf('c1', 'b', 1, [2, 3], 'COMPARE_FAILED')]),
      'not-linearizable',
    );
  });
});

describe('unknown outcomes', () => {
  test('a read of a value whose put timed out is explained by that put', () => {
    const h = [timedOut(put('c1', 'a', [0, 1])), get('c2', [5, 6], 'a', 1)];
    assert.equal(verdict(h), 'linearizable');
    // Without the timed-out put the read is impossible.
    assert.equal(verdict([get('c2', [5, 6], 'a', 1)]), 'not-linearizable');
  });

  test('a timed-out write may take effect long after the client gave up, or never', () => {
    const write = timedOut(put('c1', 'b', [0, 1]));
    const reads = [put('c0', 'a', [0, 0.5], 1), get('c2', [10, 11], 'a', 1), get('c2', [20, 21], 'b', 2)];
    assert.equal(verdict([write, ...reads]), 'linearizable');
    assert.equal(verdict([write, ...reads.slice(0, 2)]), 'linearizable');
  });

  test('a timed-out delete explains a read of absent after an acknowledged put', () => {
    const h = [put('c1', 'a', [0, 1], 1), timedOut(del('c3', [1, 2], 1)), get('c2', [3, 4], null)];
    assert.equal(verdict(h), 'linearizable');
  });

  test('a timed-out write cannot take effect before it was called', () => {
    const h = [get('c1', [0, 2], 'a'), timedOut(put('c2', 'a', [3, 4]))];
    assert.equal(verdict(h), 'not-linearizable');
  });

  test('a timed-out write takes effect once: the old value cannot come back', () => {
    const h = [
      put('c0', 'old', [0, 1], 1),
      timedOut(put('c1', 'new', [2, 3])),
      get('c2', [4, 5], 'new', 2),
      get('c2', [6, 7], 'old', 1),
    ];
    assert.equal(verdict(h), 'not-linearizable');
  });

  test('a timed-out conditional put explains a read only if its condition could hold', () => {
    const base = [put('c0', 'a', [0, 1], 1)];
    assert.equal(
      verdict([...base, timedOut(putIf('c1', 'b', 1, [2, 3], 2)), get('c2', [4, 5], 'b', 2)]),
      'linearizable',
    );
    assert.equal(
      verdict([...base, timedOut(putIf('c1', 'b', 5, [2, 3], 2)), get('c2', [4, 5], 'b', 2)]),
      'not-linearizable',
    );
  });

  test('timed-out writes do not rescue a read of a value nobody wrote', () => {
    const h = [
      ...Array.from({ length: 6 }, (_, i) => timedOut(put(`c${i}`, `v${i}`, [i, i + 1]))),
      timedOut(del('c9', [0, 1], 1)),
      get('c7', [10, 11], 'ghost'),
    ];
    assert.equal(verdict(h), 'not-linearizable');
  });

  test('operations that surely failed and reads with unknown answers are left out', () => {
    const h = [
      put('c1', 'a', [0, 1], 1),
      unavailable(put('c2', 'b', [2, 3])),
      timedOut(get('c3', [2, 3], 'zzz')),
      get('c2', [4, 5], 'a', 1),
    ];
    const result = checkHistory(h);
    assert.equal(result.verdict, 'linearizable');
    assert.equal(result.keys[0]?.ops, 4);
    assert.equal(result.keys[0]?.droppedOps, 2);
  });
});

describe('partitions and results', () => {
  test('each key is checked on its own and the worst verdict wins', () => {
    const h = [
      put('c1', 'a', [0, 1], 1, 'k2'),
      get('c2', [2, 3], null, undefined, 'k2'), // lost write on k2
      put('c1', 'a', [0, 1], 1, 'k1'),
      get('c2', [2, 3], 'a', 1, 'k1'),
    ];
    const result = checkHistory(h);
    assert.equal(result.verdict, 'not-linearizable');
    assert.deepEqual(
      result.keys.map((k) => [k.key, k.verdict]),
      [
        ['k1', 'linearizable'],
        ['k2', 'not-linearizable'],
      ],
    );
    assert.equal(result.ops, 4);
  });

  test('the violation window holds the failing operation and the operations overlapping it', () => {
    const h = [
      put('c1', 'a', [0, 1], 1),
      put('c1', 'b', [2, 3], 2),
      put('c3', 'c', [3.5, 10], 3), // overlaps the bad read, and is fine
      get('c2', [4, 5], 'a', 1), // stale
      get('c4', [12, 13], 'c', 3),
    ];
    const v = violationOf(h);
    assert.equal(v.failedOp.id, 'c2:4');
    assert.deepEqual(
      v.window.map((o) => o.id),
      ['c3:3.5', 'c2:4'],
    );
    assert.ok(v.linearization.some((o) => o.id === 'c1:2'));
    const text = formatViolation(v);
    assert.match(text, /key "x": NOT LINEARIZABLE/);
    assert.match(text, /op "c3:3\.5"/);
  });
});

describe('budgets', () => {
  // Many concurrent unconditional writes whose versions were not recorded, then reads of two of their values in
  // turn (impossible: no write comes between them): refuting it means trying many orders of the writes.
  const hard = [
    ...Array.from({ length: 14 }, (_, i) => put(`c${i}`, `v${i}`, [0, 100])),
    get('r', [200, 201], 'v3'),
    get('r', [202, 203], 'v5'),
  ];

  test('an exhausted time budget gives verdict unknown, never linearizable', () => {
    // Each look at the clock sees 1 s more: both searches give up at their first or second look.
    let t = 0;
    const result = checkHistory(hard, { timeBudgetMsPerKey: 5, now: () => (t += 1000) });
    assert.equal(result.verdict, 'unknown');
    assert.equal(result.keys[0]?.verdict, 'unknown');
    assert.equal(result.keys[0]?.unknownReason, 'time-budget');
  });

  test('a zero budget gives up at once on any key that needs a search', () => {
    const result = checkHistory([put('c1', 'a', [0, 1], 1)], { timeBudgetMsPerKey: 0, now: () => 0 });
    assert.equal(result.verdict, 'unknown');
  });

  test('the configuration limit gives verdict unknown too', () => {
    const result = checkHistory(hard, { maxConfigurationsPerKey: 50 });
    assert.equal(result.verdict, 'unknown');
    assert.equal(result.keys[0]?.unknownReason, 'configuration-limit');
  });

  test('bad options are refused', () => {
    assert.throws(() => checkHistory([], { timeBudgetMsPerKey: -1 }), RangeError);
    assert.throws(() => checkHistory([], { maxConfigurationsPerKey: 0 }), RangeError);
  });
});
