import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSeed, type SimOptions } from '../../src/sim/cluster-sim.js';
import { raftFactory } from '../../src/sim/engine-factory.js';

/**
 * Every seed that ever failed stays here, with the bug it exposed. A seed fixes the whole schedule only for a
 * given version of the simulator: when the simulator's schedule changes, re-derive these seeds by reverting the fix
 * and running `npm run sim` until it fails again (docs/raft.md, "Replaying a seed").
 */
const STALE_SNAPSHOT =
  'a learner added after the last stored snapshot rejected it (not in its configuration): snapshots are sent fresh';
const NO_EMPTY_APPEND =
  'a leader in replicate state never resent lost appends: heartbeat answers now trigger an (empty) append';
const FULL_WINDOW =
  'a full in-flight window of lost appends paused a follower forever: a heartbeat answer frees one slot';
const LATE_IN_PROGRESS =
  'entries replaced while their Ready was outstanding were never handed out again (a gap, or divergent applied state): entries count as in progress from ready() on';

const REGRESSIONS: { readonly options: SimOptions; readonly bug: string }[] = [
  ...[17, 53, 91].map((seed) => ({ options: { seed, nodes: 3 }, bug: STALE_SNAPSHOT })),
  ...[10, 36, 51].map((seed) => ({ options: { seed, nodes: 5 }, bug: STALE_SNAPSHOT })),
  ...[128, 303].map((seed) => ({ options: { seed, nodes: 3 }, bug: NO_EMPTY_APPEND })),
  ...[98, 163, 176].map((seed) => ({ options: { seed, nodes: 5 }, bug: NO_EMPTY_APPEND })),
  ...[3, 6, 22].map((seed) => ({ options: { seed, nodes: 3 }, bug: FULL_WINDOW })),
  ...[6, 12, 14].map((seed) => ({ options: { seed, nodes: 5 }, bug: FULL_WINDOW })),
  ...[211, 379, 967].map((seed) => ({ options: { seed, nodes: 3 }, bug: LATE_IN_PROGRESS })),
  ...[289, 939, 943].map((seed) => ({ options: { seed, nodes: 5 }, bug: LATE_IN_PROGRESS })),
];

describe('regression seeds', () => {
  for (const r of REGRESSIONS) {
    test(`seed ${r.options.seed} (${r.options.nodes} nodes): ${r.bug}`, () => {
      const result = runSeed(raftFactory(), r.options);
      assert.equal(result.ok, true, result.violation?.message);
    });
  }
});
