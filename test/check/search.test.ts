import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { checkHistory } from '../../src/check/check-history.js';
import { depthFirstSearch } from '../../src/check/depth-first-search.js';
import { frontierSearch } from '../../src/check/frontier-search.js';
import type { HistoryOp } from '../../src/check/history.js';
import { compileKvPartition } from '../../src/check/kv-model.js';
import { applyKvOp, type KvState } from '../../src/check/kv-register.js';
import { NO_STEP } from '../../src/check/partition-problem.js';
import { tinyHistory } from './arbitraries.js';
import { bruteForceLinearizable } from './brute-force.js';
import { generateHistory } from './history-generator.js';

const unlimited = { deadline: Number.POSITIVE_INFINITY, maxConfigurations: 10_000_000, now: () => 0 };

function verdictOf(kind: string): boolean {
  assert.notEqual(kind, 'gave-up');
  return kind === 'linearizable';
}

test('both searches agree with brute force on tiny histories with arbitrary answers', () => {
  fc.assert(
    fc.property(tinyHistory(7), (ops) => {
      const expected = bruteForceLinearizable(ops);
      const problem = compileKvPartition(ops, null);
      assert.equal(verdictOf(depthFirstSearch(problem, unlimited).kind), expected, 'depth-first');
      assert.equal(verdictOf(frontierSearch(problem, unlimited).kind), expected, 'frontier');
      assert.equal(checkHistory(ops).verdict, expected ? 'linearizable' : 'not-linearizable', 'checkHistory');
    }),
    { numRuns: 3000, seed: 20240601 },
  );
});

test('both searches agree with brute force when most writes have unknown outcomes and unobserved values', () => {
  fc.assert(
    fc.property(tinyHistory(9, 60, true), (ops) => {
      const expected = bruteForceLinearizable(ops);
      const problem = compileKvPartition(ops, null);
      assert.equal(verdictOf(depthFirstSearch(problem, unlimited).kind), expected, 'depth-first');
      assert.equal(verdictOf(frontierSearch(problem, unlimited).kind), expected, 'frontier');
    }),
    { numRuns: 2000, seed: 5 },
  );
});

test('both searches agree with brute force from a non-empty initial state', () => {
  const initial: KvState = { value: 'a', version: 2 };
  fc.assert(
    fc.property(tinyHistory(6), (ops) => {
      const expected = bruteForceLinearizable(ops, initial);
      const problem = compileKvPartition(ops, initial);
      assert.equal(verdictOf(depthFirstSearch(problem, unlimited).kind), expected, 'depth-first');
      assert.equal(verdictOf(frontierSearch(problem, unlimited).kind), expected, 'frontier');
    }),
    { numRuns: 500, seed: 7 },
  );
});

test('both searches accept small generated histories, which brute force confirms are linearizable', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 1_000_000 }),
      fc.integer({ min: 1, max: 10 }),
      fc.integer({ min: 1, max: 4 }),
      (seed, ops, clients) => {
        const history = generateHistory({
          seed,
          ops,
          clients,
          keys: 1,
          unknownRate: 0.3,
          conditionalRate: 0.4,
          valueDomain: 2,
        });
        assert.ok(bruteForceLinearizable(history), 'the generator must produce linearizable histories');
        const problem = compileKvPartition(history, null);
        assert.equal(depthFirstSearch(problem, unlimited).kind, 'linearizable');
        assert.equal(frontierSearch(problem, unlimited).kind, 'linearizable');
      },
    ),
    { numRuns: 300, seed: 99 },
  );
});

test('the compiled model takes exactly the steps of the readable model', () => {
  // Every state reachable with values a/b and versions 1..4, against every operation of a tiny history.
  const states: KvState[] = [null];
  for (const value of ['a', 'b', 'c']) for (let version = 1; version <= 4; version++) states.push({ value, version });
  fc.assert(
    fc.property(tinyHistory(6), (ops) => {
      // Reads of 'a' and 'b' make those values observed; 'c' is only ever written or never seen.
      const withReads: HistoryOp[] = [
        ...ops,
        {
          id: 'ra',
          clientId: 9,
          key: 'k',
          op: 'get',
          input: {},
          call: 100,
          return: 101,
          output: { found: true, value: 'a' },
        },
        {
          id: 'rb',
          clientId: 9,
          key: 'k',
          op: 'get',
          input: {},
          call: 100,
          return: 101,
          output: { found: true, value: 'b' },
        },
      ];
      for (const initial of states) {
        const problem = compileKvPartition(withReads, initial);
        // Replay the reference model and the compiled one side by side from `initial`, op by op.
        for (let i = 0; i < problem.ops.length; i++) {
          const op = problem.ops[i]!;
          const reference = applyKvOp(initial, op);
          const compiled = problem.step(problem.initialState, i);
          if (!reference.legal) {
            assert.equal(compiled, NO_STEP, `op ${String(op.id)} from ${JSON.stringify(initial)}`);
          } else if (op.output === null && JSON.stringify(reference.next) === JSON.stringify(initial)) {
            // An unknown outcome with no effect is pruned: never linearizing it is equivalent.
            assert.equal(compiled, NO_STEP);
          } else {
            assert.notEqual(compiled, NO_STEP, `op ${String(op.id)} from ${JSON.stringify(initial)}`);
            const again = compileKvPartition(withReads, reference.next);
            assert.equal(compiled, again.initialState, `op ${String(op.id)} from ${JSON.stringify(initial)}`);
          }
        }
      }
    }),
    { numRuns: 200, seed: 3 },
  );
});

/** Changes one known answer of a history to another plausible one (a different value, version or count). */
function mutateOne(history: readonly HistoryOp[], pick: number, variant: number): HistoryOp[] {
  const known = history.map((op, i) => [op, i] as const).filter(([op]) => op.output !== null);
  if (known.length === 0) return [...history];
  const [op, index] = known[pick % known.length]!;
  const out = op.output as Record<string, unknown>;
  let output: HistoryOp['output'];
  if (out['ok'] === false) {
    output = op.op === 'put' ? { ok: true } : { deleted: 0 };
  } else if (op.op === 'get') {
    output =
      out['found'] === true
        ? variant % 2 === 0
          ? { found: false }
          : { found: true, value: String(out['value']), version: Number(out['version'] ?? 1) + 1 }
        : { found: true, value: 'v0', version: 1 };
  } else if (op.op === 'put') {
    output = { ok: true, version: Number(out['version'] ?? 1) + (variant % 2 === 0 ? 1 : -1) || 2 };
  } else {
    output = { deleted: out['deleted'] === 1 ? 0 : 1 };
  }
  return history.map((o, i) => (i === index ? { ...o, output } : o));
}

test('depth-first and frontier searches agree on medium histories, intact or with one answer changed', () => {
  fc.assert(
    fc.property(
      fc.record({
        seed: fc.integer({ min: 1, max: 1_000_000 }),
        ops: fc.integer({ min: 20, max: 150 }),
        clients: fc.integer({ min: 2, max: 6 }),
        unknownRate: fc.constantFrom(0, 0.05, 0.2),
        valueDomain: fc.constantFrom(undefined, 2, 4),
        recordVersions: fc.boolean(),
        mutate: fc.boolean(),
        pick: fc.nat(),
        variant: fc.nat(),
      }),
      (p) => {
        const generated = generateHistory({ ...p, keys: 1, conditionalRate: 0.3 });
        const history = p.mutate ? mutateOne(generated, p.pick, p.variant) : generated;
        const problem = compileKvPartition(history, null);
        const dfs = depthFirstSearch(problem, unlimited).kind;
        const frontier = frontierSearch(problem, unlimited).kind;
        assert.equal(dfs, frontier);
        if (!p.mutate) assert.equal(dfs, 'linearizable');
      },
    ),
    { numRuns: 250, seed: 11 },
  );
});
