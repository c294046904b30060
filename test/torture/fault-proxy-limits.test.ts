import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import type { Socket } from 'node:net';
import { after, test } from 'node:test';
import { FaultProxy } from '../../src/torture/proxy/index.js';
import {
  CapturingLogger,
  expectNoOpenHandles,
  HOST_A,
  HOST_B,
  seededBytes,
  sleep,
  TestClient,
  TestServer,
  waitFor,
} from './proxy-harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
/** One socket read is at most 64 KiB: the most a pipe can take in beyond its cap before it pauses. */
const ONE_READ = 64 * KiB;

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function proxyTo(server: TestServer, options = {}, logger?: CapturingLogger): Promise<FaultProxy> {
  const proxy = new FaultProxy(options, logger ? { logger } : {});
  await proxy.addNode('a', { targetHost: HOST_A, targetPort: 1 });
  await proxy.addNode('b', { targetHost: server.host, targetPort: server.port });
  await proxy.start();
  cleanups.push(() => proxy.close());
  return proxy;
}

/** Digest of everything a socket receives, without keeping the bytes. */
function digestReader(socket: Socket) {
  const hash = createHash('sha256');
  const state = { bytes: 0, digest: () => hash.copy().digest('hex') };
  socket.on('data', (chunk: Buffer) => {
    hash.update(chunk);
    state.bytes += chunk.length;
  });
  return state;
}

test('a receiver that does not read: the proxy buffers at most its cap, pauses the sender, and loses nothing', async () => {
  const maxBufferedBytes = 256 * KiB;
  const server = await TestServer.start(HOST_B, () => {}, { pauseOnConnect: true }); // never reads (yet)
  cleanups.push(() => server.close());
  const proxy = await proxyTo(server, { maxBufferedBytes });
  const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);

  // 24 MiB is more than the kernel buffers on the path can absorb (send and receive buffers of two connections).
  const block = seededBytes(MiB, 42);
  const blocks = 24;
  const expected = createHash('sha256');
  for (let i = 0; i < blocks; i++) {
    client.socket.write(block);
    expected.update(block);
  }
  const stats = () => proxy.stats().links['a->b']!;
  await waitFor(() => stats().backpressurePauses >= 1, 'the proxy paused the sender');
  // Let the path settle. Had the proxy kept reading, the sender's 24 MiB would drain into it within this time;
  // bytes the sender still holds show that the backpressure reached it instead.
  await sleep(300);
  assert.ok(client.socket.writableLength > 0, 'the sender is held back');
  const seen = stats();
  assert.ok(seen.bufferedBytes <= maxBufferedBytes + ONE_READ, `buffered ${seen.bufferedBytes}`);
  assert.ok(seen.peakBufferedBytes <= maxBufferedBytes + ONE_READ, `peak ${seen.peakBufferedBytes}`);
  assert.ok(seen.bytesPassed < blocks * MiB, 'not everything was forced through');

  // Once the receiver reads, everything arrives intact.
  const atB = server.sockets[0]!;
  const reader = digestReader(atB);
  atB.resume();
  await waitFor(() => reader.bytes === blocks * MiB, 'all bytes delivered', 20_000);
  assert.equal(reader.digest(), expected.digest('hex'));
  const final = stats();
  assert.equal(final.bytesPassed, blocks * MiB);
  assert.ok(final.peakBufferedBytes <= maxBufferedBytes + ONE_READ, `peak ${final.peakBufferedBytes}`);
  await client.destroy();
});

test('a delayed link holds at most its cap per connection and still delivers everything in order', async () => {
  const maxBufferedBytes = 128 * KiB;
  const server = await TestServer.start(HOST_B);
  cleanups.push(() => server.close());
  const proxy = await proxyTo(server, { maxBufferedBytes });
  proxy.setFault('a', 'b', { mode: 'delay', delayMs: 50 });
  const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  const payload = seededBytes(2 * MiB, 9);
  client.socket.write(payload);
  await waitFor(
    () => server.sockets.length === 1 && server.bytesFrom(server.sockets[0]!).length === payload.length,
    'delayed bytes delivered',
    15_000,
  );
  assert.ok(server.bytesFrom(server.sockets[0]!).equals(payload));
  const stats = proxy.stats().links['a->b']!;
  assert.ok(stats.backpressurePauses >= 1, 'the delay queue filled up and paused the sender');
  assert.ok(stats.peakBufferedBytes <= maxBufferedBytes + ONE_READ, `peak ${stats.peakBufferedBytes}`);
  await client.destroy();
});

test('socket errors on either side never crash the proxy', async () => {
  const logger = new CapturingLogger();
  const resetting = await TestServer.start(HOST_B, (socket) => socket.resetAndDestroy());
  cleanups.push(() => resetting.close());
  const proxy = await proxyTo(resetting, {}, logger);

  // The real node resets every connection: the dialer sees the reset too.
  const first = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await first.whenClosed;
  assert.equal(first.error?.code, 'ECONNRESET');

  // The dialer resets at once, before or after the upstream connection is up.
  for (let i = 0; i < 20; i++) {
    const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
    if (i % 2 === 0) client.socket.write('some bytes');
    client.socket.resetAndDestroy();
    await client.whenClosed;
  }
  await waitFor(() => proxy.stats().connectionsActive === 0, 'all connections finished');
  assert.ok(proxy.stats().links['a->b']!.connectionErrors >= 1);

  // Nothing listens where node a should be: the dial fails, the dialer is reset, the failure is counted.
  const toDeadNode = await TestClient.connect(proxy.frontDoor('a'), HOST_B);
  await toDeadNode.whenClosed;
  assert.equal(proxy.stats().links['b->a']!.upstreamConnectFailures, 1);
  assert.ok(logger.lines.some((line) => line.message.includes('upstream dial failed')));

  // The proxy still works.
  const echo = await TestServer.echo('127.0.0.5');
  cleanups.push(() => echo.close());
  await proxy.addNode('e', { targetHost: echo.host, targetPort: echo.port });
  const client = await TestClient.connect(proxy.frontDoor('e'), HOST_A);
  client.socket.write('alive');
  await waitFor(() => client.received.toString() === 'alive', 'echo after the errors');
  await client.destroy();
});

test('over maxConnections, new connections are reset at once', async () => {
  const server = await TestServer.echo(HOST_B);
  cleanups.push(() => server.close());
  const proxy = await proxyTo(server, { maxConnections: 2 });
  const kept = [
    await TestClient.connect(proxy.frontDoor('b'), HOST_A),
    await TestClient.connect(proxy.frontDoor('b'), HOST_A),
  ];
  const third = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  await third.whenClosed;
  assert.equal(proxy.stats().links['a->b']!.connectionsRejected, 1);
  await Promise.all(kept.map((client) => client.destroy()));
});

test('closing everything leaves no sockets, servers or timers behind', async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  await expectNoOpenHandles();
});
