import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkHistory } from '../../src/check/check-history.js';
import type { HistoryOp } from '../../src/check/history.js';
import { generateHistory } from './history-generator.js';

const generatorOptions = fc.record({
  seed: fc.integer({ min: 1, max: 2 ** 31 - 1 }),
  ops: fc.integer({ min: 1, max: 400 }),
  clients: fc.integer({ min: 1, max: 12 }),
  keys: fc.integer({ min: 1, max: 4 }),
  unknownRate: fc.constantFrom(0, 0.02, 0.1, 0.3),
  conditionalRate: fc.constantFrom(0, 0.2, 0.5),
  valueDomain: fc.constantFrom(undefined, 3),
  recordVersions: fc.boolean(),
});

test('histories from a real register with random concurrent timings and lost answers are linearizable', () => {
  fc.assert(
    fc.property(generatorOptions, (options) => {
      const result = checkHistory(generateHistory(options), { timeBudgetMsPerKey: 60_000 });
      assert.equal(result.verdict, 'linearizable', JSON.stringify(result.keys.map((k) => [k.key, k.verdict])));
    }),
    { numRuns: 150, seed: 1234 },
  );
});

test('changing a completed read to a value never written makes the history not linearizable', () => {
  fc.assert(
    fc.property(generatorOptions, fc.nat(), (options, pick) => {
      const history = generateHistory(options);
      const reads = history.flatMap((op, i) => (op.op === 'get' && op.output !== null ? [i] : []));
      fc.pre(reads.length > 0);
      const target = reads[pick % reads.length]!;
      const corrupted: HistoryOp[] = history.map((op, i) =>
        i === target ? { ...op, output: { found: true, value: 'never-written' } } : op,
      );
      const result = checkHistory(corrupted, { timeBudgetMsPerKey: 60_000 });
      assert.equal(result.verdict, 'not-linearizable');
      const bad = result.keys.find((k) => k.verdict === 'not-linearizable');
      assert.equal(bad?.key, history[target]!.key, 'the corrupted key is the one reported');
      assert.ok(bad?.violation);
      // The search cannot get past the corrupted read: it is where the longest linearization stops.
      assert.equal(bad.violation.failedOp.id, history[target]!.id);
    }),
    { numRuns: 150, seed: 4321 },
  );
});

test('changing a completed read to a value overwritten before it began (a stale read) is refuted by the search', () => {
  fc.assert(
    fc.property(generatorOptions, fc.nat(), (options, pick) => {
      // Unique values, so that the stale value cannot have been written again.
      const history = generateHistory({ ...options, valueDomain: undefined });
      const overwrites = (w: HistoryOp): boolean =>
        w.output !== null &&
        ((w.op === 'put' && 'ok' in w.output && w.output.ok) ||
          (w.op === 'delete' && 'deleted' in w.output && w.output.deleted === 1));
      // A read R, a put P that returned before R was called, and a write W strictly between them.
      const candidates: [number, HistoryOp][] = [];
      history.forEach((r, i) => {
        if (r.op !== 'get' || r.output === null) return;
        for (const p of history) {
          if (p.key !== r.key || p.op !== 'put' || !overwrites(p) || p.return! >= r.call) continue;
          const between = history.some(
            (w) => w.key === r.key && overwrites(w) && w.call > p.return! && w.return! < r.call,
          );
          if (between) candidates.push([i, p]);
        }
      });
      fc.pre(candidates.length > 0);
      const [target, stalePut] = candidates[pick % candidates.length]!;
      const stale: HistoryOp[] = history.map((op, i) =>
        i === target ? { ...op, output: { found: true, value: stalePut.input.value! } } : op,
      );
      const result = checkHistory(stale, { timeBudgetMsPerKey: 60_000 });
      assert.equal(result.verdict, 'not-linearizable');
      assert.deepEqual(
        result.keys.filter((k) => k.verdict === 'not-linearizable').map((k) => k.key),
        [history[target]!.key],
      );
    }),
    { numRuns: 100, seed: 99 },
  );
});
