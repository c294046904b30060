import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { sleep, TestCluster } from '../support/test-cluster.js';

describe('log compaction with real processes', () => {
  let cluster: TestCluster;
  after(async () => {
    await cluster?.stop();
  });

  test('a follower down past log compaction catches up by snapshot', async () => {
    cluster = await TestCluster.start({
      nodes: 3,
      args: ['--snapshot-entries', '50', '--snapshot-keep-entries', '10'],
    });
    const leader = await cluster.waitForLeader();
    const victim = [...cluster.specs.keys()].find((n) => n !== leader)!;
    const live = [...cluster.specs.keys()].filter((n) => n !== victim);
    await cluster.kill(victim);
    const c = cluster.client(live);
    for (let i = 0; i < 300; i++) await c.put(`snap/${i % 40}`, `v${i}`);
    const lease = await c.grantLease(600);
    await c.put('snap/leased', 'x', { lease: lease.id });
    await sleep(500); // let compaction run on the survivors
    cluster.spawn(victim, 'new');
    await cluster.waitForHttp(victim);
    const v = cluster.client([victim]);
    const deadline = Date.now() + 15_000;
    let status = await cluster.status(victim);
    const target = (await cluster.status(leader)).applied;
    while (status.applied < target && Date.now() < deadline) {
      await sleep(100);
      status = await cluster.status(victim);
    }
    assert.ok(status.applied >= target, `caught up: ${status.applied} of ${target}`);
    for (let i = 260; i < 300; i++)
      assert.equal((await v.get(`snap/${i % 40}`, { consistency: 'stale' }))?.text(), `v${i}`);
    assert.equal(
      (await v.get('snap/leased', { consistency: 'stale' }))?.lease,
      lease.id,
      'leases travel with the snapshot',
    );
    const log = cluster.logs.get(leader)!.join('') + cluster.logs.get(live.find((n) => n !== leader)!)!.join('');
    void log;
    // After catching up, it keeps up by the log.
    await c.put('snap/after', 'yes');
    await sleep(300);
    assert.equal((await v.get('snap/after'))?.text(), 'yes');
    await v.close();
    await c.close();
  });
});
