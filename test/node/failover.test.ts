import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { CairnError } from '../../src/client/errors.js';
import { sleep, TestCluster } from '../support/test-cluster.js';

describe('failures of real node processes', () => {
  const clusters: TestCluster[] = [];
  after(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
  });

  test('kill -9 of the leader under writes: a new leader within a few election timeouts, no acknowledged write lost', async () => {
    const cluster = await TestCluster.start({ nodes: 3 });
    clusters.push(cluster);
    const leader = await cluster.waitForLeader();
    const others = [...cluster.specs.keys()].filter((n) => n !== leader);
    const client = cluster.client(others);
    const acked = new Map<string, string>();
    let stop = false;
    const writers = Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; !stop; i++) {
        const key = `k/${w}/${i}`;
        try {
          await client.put(key, `v${i}`);
          acked.set(key, `v${i}`);
        } catch (error) {
          // An unknown outcome or a refusal during the failover is fine; an acknowledged write must survive.
          if (!(error instanceof CairnError)) throw error;
          await sleep(20);
        }
      }
    });
    let failoverMs: number;
    try {
      await sleep(500);
      const killedAt = Date.now();
      await cluster.kill(leader);
      const newLeader = await cluster.waitForLeader(10_000, others);
      failoverMs = Date.now() - killedAt;
      assert.notEqual(newLeader, leader);
      await sleep(500);
    } finally {
      stop = true;
      await Promise.all(writers);
    }
    // Election timeout is 10 ticks of 50 ms (randomized to 0.5-1 s): allow a few of them.
    assert.ok(failoverMs < 5_000, `failover took ${failoverMs} ms`);
    assert.ok(acked.size > 20, `${acked.size} writes acknowledged`);
    for (const [key, value] of acked)
      assert.equal((await client.get(key))?.text(), value, `acknowledged ${key} survived`);

    // The old leader comes back as a follower and catches up.
    await cluster.restart(leader);
    const back = cluster.client([leader]);
    const last = [...acked.keys()].at(-1)!;
    assert.equal((await back.get(last))?.text(), acked.get(last));
    await back.close();

    // Every node restarted: all data back.
    for (const name of [...cluster.specs.keys()]) await cluster.kill(name);
    for (const name of [...cluster.specs.keys()]) cluster.spawn(name, 'new');
    for (const name of [...cluster.specs.keys()]) await cluster.waitForHttp(name);
    await cluster.waitForLeader();
    const after = cluster.client();
    for (const [key, value] of acked)
      assert.equal((await after.get(key))?.text(), value, `${key} after a full restart`);
    await after.close();
    await client.close();
  });

  test('a watch resumes without gaps or duplicates after its node is killed', async () => {
    const cluster = await TestCluster.start({ nodes: 3 });
    clusters.push(cluster);
    const leader = await cluster.waitForLeader();
    const watched = [...cluster.specs.keys()].find((n) => n !== leader)!;
    const survivors = [...cluster.specs.keys()].filter((n) => n !== watched);
    // The watch starts on `watched`; when it dies, the client resumes on another node from the last revision.
    const watchClient = cluster.client([watched, ...survivors]);
    const revisions: number[] = [];
    const values: string[] = [];
    const w = watchClient.watch({ prefix: 'w/' }, (batch) => {
      revisions.push(batch.revision);
      for (const e of batch.events) values.push(Buffer.from(e.value).toString());
    });
    await sleep(300);
    const writer = cluster.client(survivors);
    const written: string[] = [];
    for (let i = 0; i < 30; i++) {
      await writer.put(`w/${i % 5}`, `v${i}`);
      written.push(`v${i}`);
      if (i === 10) await cluster.kill(watched);
    }
    const deadline = Date.now() + 10_000;
    while (values.length < written.length && Date.now() < deadline) await sleep(50);
    w.close();
    await w.done;
    assert.deepEqual(values, written, 'every change, once, in order');
    assert.ok(revisions.every((r, i) => i === 0 || r > revisions[i - 1]!));
    await writer.close();
    await watchClient.close();
  });
});
