import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHistory } from '../../src/check/check-history.js';
import type { HistoryOp } from '../../src/check/history.js';
import { generateHistory } from './history-generator.js';

// Torture-harness sized: 20k operations over 10 keys from 12 concurrent clients, 2 % of answers lost. Typical
// run on a 2-core machine: a few hundred ms each; the bounds are generous so that a loaded machine passes.
const history = generateHistory({ seed: 2024, ops: 20_000, keys: 10, clients: 12, unknownRate: 0.02 });
const GENEROUS_BOUND_MS = 15_000;

test('a torture-sized linearizable history is checked quickly', () => {
  const result = checkHistory(history, { timeBudgetMsPerKey: 60_000 });
  assert.equal(result.verdict, 'linearizable');
  assert.equal(result.keys.length, 10);
  assert.ok(result.elapsedMs < GENEROUS_BOUND_MS, `took ${result.elapsedMs} ms`);
});

test('a torture-sized history with one stale read is refuted quickly', () => {
  // Replace a read late in the history by the value its key had several writes earlier.
  const index = history.findLastIndex((op) => op.op === 'get' && op.output !== null && 'value' in op.output);
  const target = history[index]!;
  const earlier = history.find(
    (op) => op.key === target.key && op.op === 'put' && op.output !== null && op.return! < target.call - 50,
  );
  assert.ok(earlier);
  const stale: HistoryOp[] = history.map((op, i) =>
    i === index ? { ...op, output: { found: true, value: earlier.input.value! } } : op,
  );
  const result = checkHistory(stale, { timeBudgetMsPerKey: 60_000 });
  assert.equal(result.verdict, 'not-linearizable');
  assert.equal(result.keys.filter((k) => k.verdict === 'not-linearizable').length, 1);
  assert.ok(result.elapsedMs < GENEROUS_BOUND_MS, `took ${result.elapsedMs} ms`);
});
