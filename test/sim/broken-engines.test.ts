import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSeed, type SimOptions } from '../../src/sim/cluster-sim.js';
import { type EngineFactory, raftFactory } from '../../src/sim/engine-factory.js';
import type { InvariantName } from '../../src/sim/invariants.js';
import { BROKEN_ENGINES } from './broken-engines.js';

/**
 * The simulator must be able to fail. Each deliberately broken engine is run seed after seed until the simulator
 * reports the violation its bug leads to; the same seed must pass with the correct engine (so it is the bug that
 * was caught, not a flaw of the simulation).
 */
function firstFailure(factory: EngineFactory, options: Omit<SimOptions, 'seed'>, maxSeeds: number) {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = runSeed(factory, { ...options, seed });
    if (!r.ok) return { seed, invariant: r.violation!.invariant, message: r.violation!.message };
  }
  return null;
}

const cases: { name: string; expect: InvariantName[]; options: Omit<SimOptions, 'seed'>; maxSeeds: number }[] = [
  {
    name: 'votes-without-log-check',
    expect: ['leader completeness', 'state machine safety'],
    options: { nodes: 3 },
    maxSeeds: 200,
  },
  { name: 'votes-twice-per-term', expect: ['election safety'], options: { nodes: 5 }, maxSeeds: 300 },
  { name: 'lease-read-without-check-quorum', expect: ['read freshness'], options: { nodes: 3 }, maxSeeds: 200 },
  { name: 'lease-outlives-election-timeout', expect: ['read freshness'], options: { nodes: 5 }, maxSeeds: 400 },
  {
    // Figure 8 of the Raft paper needs short-lived leaders with divergent tails, and one-entry appends.
    name: 'commits-previous-term-entries',
    expect: ['leader completeness', 'state machine safety'],
    options: { nodes: 5, profile: 'stormy', tuning: { maxMessageBytes: 40, maxInflightMessages: 4, electionTicks: 4 } },
    maxSeeds: 1500,
  },
];

describe('the simulator catches deliberately broken engines', () => {
  for (const c of cases) {
    test(`${c.name} → ${c.expect.join(' or ')}`, () => {
      const failure = firstFailure(BROKEN_ENGINES[c.name]!, c.options, c.maxSeeds);
      assert.ok(failure, `not caught within ${c.maxSeeds} seeds`);
      assert.ok(c.expect.includes(failure.invariant), `caught as ${failure.invariant}: ${failure.message}`);
      const correct = runSeed(raftFactory(), { ...c.options, seed: failure.seed });
      assert.equal(
        correct.ok,
        true,
        `the correct engine fails seed ${failure.seed} too: ${correct.violation?.message}`,
      );
    });
  }
});
