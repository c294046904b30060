import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import {
  CompareFailedError,
  InvalidArgumentError,
  InvalidTxnError,
  KeyTooLargeError,
  LeaseNotFoundError,
} from '../../src/client/errors.js';
import type { WatchBatch } from '../../src/client/types.js';
import { sleep, TestCluster } from '../support/test-cluster.js';
import { duringStableLeadership, metricSum, scrape } from './metrics.js';

/** Polls until `check` holds (generous bound: these are real processes on a shared machine). */
async function eventually(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

describe('the SDK against a real 3-node cluster', () => {
  let cluster: TestCluster;
  const clients: Client[] = [];
  const names = ['n1', 'n2', 'n3'];

  before(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
  });
  after(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await cluster?.stop();
  });

  function sdk(options: Partial<ConstructorParameters<typeof Client>[0]> = {}): Client {
    const c = new Client({ endpoints: cluster.endpoints(['n1']), retries: 6, ...options });
    clients.push(c);
    return c;
  }

  const nameOf = (origin: string | null) => names.find((n) => `http://${cluster.httpOf(n)}` === origin) ?? null;

  async function counters(name: string, labels: Record<string, string>): Promise<number[]> {
    return Promise.all(names.map(async (n) => metricSum(await scrape(cluster.httpOf(n)), name, labels)));
  }

  test('discovers every member from one endpoint and sends writes to the leader: nothing is forwarded', async () => {
    const { c, leader, forwardedBefore, forwardedAfter, puts } = await duringStableLeadership(
      cluster,
      async (leader) => {
        const c = sdk({ strategy: 'rr' });
        const endpoints = await c.discover();
        assert.deepEqual(endpoints.sort(), cluster.endpoints().sort());
        const forwardedBefore = await counters('cairn_http_forwarded_total', {});
        const putsBefore = await counters('cairn_http_requests_total', { route: '/v1/kv/*key', method: 'PUT' });
        for (let i = 0; i < 30; i++) await c.put(`sdk/w/${i}`, `v${i}`);
        const forwardedAfter = await counters('cairn_http_forwarded_total', {});
        const putsAfter = await counters('cairn_http_requests_total', { route: '/v1/kv/*key', method: 'PUT' });
        const puts = putsAfter.map((v, i) => v - putsBefore[i]!);
        return { c, leader, forwardedBefore, forwardedAfter, puts };
      },
    );
    assert.equal(c.stats().leader, leader);
    assert.deepEqual(forwardedAfter, forwardedBefore, 'no write was forwarded by a follower');
    assert.equal(puts[names.indexOf(leader)], 30, `the leader ${leader} served all 30 writes (${puts})`);

    // Linearizable reads go to every node (followers serve them with ReadIndex) and see the latest write.
    const getsBefore = await counters('cairn_http_requests_total', { route: '/v1/kv/*key', method: 'GET' });
    for (let i = 0; i < 30; i++) assert.equal((await c.get(`sdk/w/${i}`))?.text(), `v${i}`);
    const getsAfter = await counters('cairn_http_requests_total', { route: '/v1/kv/*key', method: 'GET' });
    assert.deepEqual(
      getsAfter.map((v, i) => v - getsBefore[i]!),
      [10, 10, 10],
      'round-robin spread the reads evenly',
    );
    const stats = c.stats().balancer;
    assert.equal(stats.hosts.length, 3);
    assert.ok(stats.hosts.every((h) => h.requests > 0 && h.ewmaMs !== null));
  });

  test('scan, txn, deleteRange and leases through the SDK', async () => {
    const c = sdk();
    await c.put('sdk/s/a', '1');
    await c.put('sdk/s/b', '2');
    const scan = await c.scan({ prefix: 'sdk/s/' });
    assert.deepEqual(
      scan.kvs.map((kv) => [kv.key, Buffer.from(kv.value).toString()]),
      [
        ['sdk/s/a', '1'],
        ['sdk/s/b', '2'],
      ],
    );
    const txn = await c.txn({
      compare: [{ key: 'sdk/s/a', target: 'value', op: '=', value: '1' }],
      success: [{ type: 'put', key: 'sdk/s/c', value: '3' }],
      failure: [],
    });
    assert.equal(txn.succeeded, true);
    assert.equal((await c.get('sdk/s/c'))?.text(), '3');
    assert.equal((await c.deleteRange({ prefix: 'sdk/s/' })).deleted, 3);

    const lease = await c.grantLease(2);
    await c.put('sdk/lease/k', 'v', { lease: lease.id });
    const keeper = c.keepLeaseAlive(lease.id);
    await sleep(2_500);
    assert.equal((await c.get('sdk/lease/k'))?.lease, lease.id, 'kept alive past its 2 s TTL');
    assert.ok((await c.listLeases()).some((l) => l.id === lease.id));
    assert.equal((await c.getLease(lease.id)).keys, 1);
    await c.revokeLease(lease.id);
    const ended = await keeper.done;
    assert.ok(ended instanceof LeaseNotFoundError, 'the keeper stops once the lease is gone');
    assert.equal(await c.get('sdk/lease/k'), null);
  });

  test('errors come back as their typed classes', async () => {
    const c = sdk();
    const first = await c.put('sdk/e/k', 'v1');
    await assert.rejects(c.put('sdk/e/k', 'v2', { ifVersion: 7 }), (e: unknown) => {
      return e instanceof CompareFailedError && e.status === 412 && e.surelyNotApplied;
    });
    await assert.rejects(c.del('sdk/e/k', { ifModRevision: first.revision + 1000 }), CompareFailedError);
    await assert.rejects(c.put('x'.repeat(5_000), 'v'), KeyTooLargeError);
    await assert.rejects(c.keepAlive(987_654_321), LeaseNotFoundError);
    await assert.rejects(c.get('sdk/e/k', { consistency: 'bogus' as never }), InvalidArgumentError);
    await assert.rejects(c.txn({ compare: 5 }), InvalidTxnError);
    assert.equal(await c.get('sdk/e/missing'), null, 'a missing key is null, not an error');
  });

  test('a watch resumes from its last revision on another node when its node is killed', async () => {
    const c = sdk();
    const batches: WatchBatch[] = [];
    const watch = c.watch({ prefix: 'sdk/watch/' }, (batch) => {
      batches.push(batch);
    });
    await eventually(() => watch.endpoint !== null, 'the watch to connect');
    const write = async (i: number) => {
      // Writes during a failover may be refused for a moment; the SDK retries, the test keeps trying.
      for (;;) {
        try {
          await c.put(`sdk/watch/${i}`, `v${i}`);
          return;
        } catch {
          await sleep(100);
        }
      }
    };
    for (let i = 0; i < 5; i++) await write(i);
    await eventually(() => batches.length === 5, 'the first five changes');
    const victim = nameOf(watch.endpoint);
    assert.ok(victim, `the watch runs on a cluster node (${watch.endpoint})`);
    await cluster.kill(victim);
    for (let i = 5; i < 10; i++) await write(i);
    await eventually(() => batches.length >= 10, 'the changes made after the kill');
    await sleep(200);
    const resumedOn = nameOf(watch.endpoint);
    watch.close();
    assert.equal(await watch.done, null);
    const keys = batches.flatMap((b) => b.events.map((e) => e.key));
    assert.deepEqual(
      keys,
      Array.from({ length: 10 }, (_, i) => `sdk/watch/${i}`),
      'every change exactly once, in order',
    );
    const revisions = batches.map((b) => b.revision);
    assert.ok(
      revisions.every((r, i) => i === 0 || r > revisions[i - 1]!),
      'revisions increase',
    );
    assert.ok(watch.reconnects >= 1);
    assert.ok(resumedOn !== null && resumedOn !== victim, `resumed on ${resumedOn}, not on ${victim}`);
  });
});
