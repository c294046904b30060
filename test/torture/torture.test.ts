import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseFaultKinds } from '../../src/torture/fault-kinds.js';
import { runTorture } from '../../src/torture/harness.js';
import { liveChildCount } from '../../src/torture/process-registry.js';

/**
 * A short torture run in `npm test`: a real 3-node cluster behind the fault proxy, 6 clients for 30 s while a
 * fixed seed's schedule kills (the leader among others), pauses (longer than an election timeout, three times)
 * and partitions (bridge, isolated leader) — then heal, converge and check everything.
 *
 * Seed 21's schedule (see `planFaults`): kill-minority @1.5 s, pause-long @5.7 s, kill-leader @9.0 s,
 * pause-long @14.3 s, pause-long @17.6 s, bridge @20.2 s, isolate-leader @25.0 s. Before the fix of Raft-level
 * proposal forwarding (docs/testing.md, "Bugs found"), a paused leader that resumed with writes queued answered
 * some of them UNAVAILABLE although they were applied, and this run was NOT linearizable.
 */
const dir = mkdtempSync(join(tmpdir(), 'cairn-torture-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('kill + pause + partition for 30 s: linearizable, replicas identical, watches complete', async () => {
  const lines: string[] = [];
  const result = await runTorture(
    {
      nodes: 3,
      timeSeconds: 30,
      faults: parseFaultKinds('kill,pause,partition'),
      seed: 21,
      clients: 6,
      thinkMs: 5,
      keys: 4,
      keyRotationSeconds: 10,
      watchers: 3,
      runDir: join(dir, 'run'),
      progressSeconds: 0,
      healTimeoutSeconds: 60,
    },
    { log: (line) => lines.push(line) },
  );
  const context = () => `${result.verdictLine}\nfailures: ${result.failures.join('\n')}\n${lines.join('\n')}`;
  assert.equal(result.verdict, 'linearizable', context());
  assert.equal(result.passed, true);
  assert.match(result.verdictLine, /^VERDICT: linearizable \(/);

  // The faults happened: each family at least once, several in all.
  const applied = result.faults.filter((f) => f.applied);
  assert.ok(applied.length >= 4, context());
  for (const family of [/^kill-/, /^pause-/, /^(isolate|split|oneway|bridge)/]) {
    assert.ok(
      applied.some((f) => family.test(f.kind)),
      `a ${family} fault was applied\n${context()}`,
    );
  }
  // The workload did real work, and saw the faults (failed or unknown operations).
  assert.ok(result.ops.totals.ok > 500, context());
  assert.ok(result.ops.totals.failed + result.ops.totals.unknown > 0, context());
  assert.equal(result.check?.verdict, 'linearizable');
  assert.ok((result.check?.keys ?? 0) >= 4, 'several keys were checked');

  // Everything else that is checked after the run.
  assert.equal(result.replicas.verdict, 'identical', context());
  assert.equal(Object.keys(result.replicas.nodes).length, 3);
  assert.equal(result.watchers.length, 3);
  for (const w of result.watchers) {
    assert.ok(w.ok, `watcher ${w.id}: ${w.problems.join('; ')}`);
    assert.ok(w.received > 50, `watcher ${w.id} received ${w.received} batches`);
  }
  assert.ok(result.acknowledgedWrites.checked > 100);
  assert.deepEqual(result.acknowledgedWrites.problems, []);
  assert.equal(result.finalState.ok, true, result.finalState.detail);
  assert.deepEqual(result.crashes, []);

  // The run directory has what the docs promise, and the harness left no process behind.
  for (const file of ['history.jsonl', 'report.html', 'summary.json', 'harness.log', 'plan.json', 'command.txt']) {
    assert.ok(existsSync(join(result.runDir, file)), file);
  }
  assert.ok(existsSync(join(result.runDir, 'logs', 'n1.log')));
  assert.equal(existsSync(join(result.runDir, 'data')), false, 'data directories are deleted');
  assert.equal(liveChildCount(), 0);
});
