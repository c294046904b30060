import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSeed, type SimOptions } from '../../src/sim/cluster-sim.js';
import { raftFactory } from '../../src/sim/engine-factory.js';

/**
 * Every seed that ever failed stays here, with the bug it exposed. A seed fixes the whole schedule only for a
 * given version of the simulator: when the simulator's schedule changes, re-derive these seeds by reverting the fix
 * and running `npm run sim` until it fails again (docs/raft.md, "Replaying a seed").
 */
const REGRESSIONS: { readonly options: SimOptions; readonly bug: string }[] = [
  ...[91, 99, 136].map((seed) => ({
    options: { seed, nodes: 3 },
    bug: 'a learner added after the last stored snapshot rejected it (not in its configuration): snapshots are sent fresh',
  })),
  ...[51, 92, 185].map((seed) => ({
    options: { seed, nodes: 5 },
    bug: 'a learner added after the last stored snapshot rejected it (not in its configuration): snapshots are sent fresh',
  })),
  ...[41].map((seed) => ({
    options: { seed, nodes: 3 },
    bug: 'a leader in replicate state never resent lost appends: heartbeat answers now trigger an (empty) append',
  })),
  ...[163].map((seed) => ({
    options: { seed, nodes: 5 },
    bug: 'a leader in replicate state never resent lost appends: heartbeat answers now trigger an (empty) append',
  })),
  ...[3, 6, 12].map((seed) => ({
    options: { seed, nodes: 3 },
    bug: 'a full in-flight window of lost appends paused a follower forever: a heartbeat answer frees one slot',
  })),
  ...[11, 14, 22].map((seed) => ({
    options: { seed, nodes: 5 },
    bug: 'a full in-flight window of lost appends paused a follower forever: a heartbeat answer frees one slot',
  })),
  ...[379, 517].map((seed) => ({
    options: { seed, nodes: 3 },
    bug: 'entries replaced while their Ready was outstanding were never handed out again (a gap in the stored log): entries count as in progress from ready() on',
  })),
];

describe('regression seeds', () => {
  for (const r of REGRESSIONS) {
    test(`seed ${r.options.seed} (${r.options.nodes} nodes): ${r.bug}`, () => {
      const result = runSeed(raftFactory(), r.options);
      assert.equal(result.ok, true, result.violation?.message);
    });
  }
});
