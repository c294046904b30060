import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Readable } from 'node:stream';
import { after, describe, test } from 'node:test';
import { request } from 'undici';
import { Gateway } from '../../src/gateway/gateway.js';
import type { GatewayOptions } from '../../src/gateway/options.js';
import type { GatewayStatus } from '../../src/gateway/status.js';
import { SeededRandom } from '../../src/util/random.js';
import { deadOrigin, FakeNode, fakeCluster, json } from '../client/fake-node.js';

const toClose: { close(): Promise<void> }[] = [];
after(async () => {
  for (const item of toClose.reverse()) await item.close();
});

async function backends(n: number): Promise<FakeNode[]> {
  const nodes: FakeNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await FakeNode.start(`b${i + 1}`));
  toClose.push(...nodes);
  return nodes;
}

/** A gateway over the given backends; static (no discovery), no active checks, round-robin, unless overridden. */
async function gateway(endpoints: GatewayOptions['endpoints'], options: Partial<GatewayOptions> = {}) {
  const gw = new Gateway({
    endpoints,
    discovery: false,
    health: false,
    strategy: 'rr',
    random: new SeededRandom(3),
    ...options,
  });
  const address = await gw.listen('127.0.0.1', 0);
  toClose.push(gw);
  return { gw, url: `http://127.0.0.1:${address.port}` };
}

async function status(url: string): Promise<GatewayStatus> {
  const r = await request(`${url}/gateway/status`);
  assert.equal(r.statusCode, 200);
  return (await r.body.json()) as GatewayStatus;
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('the gateway as a reverse proxy (fake backends)', () => {
  test('adds X-Forwarded-For/-Proto/-Host, drops hop-by-hop headers, marks its answers', async () => {
    const [b] = await backends(1);
    const { url } = await gateway([b!.origin]);
    // node:http, not undici: undici manages the Connection header itself.
    const r = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = http.request(`${url}/v1/kv/greeting`, {
        method: 'PUT',
        headers: { 'x-forwarded-for': '203.0.113.7', connection: 'x-private', 'x-private': 'secret', 'x-app': 'a' },
      });
      req.once('response', resolve);
      req.once('error', reject);
      req.end('hello');
    });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['cairn-gateway'], '1');
    assert.equal(r.headers['cairn-backend'], b!.origin);
    r.resume();
    const seen = b!.requests.at(-1)!;
    assert.equal(seen.headers['x-forwarded-for'], '203.0.113.7, 127.0.0.1');
    assert.equal(seen.headers['x-forwarded-proto'], 'http');
    assert.equal(seen.headers['x-forwarded-host'], new URL(url).host);
    assert.equal(seen.headers['x-app'], 'a');
    assert.equal(seen.headers['x-private'], undefined);
    assert.equal(seen.body.toString(), 'hello');
  });

  test('streams a large body through intact; refuses bodies over the limit with 413', async () => {
    const [b] = await backends(1);
    const { url } = await gateway([b!.origin], { maxRequestBodyBytes: 6 * 1024 * 1024 });
    const big = Buffer.alloc(5 * 1024 * 1024 + 7, 1);
    for (let i = 0; i < big.length; i += 4096) big[i] = i % 251;
    const r = await request(`${url}/v1/kv/big`, { method: 'PUT', body: big });
    assert.equal(r.statusCode, 200);
    await r.body.dump();
    assert.equal(sha(b!.values.get('big')!), sha(big));

    const declared = await request(`${url}/v1/kv/too-big`, { method: 'PUT', body: Buffer.alloc(7 * 1024 * 1024) });
    assert.equal(declared.statusCode, 413);
    assert.equal(((await declared.body.json()) as { error: { code: string } }).error.code, 'BODY_TOO_LARGE');

    // No Content-Length: the limit is enforced while streaming.
    const chunks = Array.from({ length: 8 }, () => Buffer.alloc(1024 * 1024, 2));
    const streamed = await request(`${url}/v1/kv/too-big-stream`, { method: 'PUT', body: Readable.from(chunks) });
    assert.equal(streamed.statusCode, 413);
    await streamed.body.dump();
    assert.equal(b!.values.has('too-big') || b!.values.has('too-big-stream'), false);
  });

  test('watch streams (SSE) pass through as they come, and are counted per backend', async () => {
    const [b] = await backends(1);
    let sendSecond: () => void = () => {};
    let upstreamClosed = false;
    b!.handler = (req, res) => {
      if (!req.url?.startsWith('/v1/watch')) return false;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`id: 5\ndata: {"revision":5,"events":[]}\n\n`);
      sendSecond = () => res.write(`id: 6\ndata: {"revision":6,"events":[]}\n\n`);
      res.once('close', () => {
        upstreamClosed = true;
      });
      return true;
    };
    const { url } = await gateway([b!.origin]);
    const r = await request(`${url}/v1/watch?prefix=a`, { headers: { 'last-event-id': '4' } });
    assert.equal(r.statusCode, 200);
    assert.equal(r.headers['content-type'], 'text/event-stream');
    assert.equal(b!.requests.at(-1)!.headers['last-event-id'], '4', 'resume position passed on');
    const reader = r.body[Symbol.asyncIterator]();
    const first = String((await reader.next()).value);
    assert.match(first, /id: 5/, 'the first event arrives while the stream is still open');
    const during = await status(url);
    assert.equal(during.requests.streams, 1);
    assert.equal(during.backends[0]!.streams, 1);
    assert.equal(during.backends[0]!.pending, 0, 'an open stream is not counted as load');
    sendSecond();
    assert.match(String((await reader.next()).value), /id: 6/);
    r.body.destroy();
    for (let i = 0; i < 100 && !upstreamClosed; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    assert.equal(upstreamClosed, true, 'the client leaving closes the upstream stream');
    assert.equal((await status(url)).requests.streams, 0);
  });

  test('retries: reads after any failure, writes only when they surely were not applied', async () => {
    const [a, b] = await backends(2);
    const dead = await deadOrigin();
    const { url } = await gateway([dead, a!.origin, b!.origin]);
    a!.values.set('k', Buffer.from('v'));
    b!.values.set('k', Buffer.from('v'));
    for (let i = 0; i < 6; i++) {
      const r = await request(`${url}/v1/kv/k`);
      assert.equal(r.statusCode, 200, 'a read on the dead backend went elsewhere');
      await r.body.dump();
      const w = await request(`${url}/v1/kv/w${i}`, { method: 'PUT', body: 'x' });
      assert.equal(w.statusCode, 200, 'a write refused at connect went elsewhere');
      await w.body.dump();
    }

    // 503 = surely not applied: retried on the other backend.
    a!.handler = (req, res) => {
      if (req.method !== 'PUT') return false;
      json(res, 503, { error: { code: 'UNAVAILABLE', message: 'no leader' } });
      return true;
    };
    const before = b!.count('PUT');
    for (let i = 0; i < 4; i++) {
      const w = await request(`${url}/v1/kv/r${i}`, { method: 'PUT', body: 'x' });
      assert.equal(w.statusCode, 200);
      await w.body.dump();
    }
    assert.equal(b!.count('PUT') - before, 4);

    // A connection dropped after the write arrived: the outcome is unknown, so no retry; 504 TIMEOUT.
    a!.handler = (req) => {
      req.socket.destroy();
      return true;
    };
    b!.handler = a!.handler;
    const w = await request(`${url}/v1/kv/unknown`, { method: 'PUT', body: 'x' });
    assert.equal(w.statusCode, 504);
    assert.equal(((await w.body.json()) as { error: { code: string } }).error.code, 'TIMEOUT');
    const putsOfUnknown = [a!, b!].flatMap((n) => n.requests).filter((q) => q.url === '/v1/kv/unknown');
    assert.equal(putsOfUnknown.length, 1, 'sent once');
    const st = await status(url);
    assert.ok(st.retries.retries >= 6);
    assert.ok(st.retries.refused['not-retryable'] >= 1);
  });

  test('writes go straight to the leader found by discovery; reads are spread', async () => {
    const nodes = await fakeCluster(3, 2);
    toClose.push(...nodes);
    for (const n of nodes) n.values.set('k', Buffer.from('v'));
    const { url } = await gateway([nodes[0]!.address], { discovery: true });
    for (let i = 0; i < 9; i++) {
      const w = await request(`${url}/v1/kv/k`, { method: 'PUT', body: 'v' });
      await w.body.dump();
      const r = await request(`${url}/v1/kv/k`);
      await r.body.dump();
    }
    assert.deepEqual(
      nodes.map((n) => n.count('PUT')),
      [0, 0, 9],
    );
    assert.deepEqual(
      nodes.map((n) => n.count('GET')),
      [3, 3, 3],
    );
    const st = await status(url);
    assert.deepEqual(st.leader, { name: 'n3', address: nodes[2]!.origin });
    assert.deepEqual(
      st.backends.map((b) => [b.name, b.role]),
      [
        ['n1', 'follower'],
        ['n2', 'follower'],
        ['n3', 'leader'],
      ],
    );
  });

  test('a failing backend is ejected (passively) and traffic moves to the others', async () => {
    const nodes = await backends(3);
    for (const n of nodes) n.values.set('k', Buffer.from('v'));
    nodes[1]!.handler = (req, res) => {
      if (!req.url?.startsWith('/v1/kv/')) return false;
      json(res, 503, { error: { code: 'UNAVAILABLE', message: 'sick' } });
      return true;
    };
    const { url } = await gateway(
      nodes.map((n) => n.origin),
      { balancer: { outlier: { consecutiveFailures: 3 } } },
    );
    for (let i = 0; i < 60; i++) {
      const r = await request(`${url}/v1/kv/k`);
      assert.equal(r.statusCode, 200, 'every read answered (retried past the sick backend)');
      await r.body.dump();
    }
    const st = await status(url);
    const sick = st.backends.find((b) => b.address === nodes[1]!.origin)!;
    assert.equal(sick.state, 'ejected');
    assert.equal(sick.serving, false);
    assert.ok(sick.ejectedForMs !== null && sick.ejectedForMs > 0);
    const seenBySick = nodes[1]!.count('GET');
    for (let i = 0; i < 20; i++) await (await request(`${url}/v1/kv/k`)).body.dump();
    assert.equal(nodes[1]!.count('GET'), seenBySick, 'no traffic while ejected');
    assert.equal(st.ejections.ejections, 1);
  });

  test('active health checks take an unhealthy backend out', async () => {
    const nodes = await backends(3);
    for (const n of nodes) n.values.set('k', Buffer.from('v'));
    nodes[0]!.handler = (req, res) => {
      if (req.url !== '/healthz') return false;
      json(res, 503, { error: { code: 'UNAVAILABLE', message: 'no leader is known' } });
      return true;
    };
    const { url } = await gateway(
      nodes.map((n) => n.origin),
      { health: { intervalMs: 20, intervalJitterMs: 0, timeoutMs: 500 } },
    );
    for (let i = 0; i < 200; i++) {
      const st = await status(url);
      if (st.backends.every((b) => b.health !== 'unknown')) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const st = await status(url);
    assert.deepEqual(
      st.backends.map((b) => b.state),
      ['unhealthy', 'healthy', 'healthy'],
    );
    for (let i = 0; i < 10; i++) await (await request(`${url}/v1/kv/k`)).body.dump();
    assert.equal(nodes[0]!.count('GET'), 0);
  });

  test('panic threshold: with every backend failing its checks, traffic still flows to all of them', async () => {
    const nodes = await backends(2);
    for (const n of nodes) {
      n.values.set('k', Buffer.from('v'));
      n.handler = (req, res) => {
        if (req.url !== '/healthz') return false;
        json(res, 503, { error: { code: 'UNAVAILABLE', message: 'no leader is known' } });
        return true;
      };
    }
    const { url } = await gateway(
      nodes.map((n) => n.origin),
      { health: { intervalMs: 20, intervalJitterMs: 0, timeoutMs: 500 } },
    );
    for (let i = 0; i < 200; i++) {
      if ((await status(url)).backends.every((b) => b.state === 'unhealthy')) break;
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    const st = await status(url);
    assert.equal(st.panic, true);
    assert.deepEqual(
      st.backends.map((b) => [b.state, b.serving]),
      [
        ['unhealthy', true],
        ['unhealthy', true],
      ],
    );
    for (let i = 0; i < 10; i++) {
      const r = await request(`${url}/v1/kv/k`);
      assert.equal(r.statusCode, 200);
      await r.body.dump();
    }
    assert.ok(
      nodes.every((n) => n.count('GET') > 0),
      'both still get traffic',
    );
    const health = await request(`${url}/gateway/healthz`);
    assert.equal(health.statusCode, 200, 'serving backends exist (in panic)');
    await health.body.dump();
  });

  test('own routes, limits, and errors in the API format', async () => {
    const [b] = await backends(1);
    let release: () => void = () => {};
    b!.handler = (req, res) => {
      if (req.url !== '/v1/kv/slow') return false;
      release = () => json(res, 200, { revision: 1, version: 1 });
      return true;
    };
    const { url } = await gateway([b!.origin], { maxConcurrentRequests: 1, maxWatchStreams: 0 });
    const health = await request(`${url}/gateway/healthz`);
    assert.equal(health.statusCode, 200);
    assert.deepEqual(await health.body.json(), { status: 'ok', serving: 1, backends: 1 });
    const unknown = await request(`${url}/gateway/nope`);
    assert.equal(unknown.statusCode, 404);
    assert.equal(((await unknown.body.json()) as { error: { code: string } }).error.code, 'ROUTE_NOT_FOUND');
    const post = await request(`${url}/gateway/status`, { method: 'POST' });
    assert.equal(post.statusCode, 405);
    await post.body.dump();
    const watch = await request(`${url}/v1/watch?prefix=a`);
    assert.equal(watch.statusCode, 429, 'no room for streams');
    await watch.body.dump();

    const slow = request(`${url}/v1/kv/slow`, { method: 'PUT', body: 'x' });
    for (let i = 0; i < 100 && b!.requests.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    const second = await request(`${url}/v1/kv/other`, { method: 'PUT', body: 'x' });
    assert.equal(second.statusCode, 429);
    assert.equal(((await second.body.json()) as { error: { code: string } }).error.code, 'TOO_MANY_REQUESTS');
    release();
    assert.equal((await slow).statusCode, 200);
    const st = await status(url);
    assert.equal(st.requests.rejected, 2);
    assert.equal(st.strategy, 'rr');
  });

  test('malformed requests get 400 and are not blamed on a backend', async () => {
    const [b] = await backends(1);
    const { url } = await gateway([b!.origin]);
    const port = Number(new URL(url).port);
    const raw = (text: string) =>
      new Promise<string>((resolve) => {
        const socket = net.connect(port, '127.0.0.1', () => socket.write(text));
        let out = '';
        socket.on('data', (d: Buffer) => {
          out += d.toString();
        });
        socket.on('close', () => resolve(out));
        socket.on('error', () => resolve(out));
        setTimeout(() => socket.destroy(), 1_000).unref();
      });
    for (const text of [
      'GET http://elsewhere/v1/kv/a HTTP/1.1\r\nHost: a\r\n\r\n',
      'PUT /v1/kv/a HTTP/1.1\r\nHost: a\r\nContent-Length: abc\r\n\r\n',
    ]) {
      assert.match(await raw(text), /^HTTP\/1\.1 400 /);
    }
    const st = await status(url);
    assert.equal(st.backends[0]!.failures, 0);
    assert.equal(b!.requests.length, 0);
  });

  test('no backend at all answers 503 UNAVAILABLE', async () => {
    const { url } = await gateway([await deadOrigin()]);
    const r = await request(`${url}/v1/kv/k`, { method: 'PUT', body: 'x' });
    assert.equal(r.statusCode, 503);
    assert.equal(((await r.body.json()) as { error: { code: string } }).error.code, 'UNAVAILABLE');
  });
});
