import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeededRandom } from '../../src/util/random.js';

test('the same seed gives the same sequence, different seeds differ', () => {
  const a = new SeededRandom(42);
  const b = new SeededRandom(42);
  const c = new SeededRandom(43);
  const seqA = Array.from({ length: 20 }, () => a.next());
  const seqB = Array.from({ length: 20 }, () => b.next());
  const seqC = Array.from({ length: 20 }, () => c.next());
  assert.deepEqual(seqA, seqB);
  assert.notDeepEqual(seqA, seqC);
});

test('int() stays in range and covers it roughly evenly', () => {
  const r = new SeededRandom(7);
  const counts = new Array<number>(10).fill(0);
  for (let i = 0; i < 100_000; i++) {
    const v = r.int(10);
    assert.ok(v >= 0 && v < 10 && Number.isInteger(v));
    counts[v]!++;
  }
  for (const count of counts) assert.ok(Math.abs(count - 10_000) < 600, `bucket count ${count}`);
  assert.throws(() => r.int(0), RangeError);
});

test('fork() gives an independent, reproducible stream', () => {
  const a = new SeededRandom(1).fork();
  const b = new SeededRandom(1).fork();
  assert.equal(a.next(), b.next());
});
