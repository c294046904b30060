import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CountVectorPool } from '../../src/check/count-vectors.js';
import type { UnknownClass } from '../../src/check/partition-problem.js';

// Group 0: class 0 unconditional (universal), classes 1 and 2 conditional. Group 1: class 3 conditional only.
const classes: UnknownClass[] = [
  { members: Int32Array.of(0, 1, 2), group: 0, universal: true },
  { members: Int32Array.of(3, 4), group: 0, universal: false },
  { members: Int32Array.of(5), group: 0, universal: false },
  { members: Int32Array.of(6, 7), group: 1, universal: false },
];

function vector(pool: CountVectorPool, counts: Record<number, number>): number {
  let v = CountVectorPool.ZERO;
  for (const [c, n] of Object.entries(counts)) for (let i = 0; i < n; i++) v = pool.successor(v, Number(c));
  return v;
}

test('successors are interned and count per class', () => {
  const pool = new CountVectorPool(classes);
  const a = pool.successor(pool.successor(CountVectorPool.ZERO, 3), 0);
  const b = pool.successor(pool.successor(CountVectorPool.ZERO, 0), 3);
  assert.notEqual(a, b); // different paths, separate entries...
  assert.equal(pool.successor(CountVectorPool.ZERO, 3), pool.successor(CountVectorPool.ZERO, 3)); // ...same path, same
  assert.equal(pool.used(a, 0), 1);
  assert.equal(pool.used(a, 3), 1);
  assert.equal(pool.used(a, 1), 0);
  const twice = pool.successor(a, 0);
  assert.equal(pool.used(twice, 0), 2);
  assert.ok(pool.dominates(a, b) && pool.dominates(b, a), 'equal counts dominate each other');
});

test('using fewer of each class dominates; using more never does without a stand-in', () => {
  const pool = new CountVectorPool(classes);
  const none = CountVectorPool.ZERO;
  const one3 = vector(pool, { 3: 1 });
  const two3 = vector(pool, { 3: 2 });
  assert.ok(pool.dominates(none, two3));
  assert.ok(pool.dominates(one3, two3));
  assert.ok(!pool.dominates(two3, one3));
  assert.ok(!pool.dominates(one3, none));
  // Class 3's group has no unconditional class: nothing can stand in for it.
  assert.ok(!pool.dominates(vector(pool, { 3: 1 }), vector(pool, { 0: 1 })));
});

test('a conditional member used instead of an unconditional one of its group dominates, not the reverse', () => {
  const pool = new CountVectorPool(classes);
  const usedConditional = vector(pool, { 1: 1 });
  const usedUnconditional = vector(pool, { 0: 1 });
  assert.ok(pool.dominates(usedConditional, usedUnconditional));
  assert.ok(!pool.dominates(usedUnconditional, usedConditional));
  // Having used a conditional member where the other used nothing at all is not better: nothing spare to stand in.
  assert.ok(!pool.dominates(usedConditional, CountVectorPool.ZERO));
  // Two conditional members need two spare unconditional ones.
  assert.ok(!pool.dominates(vector(pool, { 1: 1, 2: 1 }), vector(pool, { 0: 1 })));
  assert.ok(pool.dominates(vector(pool, { 1: 1, 2: 1 }), vector(pool, { 0: 2 })));
  assert.ok(pool.dominates(vector(pool, { 1: 1, 0: 1 }), vector(pool, { 0: 2, 3: 1 })));
  assert.ok(!pool.dominates(vector(pool, { 1: 1, 0: 1 }), vector(pool, { 0: 1, 1: 0, 3: 1 })));
});
