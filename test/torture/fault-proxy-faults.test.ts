import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { after, test } from 'node:test';
import { FaultProxy, FaultProxyError } from '../../src/torture/proxy/index.js';
import { HOST_A, HOST_B, HOST_C, seededBytes, sleep, TestClient, TestServer, waitFor } from './proxy-harness.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

interface Setup {
  proxy: FaultProxy;
  a: TestServer;
  b: TestServer;
  c: TestServer;
}

/**
 * Nodes a, b, c on 127.0.0.1/2/3 behind a proxy. b is an echo server unless `bRecords` (then it only records,
 * so one-way faults can be seen from each side).
 */
async function setup(bRecords = false): Promise<Setup> {
  const a = await TestServer.echo(HOST_A);
  const b = bRecords ? await TestServer.start(HOST_B) : await TestServer.echo(HOST_B);
  const c = await TestServer.echo(HOST_C);
  const proxy = new FaultProxy();
  for (const [name, server] of Object.entries({ a, b, c })) {
    await proxy.addNode(name, { targetHost: server.host, targetPort: server.port });
  }
  await proxy.start();
  cleanups.push(
    () => proxy.close(),
    () => a.close(),
    () => b.close(),
    () => c.close(),
  );
  return { proxy, a, b, c };
}

async function roundTripMs(client: TestClient, text: string): Promise<number> {
  const expected = client.receivedLength + text.length;
  const started = performance.now();
  client.socket.write(text);
  await waitFor(() => client.receivedLength >= expected, `echo of ${text}`);
  return performance.now() - started;
}

const link = (proxy: FaultProxy, key: string) => proxy.stats().links[key]!;

test('delay adds latency in the faulted direction only and keeps the byte order', async () => {
  const { proxy } = await setup();
  const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await roundTripMs(client, 'warm-up');

  proxy.setFault('a', 'b', { mode: 'delay', delayMs: 200 });
  const oneWay = await roundTripMs(client, 'one');
  assert.ok(oneWay >= 190, `a→b delayed: round trip ${oneWay} ms`);
  assert.ok(oneWay < 5000, `round trip ${oneWay} ms`);
  proxy.setFault('b', 'a', { mode: 'delay', delayMs: 200 });
  const bothWays = await roundTripMs(client, 'two');
  assert.ok(bothWays >= 390, `both directions delayed: round trip ${bothWays} ms`);

  // With jitter larger than the gap between writes, later chunks are often drawn earlier times; order holds.
  proxy.setFault('a', 'b', { mode: 'delay', delayMs: 50, jitterMs: 50 });
  proxy.setFault('b', 'a', 'pass');
  const before = client.receivedLength;
  let sent = '';
  for (let i = 0; i < 60; i++) {
    const piece = `<${i}>`;
    sent += piece;
    client.socket.write(piece);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await waitFor(() => client.receivedLength === before + sent.length, 'all pieces echoed');
  assert.equal(client.received.subarray(before).toString(), sent);
  assert.equal(link(proxy, 'a->b').bytesDiscarded, 0);

  proxy.setFault('a', 'b', 'pass');
  await roundTripMs(client, 'flows again');
  await client.destroy();
});

test('throttle limits the rate and keeps the bytes intact', async () => {
  const { proxy } = await setup();
  const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  proxy.setFault('a', 'b', { mode: 'throttle', bytesPerSecond: 512 * 1024 });
  const payload = seededBytes(256 * 1024, 3);
  const started = performance.now();
  client.socket.write(payload);
  await waitFor(() => client.receivedLength === payload.length, 'throttled echo');
  const elapsedMs = performance.now() - started;
  assert.ok(elapsedMs >= 400, `256 KiB at 512 KiB/s took ${elapsedMs} ms`);
  assert.ok(client.received.equals(payload));
  await client.destroy();
});

test('a one-way blackhole drops one direction while the other passes; the connection stays open', async () => {
  const { proxy, b } = await setup(true);
  const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  client.socket.write('before');
  await waitFor(() => b.sockets.length === 1 && b.bytesFrom(b.sockets[0]!).length === 6, 'b got the first bytes');
  const atB = b.sockets[0]!;

  proxy.oneWay('a', 'b');
  assert.deepEqual(proxy.fault('a', 'b'), { mode: 'blackhole' });
  assert.deepEqual(proxy.fault('b', 'a'), { mode: 'pass' });
  client.socket.write(Buffer.alloc(1000, 1));
  await waitFor(() => link(proxy, 'a->b').bytesDiscarded === 1000, 'a→b bytes discarded');
  atB.write('pong');
  await waitFor(() => client.received.toString() === 'pong', 'b→a still passes');
  assert.equal(b.bytesFrom(atB).toString(), 'before', 'nothing more reached b');
  assert.equal(client.closed, false);
  assert.equal(atB.destroyed, false);

  // The other direction, on a fresh connection: a's bytes pass, b's answers vanish.
  proxy.heal();
  await client.whenClosed; // It lost bytes, so the heal reset it.
  const second = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  proxy.oneWay('b', 'a');
  second.socket.write('ping');
  await waitFor(() => b.sockets.length === 2 && b.bytesFrom(b.sockets[1]!).toString() === 'ping', 'a→b passes');
  b.sockets[1]!.write('lost answer');
  await waitFor(() => link(proxy, 'b->a').bytesDiscarded === 11, 'b→a discarded');
  assert.equal(second.receivedLength, 0);
  await second.destroy();
});

test('healing a blackhole resets the connections that lost bytes, and only those', async () => {
  const { proxy, b } = await setup(true);
  const damaged = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  const idle = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await waitFor(() => b.sockets.length === 2, 'b accepted both');
  const [damagedAtB, idleAtB] = b.sockets as [Socket, Socket];

  proxy.oneWay('a', 'b');
  damaged.socket.write('half a frame');
  await waitFor(() => link(proxy, 'a->b').bytesDiscarded === 12, 'bytes discarded');
  proxy.heal();
  await damaged.whenClosed;
  assert.equal(damaged.error?.code, 'ECONNRESET', 'the dialer sees a reset, not a clean end');
  await waitFor(() => damagedAtB.destroyed, 'b side of the damaged connection reset');
  assert.equal(link(proxy, 'a->b').connectionsReset, 1);

  // The idle connection lost nothing: its stream is whole and it keeps working.
  idle.socket.write('still fine');
  await waitFor(() => b.bytesFrom(idleAtB).toString() === 'still fine', 'idle connection still works');
  assert.equal(idle.closed, false);

  // A new connection after the heal passes.
  const fresh = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  fresh.socket.write('new');
  await waitFor(() => b.sockets.length === 3 && b.bytesFrom(b.sockets[2]!).toString() === 'new', 'fresh connection');
  await Promise.all([idle.destroy(), fresh.destroy()]);
});

test('a FIN sent into a blackhole vanishes: the receiver stays half-open until the heal resets it', async () => {
  const { proxy, b } = await setup(true);
  const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await waitFor(() => b.sockets.length === 1, 'accepted');
  const atB = b.sockets[0]!;
  let bSawEnd = false;
  atB.on('end', () => {
    bSawEnd = true;
  });
  proxy.oneWay('a', 'b');
  client.socket.end();
  atB.write('answer');
  await waitFor(() => client.received.toString() === 'answer', 'b→a still passes after a half-closed');
  assert.equal(bSawEnd, false);
  proxy.heal();
  await waitFor(() => atB.destroyed, 'b side reset on heal');
  assert.equal(bSawEnd, false);
  await client.whenClosed;
});

test('reject resets live connections and refuses new ones, in both directions of a connection', async () => {
  const { proxy, b } = await setup();
  const live = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await roundTripMs(live, 'x');
  const fromC = await TestClient.connect(proxy.frontDoor('b'), HOST_C);
  await roundTripMs(fromC, 'x');

  proxy.setFault('a', 'b', 'reject');
  await live.whenClosed;
  assert.equal(live.error?.code, 'ECONNRESET');
  assert.equal(link(proxy, 'a->b').connectionsReset, 1);

  const accepted = b.sockets.length;
  const refused = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await refused.whenClosed;
  assert.equal(refused.receivedLength, 0);
  assert.equal(link(proxy, 'a->b').connectionsRejected, 1);
  assert.equal(b.sockets.length, accepted, 'b was never dialed');

  // Rejecting only b→a also refuses a's connections: a TCP connection needs both directions.
  proxy.setFault('a', 'b', 'pass');
  proxy.setFault('b', 'a', 'reject');
  const alsoRefused = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await alsoRefused.whenClosed;
  assert.equal(link(proxy, 'a->b').connectionsRejected, 2);

  // Links not involved are untouched.
  await roundTripMs(fromC, 'c still talks to b');
  assert.equal(fromC.closed, false);

  proxy.heal();
  const after = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await roundTripMs(after, 'back');
  await Promise.all([after.destroy(), fromC.destroy()]);
});

test('partition, isolate, bridge and oneWay set the expected links; heal clears them all', async () => {
  const { proxy } = await setup();
  const faults = () => {
    const table: Record<string, string> = {};
    for (const from of ['a', 'b', 'c']) {
      for (const to of ['a', 'b', 'c']) if (from !== to) table[`${from}${to}`] = proxy.fault(from, to).mode;
    }
    return table;
  };
  const allPass = { ab: 'pass', ac: 'pass', ba: 'pass', bc: 'pass', ca: 'pass', cb: 'pass' };

  proxy.partition(['a'], ['b', 'c']);
  assert.deepEqual(faults(), { ...allPass, ab: 'blackhole', ac: 'blackhole', ba: 'blackhole', ca: 'blackhole' });
  proxy.heal();
  assert.deepEqual(faults(), allPass);

  proxy.isolate('c', 'reject');
  assert.deepEqual(faults(), { ...allPass, ac: 'reject', ca: 'reject', bc: 'reject', cb: 'reject' });
  proxy.heal();

  proxy.bridge(['a', 'b'], 'b', ['b', 'c']);
  assert.deepEqual(faults(), { ...allPass, ac: 'blackhole', ca: 'blackhole' });
  proxy.heal();

  proxy.oneWay('c', 'a', { mode: 'delay', delayMs: 10 });
  assert.deepEqual(faults(), { ...allPass, ca: 'delay' });
  proxy.heal();

  // Behaviour, not just the table: with c isolated, a's bytes to c vanish while a still reaches b.
  proxy.isolate('c');
  const toC = await TestClient.connect(proxy.frontDoor('c'), HOST_A);
  const toB = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  toC.socket.write('lost');
  await roundTripMs(toB, 'kept');
  await waitFor(() => link(proxy, 'a->c').bytesDiscarded === 4, 'a→c discarded');
  await sleep(50);
  assert.equal(toC.receivedLength, 0);
  proxy.heal();
  await toC.whenClosed;
  await toB.destroy();
});

test('bad arguments throw clear errors and change nothing', async () => {
  const { proxy } = await setup();
  const code = (expected: string) => (error: unknown) => error instanceof FaultProxyError && error.code === expected;
  assert.throws(() => proxy.setFault('a', 'zz', 'blackhole'), code('UNKNOWN_NODE'));
  assert.throws(() => proxy.partition(['a'], ['nope']), code('UNKNOWN_NODE'));
  assert.throws(() => proxy.setFault('a', 'b', { mode: 'delay', delayMs: -1 }), code('INVALID_OPTION'));
  assert.throws(() => proxy.setFault('a', 'b', { mode: 'throttle', bytesPerSecond: 0 }), code('INVALID_OPTION'));
  assert.throws(() => proxy.setFault('a', 'b', 'drop' as 'pass'), code('INVALID_OPTION'));
  assert.deepEqual(proxy.fault('a', 'b'), { mode: 'pass' });
  await assert.rejects(proxy.addNode('a', { targetHost: HOST_A, targetPort: 1 }), code('DUPLICATE_NODE'));
  await assert.rejects(proxy.addNode('d', { targetHost: HOST_B, targetPort: 1 }), code('DUPLICATE_HOST'));
  await assert.rejects(proxy.addNode('d', { targetHost: 'localhost', targetPort: 1 }), code('INVALID_OPTION'));
  await assert.rejects(proxy.addNode('d', { targetHost: '127.0.0.4', targetPort: 0 }), code('INVALID_OPTION'));
  assert.throws(() => new FaultProxy({ maxBufferedBytes: 0 }), code('INVALID_OPTION'));
  assert.throws(() => new FaultProxy().frontDoor('a'), code('UNKNOWN_NODE'));

  const unstarted = new FaultProxy();
  await unstarted.addNode('x', { targetHost: '127.0.0.4', targetPort: 1 });
  assert.throws(() => unstarted.frontDoor('x'), code('NOT_LISTENING'));
  await unstarted.close();
  assert.throws(() => unstarted.heal(), code('PROXY_CLOSED'));

  // A node added after start() gets its front door at once.
  const d = await TestServer.echo('127.0.0.4');
  cleanups.push(() => d.close());
  await proxy.addNode('d', { targetHost: d.host, targetPort: d.port });
  const client = await TestClient.connect(proxy.frontDoor('d'), HOST_A);
  await roundTripMs(client, 'late node');
  await client.destroy();
});
