import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import type { CairnError } from '../../src/client/errors.js';
import { sleep, TestCluster } from '../support/test-cluster.js';

describe('a Multi-Paxos cluster of real processes (cairn start --consensus paxos)', () => {
  const clusters: TestCluster[] = [];
  after(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
  });

  test('serves reads and writes on every node, survives kill -9 of the leader, catches a follower up by snapshot', async () => {
    const cluster = await TestCluster.start({
      nodes: 3,
      args: ['--consensus', 'paxos', '--snapshot-entries', '50', '--snapshot-keep-entries', '10'],
    });
    clusters.push(cluster);
    const status = await cluster.status('n1');
    assert.match((status as unknown as { clusterId: string }).clusterId ?? '', /-paxos$/);
    const c = cluster.client();
    for (let i = 0; i < 20; i++) await c.put(`p/${i}`, `v${i}`);
    for (const n of ['n1', 'n2', 'n3']) {
      const r = cluster.client([n]);
      assert.equal((await r.get('p/19'))?.text(), 'v19');
      await r.close();
    }
    await assert.rejects(c.put('p/0', 'x', { ifVersion: 5 }), (e: CairnError) => e.code === 'COMPARE_FAILED');
    const leader = await cluster.waitForLeader();
    const others = [...cluster.specs.keys()].filter((n) => n !== leader);
    await cluster.kill(leader);
    await cluster.waitForLeader(15_000, others);
    const survivors = cluster.client(others);
    for (let i = 20; i < 200; i++) await survivors.put(`p/${i % 60}`, `v${i}`);
    cluster.spawn(leader, 'new');
    await cluster.waitForHttp(leader);
    const back = cluster.client([leader]);
    let caughtUp = false;
    for (let i = 0; i < 100 && !caughtUp; i++) {
      caughtUp = (await back.get('p/19', { consistency: 'stale' }).catch(() => null))?.text() === 'v199';
      if (!caughtUp) await sleep(100);
    }
    assert.ok(caughtUp, 'the restarted node caught up (past the compacted log)');
    await back.close();
    await survivors.close();
    await c.close();
  });

  test('a node started with the other engine is refused with a clear reason', async () => {
    const cluster = await TestCluster.start({ nodes: 3, args: ['--cluster-id', 'mixed-test'] });
    clusters.push(cluster);
    // Its data directory remembers the engine: a Raft member restarted as Paxos refuses to start.
    await cluster.kill('n3');
    const refused = cluster.spawn('n3', 'new', ['--consensus', 'paxos']);
    const code = await new Promise<number | null>((r) => refused.once('exit', (c) => r(c)));
    assert.notEqual(code, 0);
    assert.match(cluster.logs.get('n3')!.join(''), /holds a raft cluster/);
    // A fresh Paxos node given the same cluster id meets Raft peers: both sides say why they do not talk.
    rmSync(join(cluster.dir, 'n3'), { recursive: true, force: true });
    cluster.spawn('n3', 'new', ['--consensus', 'paxos']);
    await cluster.waitForHttp('n3');
    let seen = false;
    for (let i = 0; i < 50 && !seen; i++) {
      const r = await request(`http://${cluster.httpOf('n1')}/v1/cluster/events`);
      const body = (await r.body.json()) as { events: { action: string; target?: string; reason: string }[] };
      seen = body.events.some((e) => e.action === 'engine-mismatch' && e.target === 'n3' && /paxos/.test(e.reason));
      if (!seen) await sleep(200);
    }
    assert.ok(seen, 'n1 reports that n3 runs another engine');
    // The Raft members keep serving.
    const c = cluster.client(['n1', 'n2']);
    await c.put('still', 'serving');
    assert.equal((await c.get('still'))?.text(), 'serving');
    await c.close();
  });
});
