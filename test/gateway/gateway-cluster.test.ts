import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { Client } from '../../src/client/client.js';
import { CompareFailedError, LeaseNotFoundError } from '../../src/client/errors.js';
import type { WatchBatch } from '../../src/client/types.js';
import { Gateway } from '../../src/gateway/gateway.js';
import type { GatewayStatus } from '../../src/gateway/status.js';
import { duringStableLeadership, metricSum, scrape } from '../client/metrics.js';
import { sleep, TestCluster } from '../support/test-cluster.js';

async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(25);
  }
}

describe('the gateway in front of a real 3-node cluster', () => {
  let cluster: TestCluster;
  let gateway: Gateway;
  let url: string;
  let client: Client;
  const names = ['n1', 'n2', 'n3'];

  before(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
    await cluster.waitForLeader();
    gateway = new Gateway({
      endpoints: cluster.endpoints(['n1']),
      health: { intervalMs: 200, timeoutMs: 500 },
      discoveryIntervalMs: 500,
    });
    const address = await gateway.listen('127.0.0.1', 0);
    url = `http://127.0.0.1:${address.port}`;
    client = new Client({ endpoints: [url], retries: 6 });
  });
  after(async () => {
    await client?.close();
    await gateway?.close();
    await cluster?.stop();
  });

  async function status(): Promise<GatewayStatus> {
    const r = await request(`${url}/gateway/status`);
    return (await r.body.json()) as GatewayStatus;
  }

  test('the SDK pointed at the gateway stays on it', async () => {
    assert.deepEqual(await client.discover(), [url]);
    assert.equal(client.stats().viaGateway, true);
  });

  test('KV API through the gateway: put, get, del, scan, txn', async () => {
    const put = await client.put('gw/a', 'alpha');
    assert.equal(put.version, 1);
    assert.equal((await client.get('gw/a'))?.text(), 'alpha');
    assert.equal((await client.get('gw/a', { consistency: 'lease' }))?.modRevision, put.revision);
    await assert.rejects(client.put('gw/a', 'x', { ifVersion: 5 }), CompareFailedError);
    await client.put('gw/b', Buffer.from([0, 1, 2, 255]));
    assert.deepEqual([...(await client.get('gw/b'))!.value], [0, 1, 2, 255], 'binary values pass untouched');
    const scan = await client.scan({ prefix: 'gw/' });
    assert.deepEqual(
      scan.kvs.map((kv) => kv.key),
      ['gw/a', 'gw/b'],
    );
    const txn = await client.txn({
      compare: [{ key: 'gw/a', target: 'version', op: '=', value: 1 }],
      success: [
        { type: 'put', key: 'gw/c', value: 'gamma' },
        { type: 'get', key: 'gw/a' },
      ],
      failure: [],
    });
    assert.equal(txn.succeeded, true);
    assert.equal((await client.del('gw/b')).deleted, 1);
    assert.equal(await client.get('gw/b'), null);
    const raw = await client.request('GET', '/v1/kv/gw/c');
    assert.equal(raw.headers['cairn-gateway'], '1');
    assert.ok(names.includes(String(raw.headers['cairn-backend'])), 'answers name the backend that served them');
  });

  test('leases through the gateway', async () => {
    const lease = await client.grantLease(30);
    await client.put('gw/lease/k', 'v', { lease: lease.id });
    assert.equal((await client.keepAlive(lease.id)).ttlSeconds, 30);
    assert.ok((await client.listLeases()).some((l) => l.id === lease.id));
    assert.equal((await client.revokeLease(lease.id)).deleted, 1);
    assert.equal(await client.get('gw/lease/k'), null);
    await assert.rejects(client.keepAlive(lease.id), LeaseNotFoundError);
  });

  test('/gateway/status: every member as a backend, the leader, and writes sent to it (nothing forwarded)', async () => {
    const leader = await cluster.waitForLeader();
    await eventually(async () => (await status()).leader?.name === leader, 'the gateway to see the leader');
    const st = await status();
    assert.equal(st.strategy, 'least-time');
    assert.equal(st.leader?.name, leader);
    assert.equal(st.backends.length, 3);
    assert.deepEqual(st.backends.map((b) => b.name).sort(), names);
    for (const b of st.backends) {
      assert.equal(b.address, `http://${cluster.httpOf(b.name)}`);
      assert.equal(b.role, b.name === leader ? 'leader' : 'follower');
      assert.ok(['healthy', 'unknown'].includes(b.state));
      assert.equal(typeof b.pending, 'number');
      assert.equal(typeof b.share, 'number');
      assert.ok(b.ewmaMs === null || b.ewmaMs >= 0);
      assert.equal(typeof b.streams, 'number');
    }
    assert.equal(typeof st.requests.total, 'number');
    assert.equal(st.discovery.enabled, true);

    const forwarded = async () => {
      let sum = 0;
      for (const n of names) sum += metricSum(await scrape(cluster.httpOf(n)), 'cairn_http_forwarded_total');
      return sum;
    };
    const counts = await duringStableLeadership(cluster, async (current) => {
      await eventually(async () => (await status()).leader?.name === current, 'the gateway to see the leader');
      const before = await forwarded();
      for (let i = 0; i < 20; i++) await client.put(`gw/leader/${i}`, 'v');
      return { before, after: await forwarded() };
    });
    assert.equal(counts.after, counts.before, 'the gateway sent every write to the leader itself');
  });

  test('a watch survives the kill of its backend; the dead backend is taken out and traffic moves', async () => {
    const batches: WatchBatch[] = [];
    const watch = client.watch({ prefix: 'gw/watch/' }, (batch) => {
      batches.push(batch);
    });
    let victim = '';
    await eventually(async () => {
      const st = await status();
      const streaming = st.backends.find((b) => b.streams === 1);
      victim = streaming?.name ?? '';
      return victim !== '';
    }, 'the watch stream to open');
    const write = async (i: number) => {
      for (;;) {
        try {
          await client.put(`gw/watch/${i}`, `v${i}`);
          return;
        } catch {
          await sleep(100);
        }
      }
    };
    for (let i = 0; i < 5; i++) await write(i);
    await eventually(() => batches.length === 5, 'the first changes');

    await cluster.kill(victim);
    for (let i = 5; i < 10; i++) await write(i);
    await eventually(() => batches.length >= 10, 'the changes after the kill');
    await eventually(
      async () => (await status()).backends.some((b) => b.name !== victim && b.streams === 1),
      'resumed',
    );

    // The dead backend: no longer serving (active checks or ejection), and reads go elsewhere.
    await eventually(async () => {
      const dead = (await status()).backends.find((b) => b.name === victim)!;
      return !dead.serving;
    }, 'the dead backend to be taken out');
    const st = await status();
    const dead = st.backends.find((b) => b.name === victim)!;
    assert.ok(['unhealthy', 'ejected'].includes(dead.state), `state ${dead.state}`);
    const before = new Map(st.backends.map((b) => [b.name, b.requests]));
    for (let i = 0; i < 30; i++) assert.equal((await client.get('gw/watch/0'))?.text(), 'v0');
    const afterwards = await status();
    for (const b of afterwards.backends) {
      const grew = b.requests - before.get(b.name)!;
      if (b.name === victim) assert.equal(grew, 0, 'no traffic to the dead backend');
    }
    const served = afterwards.backends.filter((b) => b.name !== victim).map((b) => b.requests - before.get(b.name)!);
    assert.ok(served.reduce((a, b) => a + b, 0) >= 30, `the live backends took the reads (${served})`);
    assert.equal(afterwards.backends.find((b) => b.name === victim)!.share < 0.5, true);

    watch.close();
    await watch.done;
    assert.deepEqual(
      batches.flatMap((b) => b.events.map((e) => e.key)),
      Array.from({ length: 10 }, (_, i) => `gw/watch/${i}`),
      'every change exactly once, in order, across the kill',
    );
  });
});
