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

describe('request accounting over h2c', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start({ nodes: 1 });
  });
  after(async () => {
    await cluster?.stop();
  });

  /** The value of `cairn_http_requests_total` for one route, method and code (0 when absent). */
  async function requests(session: http2.ClientHttp2Session, route: string, method: string, code: number) {
    const text = (await call(session, 'GET', '/metrics')).body;
    for (const line of text.split('\n')) {
      if (!line.startsWith('cairn_http_requests_total{')) continue;
      if (line.includes(`route="${route}"`) && line.includes(`method="${method}"`) && line.includes(`code="${code}"`)) {
        return Number(line.slice(line.lastIndexOf(' ') + 1));
      }
    }
    return 0;
  }

  test('every request is counted exactly once: answered, failed, or reset by the client', async () => {
    const name = await cluster.waitForLeader();
    const session = http2.connect(`http://${cluster.httpOf(name)}`);
    try {
      const putsBefore = await requests(session, '/v1/kv/*key', 'PUT', 200);
      const missingBefore = await requests(session, '/v1/kv/*key', 'GET', 404);
      const watchesBefore = await requests(session, '/v1/watch', 'GET', 200);
      const puts = await Promise.all(
        Array.from({ length: 30 }, (_, i) => call(session, 'PUT', `/v1/kv/acct/${i}`, 'v')),
      );
      for (const p of puts) assert.equal(p.status, 200, p.body);
      for (let i = 0; i < 5; i++) assert.equal((await call(session, 'GET', '/v1/kv/acct/none')).status, 404);
      // A watch the client resets: its request ends when the stream does.
      const watch = session.request({ ':path': '/v1/watch?prefix=acct%2F' });
      watch.on('error', () => {});
      await new Promise<void>((resolve) => watch.once('response', () => resolve()));
      watch.close(http2.constants.NGHTTP2_CANCEL);
      const deadline = Date.now() + 5000;
      while ((await requests(session, '/v1/watch', 'GET', 200)) === watchesBefore && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(await requests(session, '/v1/kv/*key', 'PUT', 200), putsBefore + 30);
      assert.equal(await requests(session, '/v1/kv/*key', 'GET', 404), missingBefore + 5);
      assert.equal(await requests(session, '/v1/watch', 'GET', 200), watchesBefore + 1);
    } finally {
      session.close();
    }
  });
});
