import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { h2Call as call } from '../support/h2-call.js';
import { TestCluster } from '../support/test-cluster.js';

/** The API over cleartext HTTP/2 (the lean server) on real nodes: the routes behave as over HTTP/1.1. */
describe('the HTTP API over h2c on a 3-node cluster', () => {
  let cluster: TestCluster;
  const sessions: http2.ClientHttp2Session[] = [];
  const connect = (name: string) => {
    const s = http2.connect(`http://${cluster.httpOf(name)}`);
    sessions.push(s);
    return s;
  };
  before(async () => {
    cluster = await TestCluster.start({ nodes: 3 });
  });
  after(async () => {
    for (const s of sessions) s.close();
    await cluster?.stop();
  });

  test('writes on any node (followers forward them), linearizable reads, errors and a watch stream', async () => {
    const leader = await cluster.waitForLeader();
    const follower = ['n1', 'n2', 'n3'].find((n) => n !== leader)!;
    const onLeader = connect(leader);
    const onFollower = connect(follower);

    // A watch opened over h2 before the writes must see each of them, in order.
    const events: { revision: number; key: string }[] = [];
    const watch = onFollower.request({ ':path': '/v1/watch?prefix=h2%2F' });
    watch.setEncoding('utf8');
    let buffered = '';
    watch.on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const event = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const data = event.split('\n').find((l) => l.startsWith('data: '));
        if (!data) continue;
        const parsed = JSON.parse(data.slice(6)) as { revision: number; events: { key: string }[] };
        for (const e of parsed.events) events.push({ revision: parsed.revision, key: e.key });
      }
    });
    watch.on('error', () => {});
    await new Promise((r) => setTimeout(r, 300));

    const revisions: number[] = [];
    for (let i = 0; i < 20; i++) {
      const session = i % 2 === 0 ? onLeader : onFollower;
      const put = await call(session, 'PUT', `/v1/kv/h2/k${i}`, `value-${i}`);
      assert.equal(put.status, 200, put.body);
      revisions.push((JSON.parse(put.body) as { revision: number }).revision);
    }
    // Many at once on one connection, over the stream limit of neither side.
    const many = await Promise.all(
      Array.from({ length: 100 }, (_, i) => call(onFollower, 'PUT', `/v1/kv/h2/many${i}`, 'x')),
    );
    for (const r of many) assert.equal(r.status, 200, r.body);

    const got = await call(onFollower, 'GET', '/v1/kv/h2/k7');
    assert.equal(got.status, 200);
    assert.equal(got.body, 'value-7');
    const missing = await call(onLeader, 'GET', '/v1/kv/h2/nope');
    assert.equal(missing.status, 404);
    assert.equal((JSON.parse(missing.body) as { error: { code: string } }).error.code, 'KEY_NOT_FOUND');
    const badRoute = await call(onLeader, 'GET', '/v1/nothing-here');
    assert.equal(badRoute.status, 404);

    const deadline = Date.now() + 10_000;
    while (events.length < 120 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.equal(events.length, 120, 'every write reached the watch over h2');
    assert.deepEqual(
      events.slice(0, 20).map((e) => e.revision),
      revisions,
      'in revision order, no gap, no duplicate',
    );
    watch.close();
  });
});
