import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, test } from 'node:test';
import { TransportError } from '../../src/transport/errors.js';
import { FrameEncoder } from '../../src/transport/frame-codec.js';
import { SeededRandom } from '../../src/util/random.js';
import {
  ConstantRandom,
  closeAll,
  connectAll,
  deadPort,
  FakeClock,
  FakeTimers,
  openHandles,
  startNode,
  type TestNode,
  waitFor,
} from './harness.js';

const started: TestNode[] = [];
async function node(name: string, host: string, options: Parameters<typeof startNode>[2] = {}, port = 0) {
  const created = await startNode(name, host, { components: { random: new SeededRandom(11) }, ...options }, port);
  started.push(created);
  return created;
}
after(() => closeAll(started));

const isCode = (code: string) => (error: unknown) => error instanceof TransportError && error.code === code;
const portOf = (n: TestNode) => Number(n.transport.listenAddress().split(':')[1]);

/** Connection timeout long enough that the fake timer is easy to tell from a backoff timer. */
const CONNECT_TIMEOUT_MS = 60_000;

test('after the peer restarts, messages queued meanwhile are delivered in order', async () => {
  const a = await node('r1', '127.0.0.1', { reconnectMaxMs: 200 });
  const b = await node('r2', '127.0.0.21');
  connectAll([a, b]);
  a.transport.send('r2', 'before');
  await waitFor(() => b.received.length === 1, 'first message');
  const port = portOf(b);
  await b.transport.close();
  await waitFor(() => a.transport.peerState('r2') !== 'connected', 'r1 notices');
  assert.ok(a.logger.find('warn', 'lost connection to peer').length === 1);
  for (let i = 0; i < 100; i++) assert.equal(a.transport.send('r2', { i }), true);

  const restarted = await node('r2', '127.0.0.21', { peers: { r1: a.transport.listenAddress() } }, port);
  await waitFor(() => restarted.received.length === 100, 'queued messages after restart');
  assert.deepEqual(
    restarted.received.map(({ message }) => (message as { i: number }).i),
    Array.from({ length: 100 }, (_, i) => i),
  );
  const stats = a.transport.stats().peers.r2!;
  assert.equal(stats.reconnects, 1);
  assert.equal(stats.state, 'connected');
  assert.equal(stats.dropped, 0);
  await closeAll([a, restarted]);
});

test('retries back off exponentially with full jitter up to the cap, and log once', async () => {
  const timers = new FakeTimers();
  const port = await deadPort('127.0.0.22');
  const a = await node('s1', '127.0.0.1', {
    peers: { s2: `127.0.0.22:${port}` },
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    components: { timers, random: new ConstantRandom(0.5) },
  });
  const delays: number[] = [];
  for (let attempt = 0; attempt < 8; attempt++) {
    await waitFor(() => timers.withDelay((ms) => ms !== CONNECT_TIMEOUT_MS).length === 1, `retry timer ${attempt}`);
    assert.equal(a.transport.peerState('s2'), 'backoff');
    const [retry] = timers.withDelay((ms) => ms !== CONNECT_TIMEOUT_MS);
    delays.push(retry!.delayMs);
    timers.fire(retry!);
    assert.equal(a.transport.peerState('s2'), 'connecting');
  }
  // 0.5 × min(2000, 50 × 2^n)
  assert.deepEqual(delays, [25, 50, 100, 200, 400, 800, 1000, 1000]);
  const stats = a.transport.stats().peers.s2!;
  assert.equal(stats.connectAttempts, 9);
  assert.ok(stats.connectFailures >= 8);
  assert.equal(a.logger.find('warn', 'cannot connect to peer').length, 1, 'repeats go to debug');
  assert.ok(a.logger.find('debug', 'still cannot connect').length >= 7);
  await a.transport.close();
  assert.equal(timers.size, 0, 'close cancels every timer');
});

test('a connect that hangs is cut by connectTimeoutMs', async () => {
  const timers = new FakeTimers();
  // A server that accepts but never answers the hello.
  const silent = createServer(() => {});
  const sockets: Socket[] = [];
  silent.on('connection', (socket) => sockets.push(socket));
  await new Promise<void>((resolve) => silent.listen({ host: '127.0.0.2', port: 0 }, resolve));
  const address = silent.address() as { port: number };
  const a = await node('t1', '127.0.0.1', {
    peers: { t2: `127.0.0.2:${address.port}` },
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    components: { timers, random: new ConstantRandom(0.5) },
  });
  await waitFor(() => sockets.length === 1, 'silent server accepted');
  const [timeout] = timers.withDelay((ms) => ms === CONNECT_TIMEOUT_MS);
  timers.fire(timeout!);
  assert.equal(a.transport.peerState('t2'), 'backoff');
  assert.equal(a.logger.find('warn', 'no connection and welcome within').length, 1);
  await a.transport.close();
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

test('a full queue drops new messages and counts them; queued ones go out once the peer is up', async () => {
  const port = await deadPort('127.0.0.23');
  const a = await node('u1', '127.0.0.1', {
    peers: { u2: `127.0.0.23:${port}` },
    maxQueueMessages: 10,
    reconnectMaxMs: 100,
  });
  const accepted = Array.from({ length: 15 }, (_, i) => a.transport.send('u2', { i }));
  assert.deepEqual(accepted, [...Array(10).fill(true), ...Array(5).fill(false)]);
  await assert.rejects(a.transport.sendAsync('u2', 'paced'), isCode('QUEUE_FULL'));
  let stats = a.transport.stats().peers.u2!;
  assert.equal(stats.droppedQueueFull, 6);
  assert.equal(stats.dropped, 6);
  assert.equal(stats.queuedMessages, 10);
  assert.equal(a.logger.find('warn', 'send queue full').length, 1);

  const b = await node('u2', '127.0.0.23', { peers: { u1: a.transport.listenAddress() } }, port);
  await waitFor(() => b.received.length === 10, 'queued messages');
  assert.deepEqual(
    b.received.map(({ message }) => (message as { i: number }).i),
    Array.from({ length: 10 }, (_, i) => i),
  );
  stats = a.transport.stats().peers.u2!;
  assert.equal(stats.queuedMessages, 0);
  assert.equal(stats.queuedBytes, 0);
  await closeAll([a, b]);
});

test('the queue is also bounded by bytes', async () => {
  const port = await deadPort('127.0.0.24');
  const a = await node('v1', '127.0.0.1', { peers: { v2: `127.0.0.24:${port}` }, maxQueueBytes: 1000 });
  const message = new Uint8Array(300); // 303 bytes encoded
  assert.deepEqual(
    [1, 2, 3, 4].map(() => a.transport.send('v2', message)),
    [true, true, true, false],
  );
  assert.equal(a.transport.stats().peers.v2!.queuedBytes, 909);
  await a.transport.close();
});

test('messages older than maxQueueAgeMs are dropped at reconnect, and sendAsync says MESSAGE_EXPIRED', async () => {
  const clock = new FakeClock(0);
  const port = await deadPort('127.0.0.25');
  const a = await node('w1', '127.0.0.1', {
    peers: { w2: `127.0.0.25:${port}` },
    maxQueueAgeMs: 1000,
    reconnectMaxMs: 100,
    components: { clock, random: new SeededRandom(1) },
  });
  a.transport.send('w2', 'old-1');
  a.transport.send('w2', 'old-2');
  const expired = a.transport.sendAsync('w2', 'old-async');
  clock.time = 1500;
  a.transport.send('w2', 'fresh');
  const fresh = a.transport.sendAsync('w2', 'fresh-async');
  await assert.rejects(expired, isCode('MESSAGE_EXPIRED')); // swept on the next redial
  const b = await node('w2', '127.0.0.25', { peers: { w1: a.transport.listenAddress() } }, port);
  await fresh;
  await waitFor(() => b.received.length === 2, 'fresh messages');
  assert.deepEqual(
    b.received.map((r) => r.message),
    ['fresh', 'fresh-async'],
  );
  assert.equal(a.transport.stats().peers.w2!.droppedExpired, 3);
  await closeAll([a, b]);
});

test('another cluster is refused with a clear error on both sides, and retried slowly', async () => {
  const timers = new FakeTimers();
  const b = await node('x2', '127.0.0.2', { clusterId: 'cluster-b', peers: { x1: '127.0.0.1:1' } });
  const a = await node('x1', '127.0.0.1', {
    clusterId: 'cluster-a',
    peers: { x2: b.transport.listenAddress() },
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    reconnectMaxMs: 2000,
    components: { timers, random: new ConstantRandom(0) },
  });
  for (let attempt = 1; attempt <= 3; attempt++) {
    await waitFor(() => timers.withDelay((ms) => ms !== CONNECT_TIMEOUT_MS).length === 1, `refusal ${attempt}`);
    const [retry] = timers.withDelay((ms) => ms !== CONNECT_TIMEOUT_MS);
    assert.ok(retry!.delayMs >= 1000, `a refusal waits at least half the cap, got ${retry!.delayMs}`);
    if (attempt < 3) timers.fire(retry!);
  }
  const dialerErrors = a.logger.find('error', 'CLUSTER_MISMATCH');
  assert.equal(dialerErrors.length, 1, 'logged once at error, repeats at debug');
  assert.match(String(dialerErrors[0]!.fields.reason), /cluster "cluster-a".*"cluster-b"/);
  assert.equal(b.logger.find('error', 'refused a peer from another cluster').length, 3);
  assert.equal(a.transport.stats().peers.x2!.handshakeRejections, 3);
  assert.equal(b.transport.stats().inbound.handshakeRejections, 3);
  assert.equal(a.transport.peerState('x2'), 'backoff');
  await closeAll([a, b]);
});

test('an address that answers as another node is treated as a refusal', async () => {
  const b = await node('y2', '127.0.0.2', { peers: { y1: '127.0.0.1:1' } });
  // y1 believes y3 lives at y2's address.
  const a = await node('y1', '127.0.0.1', { peers: { y3: b.transport.listenAddress() } });
  await waitFor(() => a.transport.stats().peers.y3!.handshakeRejections >= 1, 'mismatch noticed');
  assert.match(String(a.logger.find('error', 'answers as node')[0]!.fields.reason), /node "y2".*expected "y3"/);
  await closeAll([a, b]);
});

test('a socket that stops draining is declared dead after writeStallTimeoutMs; in-flight sendAsync rejects', async () => {
  const timers = new FakeTimers();
  const encoder = new FrameEncoder();
  const stalled: Socket[] = [];
  // Answers the hello with a welcome, then never reads again.
  const server = createServer((socket) => {
    stalled.push(socket);
    socket.once('data', () => {
      socket.write(encoder.welcomeFrame('test-cluster', 'z2'));
      socket.pause();
    });
  });
  await new Promise<void>((resolve) => server.listen({ host: '127.0.0.2', port: 0 }, resolve));
  const { port } = server.address() as { port: number };
  const a = await node('z1', '127.0.0.1', {
    peers: { z2: `127.0.0.2:${port}` },
    writeStallTimeoutMs: 12_345,
    connectTimeoutMs: CONNECT_TIMEOUT_MS,
    components: { timers, random: new ConstantRandom(0.5) },
  });
  await waitFor(() => a.transport.peerState('z2') === 'connected', 'connected to the stalling server');
  const chunk = new Uint8Array(1024 * 1024);
  const results: string[] = [];
  const outcomes = Array.from({ length: 24 }, () =>
    a.transport.sendAsync('z2', chunk).then(
      () => results.push('ok'),
      (error: TransportError) => results.push(error.code),
    ),
  );
  await waitFor(() => timers.withDelay((ms) => ms === 12_345).length === 1, 'stall timer armed');
  timers.fire(timers.withDelay((ms) => ms === 12_345)[0]!);
  assert.equal(a.transport.peerState('z2'), 'backoff');
  assert.match(String(a.logger.find('warn', 'lost connection')[0]!.fields.reason), /did not drain/);
  // The frame stuck in the socket's buffer may or may not have arrived: its sendAsync says CONNECTION_LOST.
  await waitFor(() => results.includes('CONNECTION_LOST'), 'in-flight chunk rejected');
  // Chunks still queued wait for the next connection (whose timer we never fire), then reject on close.
  await a.transport.close();
  await Promise.all(outcomes);
  assert.ok(results.every((outcome) => ['ok', 'CONNECTION_LOST', 'TRANSPORT_CLOSED'].includes(outcome)));
  assert.ok(results.includes('TRANSPORT_CLOSED'), 'queued chunks reject with TRANSPORT_CLOSED');
  for (const socket of stalled) socket.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('closing every transport leaves no sockets, servers or timers behind', async () => {
  await closeAll(started);
  await waitFor(() => openHandles().length === 0, `no open handles (still: ${openHandles().join(', ')})`, 2000);
});
