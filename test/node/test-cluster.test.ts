import assert from 'node:assert/strict';
import { test } from 'node:test';
import { liveNodeProcesses, TestCluster } from '../support/test-cluster.js';

// A CI run hung for 90 minutes: a cluster that failed to elect a leader inside TestCluster.start() was never
// stopped, and its node processes kept the test file's process (and so `node --test`) alive.
test('a cluster that fails to start is stopped, and the error says what each node did', async () => {
  const before = new Set(liveNodeProcesses());
  const error = await TestCluster.start({
    nodes: 3,
    // No node campaigns within the wait: an election timeout of 1,000 ticks of 50 ms.
    args: ['--election-ticks', '1000'],
    leaderTimeoutMs: 3000,
  }).then(
    () => assert.fail('the cluster elected a leader'),
    (e: unknown) => e as Error,
  );
  assert.match(error.message, /no agreed leader among n1,n2,n3/);
  assert.match(error.message, /last answers: n1: leader null/);
  assert.match(error.message, /--- n3: /);
  const leftover = liveNodeProcesses().filter((p) => !before.has(p));
  assert.deepEqual(leftover, [], 'node processes still running after the failed start');
});
