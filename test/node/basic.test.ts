import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import type { CairnError } from '../../src/client/errors.js';
import { TestCluster } from '../support/test-cluster.js';

describe('a 3-node cluster of real processes', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('a write on any node is readable on every node, linearizably and as a stale read', async () => {
    for (const writer of ['n1', 'n2', 'n3']) {
      const c = cluster.client([writer]);
      const key = `from-${writer}`;
      const put = await c.put(key, `value-${writer}`);
      assert.ok(put.revision > 0);
      assert.equal(put.version, 1);
      await c.close();
      for (const reader of ['n1', 'n2', 'n3']) {
        const r = cluster.client([reader]);
        const got = await r.get(key);
        assert.equal(got?.text(), `value-${writer}`, `${reader} reads ${writer}'s write`);
        assert.equal(got?.version, 1);
        assert.equal(got?.modRevision, put.revision);
        await r.close();
      }
    }
    // A stale read may lag, but eventually every node has it.
    const stale = cluster.client(['n3']);
    for (let i = 0; i < 50; i++) {
      if ((await stale.get('from-n1', { consistency: 'stale' }))?.text() === 'value-n1') break;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal((await stale.get('from-n1', { consistency: 'stale' }))?.text(), 'value-n1');
    assert.equal((await stale.get('from-n1', { consistency: 'lease' }))?.text(), 'value-n1');
    await stale.close();
  });

  test('versions, conditional writes, deletes and scans', async () => {
    const c = cluster.client();
    const a = await c.put('cond/a', 'v1');
    const b = await c.put('cond/a', 'v2');
    assert.equal(b.version, 2);
    assert.equal(b.revision, a.revision + 1);
    await assert.rejects(
      c.put('cond/a', 'v3', { ifVersion: 1 }),
      (e: CairnError) => e.code === 'COMPARE_FAILED' && e.status === 412,
    );
    assert.equal((await c.put('cond/a', 'v3', { ifVersion: 2 })).version, 3);
    await assert.rejects(c.put('cond/a', 'x', { ifVersion: 0 }), (e: CairnError) => e.code === 'COMPARE_FAILED');
    assert.equal((await c.put('cond/new', 'x', { ifVersion: 0 })).version, 1);
    await assert.rejects(
      c.put('cond/a', 'x', { ifModRevision: a.revision }),
      (e: CairnError) => e.code === 'COMPARE_FAILED',
    );
    await c.put('cond/b', 'vb');
    const scan = await c.scan({ prefix: 'cond/' });
    assert.deepEqual(
      scan.kvs.map((kv) => kv.key),
      ['cond/a', 'cond/b', 'cond/new'],
    );
    assert.equal(Buffer.from(scan.kvs[0]!.value).toString(), 'v3');
    const limited = await c.scan({ prefix: 'cond/', limit: 2 });
    assert.equal(limited.kvs.length, 2);
    assert.equal(limited.more, true);
    assert.equal(limited.nextStart, 'cond/new');
    const del = await c.del('cond/b');
    assert.equal(del.deleted, 1);
    assert.equal(await c.get('cond/b'), null);
    assert.equal((await c.del('cond/b')).deleted, 0);
    await assert.rejects(c.del('cond/a', { ifVersion: 99 }), (e: CairnError) => e.code === 'COMPARE_FAILED');
    await c.close();
  });

  test('transactions are atomic: compare, then success or failure branch', async () => {
    const c = cluster.client();
    await c.put('txn/x', '1');
    const ok = (await c.txn({
      compare: [{ key: 'txn/x', target: 'value', op: '=', value: '1' }],
      success: [
        { type: 'put', key: 'txn/x', value: '2' },
        { type: 'put', key: 'txn/y', value: 'y' },
        { type: 'get', key: 'txn/x' },
      ],
      failure: [{ type: 'put', key: 'txn/failed', value: 'yes' }],
    })) as { succeeded: boolean; revision: number; responses: { type: string; kv?: { value: string } }[] };
    assert.equal(ok.succeeded, true);
    assert.equal(Buffer.from(ok.responses[2]!.kv!.value, 'base64').toString(), '2', 'ops see earlier writes');
    const x = await c.get('txn/x');
    const y = await c.get('txn/y');
    assert.equal(x?.modRevision, y?.modRevision, 'one revision for the whole transaction');
    const failed = (await c.txn({
      compare: [{ key: 'txn/x', target: 'version', op: '=', value: 1 }],
      success: [{ type: 'put', key: 'txn/x', value: 'never' }],
      failure: [{ type: 'put', key: 'txn/failed', value: 'yes' }],
    })) as { succeeded: boolean };
    assert.equal(failed.succeeded, false);
    assert.equal((await c.get('txn/failed'))?.text(), 'yes');
    assert.equal((await c.get('txn/x'))?.text(), '2');
    await c.close();
  });

  test('leases: keys die with their lease; keep-alive extends it; revoke deletes at once', async () => {
    const c = cluster.client();
    const lease = await c.grantLease(2);
    await c.put('lease/a', 'a', { lease: lease.id });
    assert.equal((await c.get('lease/a'))?.lease, lease.id);
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setTimeout(r, 700));
      await c.keepAlive(lease.id);
    }
    assert.equal((await c.get('lease/a'))?.text(), 'a', 'kept alive past its TTL');
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline && (await c.get('lease/a')) !== null) await new Promise((r) => setTimeout(r, 200));
    assert.equal(await c.get('lease/a'), null, 'expired once keep-alives stopped');
    await assert.rejects(c.keepAlive(lease.id), (e: CairnError) => e.code === 'LEASE_NOT_FOUND');
    const l2 = await c.grantLease(60);
    await c.put('lease/b', 'b', { lease: l2.id });
    const revoked = await c.revokeLease(l2.id);
    assert.equal(revoked.deleted, 1);
    assert.equal(await c.get('lease/b'), null);
    await assert.rejects(c.put('lease/c', 'c', { lease: 424242 }), (e: CairnError) => e.code === 'LEASE_NOT_FOUND');
    await c.close();
  });

  test('a watch delivers every change in revision order, and resumes from a revision', async () => {
    const c = cluster.client(['n2']);
    const seen: { revision: number; key: string; type: string }[] = [];
    const w = c.watch({ prefix: 'watch/' }, (batch) => {
      for (const e of batch.events) seen.push({ revision: batch.revision, key: e.key, type: e.type });
    });
    await new Promise((r) => setTimeout(r, 300));
    const writer = cluster.client(['n1']);
    const first = await writer.put('watch/a', '1');
    await writer.put('watch/b', '2');
    await writer.put('other/x', 'not watched');
    await writer.del('watch/a');
    const deadline = Date.now() + 5000;
    while (seen.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    w.close();
    await w.done;
    assert.deepEqual(
      seen.map((e) => [e.key, e.type]),
      [
        ['watch/a', 'put'],
        ['watch/b', 'put'],
        ['watch/a', 'delete'],
      ],
    );
    assert.ok(seen.every((e, i) => i === 0 || e.revision > seen[i - 1]!.revision));
    // Replaying from the first revision on another node gives the same history.
    const replay: number[] = [];
    const w2 = cluster.client(['n3']).watch({ prefix: 'watch/', fromRevision: first.revision }, (b) => {
      replay.push(b.revision);
    });
    const d2 = Date.now() + 5000;
    while (replay.length < 3 && Date.now() < d2) await new Promise((r) => setTimeout(r, 50));
    w2.close();
    assert.deepEqual(
      replay,
      seen.map((e) => e.revision),
    );
    await writer.close();
    await c.close();
  });

  test('bad input gets the documented error and the node keeps serving', async () => {
    const base = `http://${cluster.httpOf('n1')}`;
    const call = async (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) => {
      const r = await request(`${base}${path}`, { method: method as 'GET', body, headers });
      const text = await r.body.text();
      return {
        status: r.statusCode,
        code: text.startsWith('{') ? (JSON.parse(text).error?.code as string) : undefined,
      };
    };
    assert.deepEqual(await call('PUT', `/v1/kv/${'k'.repeat(5000)}`, 'v'), { status: 413, code: 'KEY_TOO_LARGE' });
    assert.deepEqual(await call('PUT', '/v1/kv/big', Buffer.alloc(1024 * 1024 + 1)), {
      status: 413,
      code: 'VALUE_TOO_LARGE',
    });
    assert.deepEqual(await call('POST', '/v1/txn', '{not json'), { status: 400, code: 'INVALID_JSON' });
    assert.deepEqual(await call('POST', '/v1/txn', '{"compare":[{"key":"a","target":"nope","op":"=","value":1}]}'), {
      status: 400,
      code: 'INVALID_TXN',
    });
    const tooMany = JSON.stringify({
      success: Array.from({ length: 129 }, (_, i) => ({ type: 'put', key: `t${i}`, value: 'v' })),
    });
    assert.deepEqual(await call('POST', '/v1/txn', tooMany), { status: 413, code: 'TXN_TOO_LARGE' });
    assert.deepEqual(await call('GET', '/v1/nowhere'), { status: 404, code: 'ROUTE_NOT_FOUND' });
    assert.deepEqual(await call('PATCH', '/v1/kv/a'), { status: 405, code: 'METHOD_NOT_ALLOWED' });
    assert.deepEqual(await call('POST', '/v1/leases', '{"ttlSeconds":-3}'), { status: 400, code: 'INVALID_LEASE_TTL' });
    assert.deepEqual(await call('POST', '/v1/leases/abc/keepalive'), { status: 400, code: 'INVALID_ARGUMENT' });
    assert.deepEqual(await call('GET', '/v1/kv/a?consistency=sometimes'), { status: 400, code: 'INVALID_ARGUMENT' });
    assert.deepEqual(await call('PUT', '/v1/kv/a?ifVersion=-1', 'v'), { status: 400, code: 'INVALID_ARGUMENT' });
    assert.deepEqual(await call('GET', '/v1/kv/%E0%A4%A'), { status: 400, code: 'INVALID_ARGUMENT' });
    assert.deepEqual(await call('GET', '/v1/watch?fromRevision=abc'), { status: 400, code: 'INVALID_ARGUMENT' });
    // Still serving.
    const c = cluster.client(['n1']);
    await c.put('after-bad-input', 'ok');
    assert.equal((await c.get('after-bad-input'))?.text(), 'ok');
    await c.close();
  });

  test('status, health and metrics', async () => {
    const c = cluster.client(['n3']);
    const s = await c.status();
    assert.equal(s.node, 'n3');
    assert.ok(s.leader);
    assert.deepEqual(
      s.members.map((m) => m.name),
      ['n1', 'n2', 'n3'],
    );
    assert.equal(s.members.filter((m) => m.role === 'leader').length, 1);
    assert.ok(s.members.every((m) => m.http && m.reachable));
    assert.ok(
      s.members.every((m) => typeof m.match === 'number'),
      'match comes from the leader',
    );
    await c.close();
    const health = await request(`http://${cluster.httpOf('n1')}/healthz`);
    assert.equal(health.statusCode, 200);
    await health.body.dump();
    const metrics = await request(`http://${cluster.httpOf('n1')}/metrics`);
    const text = await metrics.body.text();
    assert.match(text, /cairn_http_requests_total\{/);
    assert.match(text, /cairn_storage_fsync_duration_seconds_bucket/);
    assert.match(text, /cairn_raft_term/);
    // The transport's counters, per peer: n1 has talked to both others (heartbeats at least), and counts go up.
    const sent = (t: string, peer: string) =>
      Number(new RegExp(`cairn_peer_messages_sent_total\\{peer="${peer}"[^}]*\\} (\\d+)`).exec(t)?.[1] ?? 'NaN');
    assert.ok(sent(text, 'n2') > 0 && sent(text, 'n3') > 0, 'messages sent to each peer are counted');
    // n1 talks to n2 at least once a second (health heartbeats), more when it leads: the counter grows.
    let later = text;
    for (let i = 0; i < 30 && sent(later, 'n2') <= sent(text, 'n2'); i++) {
      await new Promise((r) => setTimeout(r, 200));
      later = await (await request(`http://${cluster.httpOf('n1')}/metrics`)).body.text();
    }
    assert.ok(sent(later, 'n2') > sent(text, 'n2'), 'the counter grows between scrapes');
    assert.match(later, /cairn_peer_bytes_received_total\{peer="n3"/);
    // Replicas converge to the same state: same checksum at the same applied index.
    const sums = new Map<number, Set<string>>();
    for (let attempt = 0; attempt < 20; attempt++) {
      sums.clear();
      for (const n of ['n1', 'n2', 'n3']) {
        const r = await request(`http://${cluster.httpOf(n)}/v1/maintenance/checksum`);
        const body = (await r.body.json()) as { applied: number; checksum: string };
        if (!sums.has(body.applied)) sums.set(body.applied, new Set());
        sums.get(body.applied)!.add(body.checksum);
      }
      if (sums.size === 1) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.equal(sums.size, 1, 'every replica at the same applied index');
    assert.equal([...sums.values()][0]!.size, 1, 'with the same checksum');
  });
});
