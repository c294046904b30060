import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseFaultKinds } from '../../src/torture/fault-kinds.js';
import { runTorture } from '../../src/torture/harness.js';
import { liveChildCount } from '../../src/torture/process-registry.js';

/**
 * The same harness on a Multi-Paxos cluster (issue 8: the node, storage, API and torture harness run unchanged
 * on either engine): 30 s with every fault kind on a fixed seed, then heal, converge and check everything.
 */
const dir = mkdtempSync(join(tmpdir(), 'cairn-torture-paxos-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('Multi-Paxos, every fault kind for 30 s: linearizable, replicas identical, watches complete', async () => {
  const lines: string[] = [];
  const result = await runTorture(
    {
      nodes: 3,
      consensus: 'paxos',
      timeSeconds: 30,
      faults: parseFaultKinds('all'),
      seed: 8,
      clients: 6,
      thinkMs: 5,
      keys: 4,
      keyRotationSeconds: 10,
      watchers: 2,
      runDir: join(dir, 'run'),
      deleteRunDirOnPass: true,
      progressSeconds: 0,
      healTimeoutSeconds: 60,
    },
    { log: (line) => lines.push(line) },
  );
  const context = () => `${result.verdictLine}\nfailures: ${result.failures.join('\n')}\n${lines.join('\n')}`;
  assert.equal(result.verdict, 'linearizable', context());
  assert.equal(result.passed, true, context());
  assert.ok(
    lines.some((l) => l.includes('paxos cluster of 3 up')),
    'the nodes ran Multi-Paxos',
  );
  assert.ok(result.faults.filter((f) => f.applied).length >= 4, context());
  assert.ok(result.ops.totals.ok > 300, context());
  assert.equal(result.replicas.verdict, 'identical', context());
  for (const w of result.watchers) assert.ok(w.ok, `watcher ${w.id}: ${w.problems.join('; ')}`);
  assert.deepEqual(result.acknowledgedWrites.problems, []);
  assert.deepEqual(result.crashes, []);
  assert.equal(liveChildCount(), 0);
});
