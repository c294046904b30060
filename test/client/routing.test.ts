import assert from 'node:assert/strict';
import { after, describe, test } from 'node:test';
import { Client } from '../../src/client/client.js';
import { CairnError, TimeoutError, UnavailableError } from '../../src/client/errors.js';
import { SeededRandom } from '../../src/util/random.js';
import { deadOrigin, type FakeNode, fakeCluster, json } from './fake-node.js';

const nodesToClose: FakeNode[] = [];
const clients: Client[] = [];

async function cluster(n: number, leader: number | null): Promise<FakeNode[]> {
  const nodes = await fakeCluster(n, leader);
  nodesToClose.push(...nodes);
  return nodes;
}

function client(options: ConstructorParameters<typeof Client>[0]): Client {
  const c = new Client({ random: new SeededRandom(7), ...options });
  clients.push(c);
  return c;
}

after(async () => {
  await Promise.all(clients.map((c) => c.close()));
  await Promise.all(nodesToClose.map((n) => n.close()));
});

describe('client routing (fake nodes)', () => {
  test('discovers every member from one seed, writes to the leader, spreads reads', async () => {
    const nodes = await cluster(4, 1);
    nodes[3]!.members = nodes[0]!.members.map((m) => (m.name === 'n4' ? { ...m, role: 'learner' } : m));
    for (const node of nodes) node.members = nodes[3]!.members;
    const c = client({ endpoints: [nodes[0]!.address], strategy: 'rr' });
    const found = await c.discover();
    assert.deepEqual(
      found.sort(),
      nodes
        .slice(0, 3)
        .map((n) => n.origin)
        .sort(),
      'learners get no traffic',
    );
    assert.equal(c.stats().leader, 'n2');
    for (let i = 0; i < 12; i++) await c.put(`k${i}`, 'v');
    assert.deepEqual(
      nodes.map((n) => n.count('PUT')),
      [0, 12, 0, 0],
      'every write went straight to the leader',
    );
    for (const node of nodes) for (let i = 0; i < 12; i++) node.values.set(`k${i}`, Buffer.from('v'));
    for (let i = 0; i < 30; i++) assert.equal((await c.get(`k${i % 12}`))?.text(), 'v');
    assert.deepEqual(
      nodes.map((n) => n.count('GET')),
      [10, 10, 10, 0],
      'round-robin over the three voters',
    );
  });

  test('without discovery only the given endpoints are used, and writes go by the strategy', async () => {
    const nodes = await cluster(3, 0);
    const c = client({ endpoints: [nodes[2]!.address], discovery: false });
    await c.put('a', 'b');
    assert.equal((await c.get('a'))?.text(), 'b');
    assert.deepEqual(
      nodes.map((n) => n.requests.length),
      [0, 0, 2],
    );
    assert.equal(c.stats().discovery.enabled, false);
  });

  test('a write refused with 503 by the leader is retried on another node', async () => {
    const nodes = await cluster(3, 0);
    nodes[0]!.handler = (req, res) => {
      if (req.method !== 'PUT') return false;
      json(res, 503, { error: { code: 'UNAVAILABLE', message: 'not the leader any more' } });
      return true;
    };
    const c = client({ endpoints: [nodes[0]!.address] });
    await c.discover();
    const r = await c.put('k', 'v');
    assert.ok(r.revision > 0);
    assert.equal(nodes[0]!.count('PUT'), 1);
    assert.equal(nodes[1]!.count('PUT') + nodes[2]!.count('PUT'), 1);
    assert.equal(c.stats().leaderEndpoint, null, 'the leader that refused is forgotten until discovery says again');
  });

  test('a write whose connection broke after it was sent fails with TimeoutError and is not retried', async () => {
    const nodes = await cluster(3, 0);
    nodes[0]!.handler = (req) => {
      if (req.method !== 'PUT') return false;
      req.socket.destroy();
      return true;
    };
    const c = client({ endpoints: [nodes[0]!.address] });
    await c.discover();
    await assert.rejects(c.put('k', 'v'), (e: unknown) => e instanceof TimeoutError && e.status === 0);
    assert.equal(nodes[1]!.count('PUT') + nodes[2]!.count('PUT'), 0, 'an unknown outcome is not retried');
  });

  test('a read is retried after any failure: a dropped connection, a 504', async () => {
    const nodes = await cluster(3, 0);
    for (const node of nodes) node.values.set('k', Buffer.from('v'));
    nodes[0]!.handler = (req) => {
      if (req.method !== 'GET' || !req.url?.startsWith('/v1/kv/')) return false;
      req.socket.destroy();
      return true;
    };
    nodes[1]!.handler = (req, res) => {
      if (req.method !== 'GET' || !req.url?.startsWith('/v1/kv/')) return false;
      json(res, 504, { error: { code: 'TIMEOUT', message: 'read barrier timed out' } });
      return true;
    };
    const c = client({ endpoints: nodes.map((n) => n.address), discovery: false, strategy: 'rr' });
    for (let i = 0; i < 6; i++) assert.equal((await c.get('k'))?.text(), 'v');
    assert.equal(nodes[2]!.count('GET'), 6, 'every read ended on the healthy node');
  });

  test('unreachable nodes are skipped; with none reachable the error is UnavailableError', async () => {
    const nodes = await cluster(1, 0);
    const dead = await deadOrigin();
    const c = client({ endpoints: [dead, nodes[0]!.address], discovery: false, strategy: 'rr' });
    for (let i = 0; i < 4; i++) await c.put(`k${i}`, 'v');
    assert.equal(nodes[0]!.count('PUT'), 4);
    const lost = client({ endpoints: [dead, await deadOrigin()], discovery: false, retries: 2 });
    await assert.rejects(
      lost.put('k', 'v'),
      (e: unknown) => e instanceof UnavailableError && e.status === 0 && /unreachable/.test(e.message),
    );
  });

  test('when every node refuses, the attempts are bounded and the last refusal is thrown', async () => {
    const nodes = await cluster(2, 0);
    for (const node of nodes) {
      node.handler = (req, res) => {
        if (!req.url?.startsWith('/v1/kv/')) return false;
        json(res, 503, { error: { code: 'UNAVAILABLE', message: 'no leader' } });
        return true;
      };
    }
    const c = client({ endpoints: nodes.map((n) => n.address), retries: 3, discovery: false });
    await assert.rejects(c.put('k', 'v'), (e: unknown) => e instanceof UnavailableError && e.status === 503);
    assert.equal(nodes[0]!.count('PUT') + nodes[1]!.count('PUT'), 4, '1 attempt + 3 retries');
  });

  test('zone strategy keeps reads in the client zone', async () => {
    const nodes = await cluster(3, 0);
    const members = nodes.map((n, i) => ({ name: n.name, http: n.address, labels: { zone: ['a', 'b', 'c'][i]! } }));
    for (const node of nodes) {
      node.members = members;
      node.values.set('k', Buffer.from('v'));
    }
    const c = client({ endpoints: [nodes[0]!.address], strategy: 'zone', zone: 'b' });
    for (let i = 0; i < 20; i++) await c.get('k');
    assert.deepEqual(
      nodes.map((n) => n.count('GET')),
      [0, 20, 0],
    );
  });

  test('an endpoint that is a gateway is kept: the client does not go around it', async () => {
    const nodes = await cluster(3, 0);
    nodes[0]!.statusHeaders = { 'cairn-gateway': '1' };
    const c = client({ endpoints: [nodes[0]!.address] });
    assert.deepEqual(await c.discover(), [nodes[0]!.origin]);
    assert.equal(c.stats().viaGateway, true);
    await c.put('k', 'v');
    assert.equal(nodes[0]!.count('PUT'), 1);
  });

  test('bad arguments fail fast with InvalidArgumentError, and a closed client refuses work', async () => {
    assert.throws(
      () => new Client({ endpoints: [] }),
      (e: unknown) => e instanceof CairnError && e.code === 'INVALID_ARGUMENT',
    );
    assert.throws(() => new Client({ endpoints: ['ftp://x:1'] }), /only http/);
    assert.throws(() => new Client({ endpoints: ['a:1'], strategy: 'fastest' as never }), /strategy/);
    assert.throws(() => new Client({ endpoints: ['a:1'], retries: 99 }), /retries/);
    const c = new Client({ endpoints: ['127.0.0.1:1'], discovery: false });
    await assert.rejects(c.put('', 'v'), (e: unknown) => e instanceof CairnError && e.code === 'INVALID_KEY');
    await c.close();
    await assert.rejects(c.get('k'), /closed/);
  });
});
