import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FaultProxy } from '../../src/torture/proxy/index.js';
import { SeededRandom } from '../../src/util/random.js';
import {
  expectNoOpenHandles,
  HOST_A,
  HOST_B,
  HOST_C,
  seededBytes,
  TestClient,
  TestServer,
  waitFor,
} from './proxy-harness.js';

const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

/** A proxy for nodes a, b, c on 127.0.0.1/2/3 whose real listeners are the given servers. */
async function proxyFor(servers: { a: TestServer; b: TestServer; c: TestServer }, options = {}): Promise<FaultProxy> {
  const proxy = new FaultProxy(options);
  for (const [name, server] of Object.entries(servers)) {
    await proxy.addNode(name, { targetHost: server.host, targetPort: server.port });
  }
  await proxy.start();
  cleanups.push(() => proxy.close());
  return proxy;
}

async function nodes() {
  const servers = {
    a: await TestServer.echo(HOST_A),
    b: await TestServer.echo(HOST_B),
    c: await TestServer.echo(HOST_C),
  };
  for (const server of Object.values(servers)) cleanups.push(() => server.close());
  return servers;
}

/** Writes `payload` in seeded random pieces of 1 byte..128 KiB, waiting for drain like a well-behaved sender. */
async function writeInPieces(client: TestClient, payload: Buffer, seed: number): Promise<void> {
  const random = new SeededRandom(seed);
  for (let offset = 0; offset < payload.length; ) {
    const size = 1 + random.int(128 * 1024);
    const ok = client.socket.write(payload.subarray(offset, offset + size));
    offset += size;
    if (!ok) await new Promise((resolve) => client.socket.once('drain', resolve));
  }
}

test('pass-through: large random payloads come back intact and in order, on concurrent connections', async () => {
  const servers = await nodes();
  const proxy = await proxyFor(servers);
  const payloadBytes = 4 * 1024 * 1024;
  const sources = [HOST_A, HOST_C, HOST_A];
  const clients = await Promise.all(sources.map((host) => TestClient.connect(proxy.frontDoor('b'), host)));
  const payloads = clients.map((_, i) => seededBytes(payloadBytes, 100 + i));

  await Promise.all(clients.map((client, i) => writeInPieces(client, payloads[i]!, 7 + i)));
  await waitFor(() => clients.every((client) => client.receivedLength >= payloadBytes), 'echoes', 15_000);
  clients.forEach((client, i) => {
    assert.equal(client.receivedLength, payloadBytes, `connection ${i}: no extra bytes`);
    assert.ok(client.received.equals(payloads[i]!), `connection ${i}: bytes intact and in order`);
  });

  const links = proxy.stats().links;
  assert.equal(links['a->b']!.bytesPassed, 2 * payloadBytes);
  assert.equal(links['b->a']!.bytesPassed, 2 * payloadBytes);
  assert.equal(links['c->b']!.bytesPassed, payloadBytes);
  assert.equal(links['b->c']!.bytesPassed, payloadBytes);
  assert.equal(links['a->b']!.connectionsOpened, 2);
  assert.equal(links['a->b']!.connectionsActive, 2);
  assert.equal(links['a->b']!.bytesDiscarded, 0);
  assert.equal(links['a->c']!.connectionsOpened, 0);

  // A half-close is passed on: the echo server ends its side after ours, and both sockets close cleanly.
  for (const client of clients) client.socket.end();
  await Promise.all(clients.map((client) => client.whenClosed));
  assert.ok(clients.every((client) => client.error === undefined));
  await waitFor(() => proxy.stats().connectionsActive === 0, 'connections finished');
});

test('the link is told from the source host, and the real node still sees the dialer as the source', async () => {
  const servers = await nodes();
  const proxy = await proxyFor(servers);

  const fromC = await TestClient.connect(proxy.frontDoor('b'), HOST_C);
  const fromA = await TestClient.connect(proxy.frontDoor('c'), HOST_A);
  const fromB = await TestClient.connect(proxy.frontDoor('a'), HOST_B);
  for (const client of [fromC, fromA, fromB]) client.socket.write('hi');
  await waitFor(() => [fromC, fromA, fromB].every((client) => client.receivedLength === 2), 'echoes');

  assert.deepEqual(
    servers.b.sockets.map((socket) => socket.remoteAddress),
    [HOST_C],
  );
  assert.deepEqual(
    servers.c.sockets.map((socket) => socket.remoteAddress),
    [HOST_A],
  );
  assert.deepEqual(
    servers.a.sockets.map((socket) => socket.remoteAddress),
    [HOST_B],
  );
  const links = proxy.stats().links;
  assert.equal(links['c->b']!.connectionsOpened, 1);
  assert.equal(links['a->c']!.connectionsOpened, 1);
  assert.equal(links['b->a']!.connectionsOpened, 1);
  assert.equal(links['a->b']!.connectionsOpened, 0);
  assert.equal(links['c->b']!.bytesPassed, 2);
  assert.equal(links['b->c']!.bytesPassed, 2);
  // Every ordered pair of registered nodes is listed, traffic or not.
  assert.equal(Object.keys(links).length, 6);
  await Promise.all([fromC, fromA, fromB].map((client) => client.destroy()));
});

test('a connection from a host that is no node is reset by default, or proxied on its own link if allowed', async () => {
  const servers = await nodes();
  const strict = await proxyFor(servers);
  const stranger = await TestClient.connect(strict.frontDoor('b'), '127.0.0.9');
  await stranger.whenClosed;
  assert.equal(stranger.receivedLength, 0);
  assert.equal(strict.stats().unknownSourceRejected, 1);
  assert.equal(servers.b.sockets.length, 0, 'the real node was never dialed');

  const lenient = await proxyFor(servers, { unknownSources: 'pass' });
  const guest = await TestClient.connect(lenient.frontDoor('b'), '127.0.0.9');
  guest.socket.write('hello');
  await waitFor(() => guest.receivedLength === 5, 'echo through the lenient proxy');
  assert.equal(lenient.stats().links['127.0.0.9->b']!.bytesPassed, 5);
  await guest.destroy();
});

test('closing the proxy closes every socket and listener', async () => {
  const server = await TestServer.echo(HOST_B);
  const proxy = new FaultProxy();
  await proxy.addNode('a', { targetHost: HOST_A, targetPort: 1 });
  await proxy.addNode('b', { targetHost: HOST_B, targetPort: server.port });
  await proxy.start();
  const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  client.socket.write('x');
  await waitFor(() => client.receivedLength === 1, 'echo');
  proxy.setFault('a', 'b', { mode: 'delay', delayMs: 60_000 });
  client.socket.write('queued behind a long timer');
  await waitFor(() => proxy.stats().links['a->b']!.bufferedBytes > 0, 'bytes queued');

  await proxy.close();
  await proxy.close(); // idempotent
  await client.whenEnded;
  assert.ok(client.ended, 'the client saw the proxy hang up');
  await client.destroy();
  await server.close();
  await Promise.all(cleanups.splice(0).map((cleanup) => cleanup()));
  await expectNoOpenHandles();
});

test('a half-close with bytes still buffered towards a slow receiver loses nothing', async () => {
  // b says goodbye at once (its FIN reaches a first) and only starts reading later.
  const slow = await TestServer.start(
    HOST_B,
    (socket) => {
      socket.end();
    },
    { pauseOnConnect: true },
  );
  cleanups.push(() => slow.close());
  const proxy = new FaultProxy({ maxBufferedBytes: 64 * 1024 * 1024 });
  await proxy.addNode('a', { targetHost: HOST_A, targetPort: 1 });
  await proxy.addNode('b', { targetHost: slow.host, targetPort: slow.port });
  await proxy.start();
  cleanups.push(() => proxy.close());

  const client = await TestClient.connect(proxy.frontDoor('b'), HOST_A);
  // Well under the cap: the proxy reads all of it and a's FIN, and holds what the kernel buffers do not take.
  const payload = seededBytes(16 * 1024 * 1024, 5);
  client.socket.end(payload);
  await client.whenClosed;
  assert.equal(client.error, undefined);
  await waitFor(() => proxy.stats().links['a->b']!.bytesPassed === payload.length, 'all bytes read by the proxy');
  assert.ok(proxy.stats().links['a->b']!.bufferedBytes > 0, 'bytes held for the slow receiver');
  const atB = slow.sockets[0]!;
  const chunks: Buffer[] = [];
  atB.on('data', (chunk: Buffer) => chunks.push(chunk));
  const ended = new Promise((resolve) => atB.once('end', resolve));
  atB.resume();
  await ended;
  assert.ok(Buffer.concat(chunks).equals(payload), 'every byte arrived before the end');
  await waitFor(() => proxy.stats().connectionsActive === 0, 'connection finished');
});
