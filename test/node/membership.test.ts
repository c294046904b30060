import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { CairnError } from '../../src/client/errors.js';
import { sleep, TestCluster } from '../support/test-cluster.js';

describe('membership and acknowledgement modes with real processes', () => {
  let cluster: TestCluster;
  after(async () => {
    await cluster?.stop();
  });

  test('a fourth node joins as a learner, catches up, is promoted, and a node is removed — under load', async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    const c = cluster.client(['n1', 'n2', 'n3']);
    let stop = false;
    let written = 0;
    const load = (async () => {
      for (let i = 0; !stop; i++) {
        try {
          await c.put(`m/${i % 20}`, `v${i}`);
          written++;
        } catch (error) {
          if (!(error instanceof CairnError)) throw error;
          await sleep(20);
        }
      }
    })();
    try {
      await joinPromoteRemove();
    } finally {
      stop = true;
      await load;
    }
    await c.close();

    async function joinPromoteRemove(): Promise<void> {
      for (let i = 0; i < 100; i++) await c.put(`pre/${i}`, 'x');
      const spec = cluster.addSpec();
      const added = await c.addMember(spec.name, `${spec.host}:${spec.peerPort}`, cluster.httpOf(spec.name));
      assert.deepEqual(added.learners, ['n4']);
      await assert.rejects(c.promoteMember('n4'), (e: CairnError) => e.code === 'LEARNER_NOT_READY');
      cluster.spawn('n4', 'existing');
      await cluster.waitForHttp('n4');
      let promoted = false;
      for (let i = 0; i < 100 && !promoted; i++) {
        try {
          await c.promoteMember('n4');
          promoted = true;
        } catch (error) {
          if (!(error instanceof CairnError) || error.code !== 'LEARNER_NOT_READY') throw error;
          await sleep(200);
        }
      }
      assert.ok(promoted, 'n4 caught up and was promoted');
      // The node answering status may apply the promotion a moment after the leader did.
      let role: string | undefined = 'learner';
      for (let i = 0; i < 50 && role === 'learner'; i++) {
        role = (await c.status()).members.find((m) => m.name === 'n4')?.role;
        if (role === 'learner') await sleep(100);
      }
      assert.notEqual(role, 'learner');
      const n4 = cluster.client(['n4']);
      assert.equal((await n4.get('pre/99'))?.text(), 'x', 'the new member holds the data');

      // Remove n1 (possibly the leader): the cluster of n2, n3, n4 keeps serving.
      const removed = await c.removeMember('n1');
      assert.deepEqual(removed.voters.sort(), ['n2', 'n3', 'n4']);
      await cluster.kill('n1');
      const rest = cluster.client(['n2', 'n3', 'n4']);
      await cluster.waitForLeader(15_000, ['n2', 'n3', 'n4']);
      const before = written;
      await sleep(800);
      assert.ok(written > before, 'writes kept succeeding after the removal');
      await rest.put('m/final', 'done');
      assert.equal((await n4.get('m/final'))?.text(), 'done');
      await n4.close();
      await rest.close();
    }
  });

  test('ack=leader answers once the leader holds the write; ack=all waits for every voter, then times out', async () => {
    const c = cluster.client(['n2', 'n3', 'n4']);
    const base = (n: string) => `http://${cluster.httpOf(n)}`;
    const leader = await cluster.waitForLeader(15_000, ['n2', 'n3', 'n4']);
    const r = await request(`${base(leader)}/v1/kv/ack/leader?ack=leader`, { method: 'PUT', body: 'L' });
    assert.equal(r.statusCode, 202);
    const body = (await r.body.json()) as { index: number; ack: string };
    assert.equal(body.ack, 'leader');
    assert.ok(body.index > 0);
    const all = await c.put('ack/all', 'A', { ack: 'all' });
    assert.ok(all.revision > 0, 'with every voter up, ack=all succeeds');
    const follower = ['n2', 'n3', 'n4'].find((n) => n !== leader)!;
    await cluster.kill(follower);
    const started = Date.now();
    const down = await request(`${base(leader)}/v1/kv/ack/all2?ack=all`, { method: 'PUT', body: 'B' });
    const answer = (await down.body.json()) as { error: { code: string } };
    assert.equal(down.statusCode, 504);
    assert.equal(answer.error.code, 'TIMEOUT');
    assert.ok(Date.now() - started >= 4000, 'waited for the request timeout');
    // The write itself was committed by the quorum.
    assert.equal((await c.get('ack/all2'))?.text(), 'B');
    await c.close();
  });
});
