import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { runSeed } from '../../src/sim/cluster-sim.js';
import { raftFactory } from '../../src/sim/engine-factory.js';

/** `npm test` runs a few hundred seeds; `npm run sim` runs as many as asked (20 000 per configuration in CI-like runs). */
const SEEDS_3 = 300;
const SEEDS_5 = 150;

function runRange(nodes: number, count: number, start: number) {
  const failures: string[] = [];
  let writes = 0;
  let reads = 0;
  let elections = 0;
  let snapshots = 0;
  for (let seed = start; seed < start + count; seed++) {
    const r = runSeed(raftFactory(), { seed, nodes });
    writes += r.stats.writesAcknowledged;
    reads += r.stats.readsServed;
    elections += r.stats.leaderElections;
    snapshots += r.stats.snapshotsInstalled;
    if (!r.ok) {
      failures.push(
        `seed ${seed}: ${r.violation!.message}\n  replay: npm run sim -- --engine raft --nodes ${nodes} --seeds 1 --start ${seed} --trace`,
      );
    }
  }
  return { failures, writes, reads, elections, snapshots };
}

describe('deterministic cluster simulation (Raft)', () => {
  test(`${SEEDS_3} seeds of a 3-node cluster under faults keep every invariant`, () => {
    const r = runRange(3, SEEDS_3, 1);
    assert.deepEqual(r.failures, []);
    // The runs did real work: a run that commits nothing would pass vacuously.
    assert.ok(r.writes > SEEDS_3 * 50, `${r.writes} writes acknowledged`);
    assert.ok(r.reads > SEEDS_3 * 30, `${r.reads} reads served`);
    assert.ok(r.elections > SEEDS_3, `${r.elections} elections`);
    assert.ok(r.snapshots > SEEDS_3 / 2, `${r.snapshots} snapshots installed`);
  });

  test(`${SEEDS_5} seeds of a 5-node cluster under faults keep every invariant`, () => {
    const r = runRange(5, SEEDS_5, 100_001);
    assert.deepEqual(r.failures, []);
    assert.ok(r.writes > SEEDS_5 * 50);
  });

  test('the same seed replays the same run', () => {
    const a = runSeed(raftFactory(), { seed: 42, nodes: 3 });
    const b = runSeed(raftFactory(), { seed: 42, nodes: 3 });
    assert.deepEqual(a.stats, b.stats);
    assert.deepEqual(a.trace, b.trace);
  });
});
