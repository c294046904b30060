import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSeed, type SimOptions } from '../../src/sim/cluster-sim.js';
import { type EngineFactory, paxosFactory } from '../../src/sim/engine-factory.js';
import type { InvariantName } from '../../src/sim/invariants.js';
import { BROKEN_PAXOS_ENGINES } from './broken-engines.js';

/**
 * The simulator must be able to fail on Multi-Paxos too. Each deliberately broken engine runs seed after seed until
 * the simulator reports the violation its bug leads to; the same seed must pass with the correct engine, run with
 * the same options (so it is the bug that was caught, not a flaw of the simulation).
 */
const SAFETY: InvariantName[] = ['leader completeness', 'state machine safety', 'log matching'];

/** The first seed whose failure is a safety violation (a bug may also stall a run first: that is not the proof). */
function firstFailure(factory: EngineFactory, options: Omit<SimOptions, 'seed'>, maxSeeds: number) {
  for (let seed = 1; seed <= maxSeeds; seed++) {
    const r = runSeed(factory, { ...options, seed });
    if (!r.ok && SAFETY.includes(r.violation!.invariant)) {
      return { seed, invariant: r.violation!.invariant, message: r.violation!.message };
    }
  }
  return null;
}

const cases: {
  name: string;
  correct: EngineFactory;
  options: Omit<SimOptions, 'seed'>;
  maxSeeds: number;
}[] = [
  { name: 'ignores-promised-values', correct: paxosFactory(), options: { nodes: 3 }, maxSeeds: 100 },
  { name: 'commits-on-minority', correct: paxosFactory(), options: { nodes: 5 }, maxSeeds: 100 },
  {
    // A lower ballot's prepare must arrive after a higher one's: duelling proposers, which pre-prepare and
    // stickiness make rare, so this case runs without pre-prepare and on the stormy profile.
    name: 'promises-without-ballot-check',
    correct: paxosFactory({ preVote: false }),
    options: { nodes: 3, profile: 'stormy' },
    maxSeeds: 600,
  },
];

describe('the simulator catches deliberately broken Multi-Paxos engines', () => {
  for (const c of cases) {
    test(`${c.name} → ${SAFETY.join(' or ')}`, () => {
      const failure = firstFailure(BROKEN_PAXOS_ENGINES[c.name]!, c.options, c.maxSeeds);
      assert.ok(failure, `not caught within ${c.maxSeeds} seeds`);
      assert.ok(SAFETY.includes(failure.invariant), `caught as ${failure.invariant}: ${failure.message}`);
      const correct = runSeed(c.correct, { ...c.options, seed: failure.seed });
      assert.equal(
        correct.ok,
        true,
        `the correct engine fails seed ${failure.seed} too: ${correct.violation?.message}`,
      );
    });
  }
});
