/**
 * Hostile or broken input on one connection closes that connection alone, with a logged reason and a counted
 * error; the node keeps serving its real peers throughout. A real pair (m1 ⇄ m2) exchanges messages after every
 * attack on m1.
 */
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import { Unpackr } from 'msgpackr';
import { PROTOCOL_VERSION } from '../../src/transport/frame-codec.js';
import { SeededRandom } from '../../src/util/random.js';
import {
  closeAll,
  collectUntilClosed,
  connectAll,
  helloFrame,
  openHandles,
  packFrame,
  rawConnect,
  rawFrame,
  startNode,
  type TestNode,
  waitFor,
} from './harness.js';

const MAX_FRAME_BYTES = 64 * 1024;
let victim: TestNode;
let friend: TestNode;
const others: TestNode[] = [];

before(async () => {
  victim = await startNode('m1', '127.0.0.1', {
    maxFrameBytes: MAX_FRAME_BYTES,
    handshakeTimeoutMs: 500,
    // Raw test sockets call themselves raw-*; the real peer is m2.
    isKnownPeer: (name) => name === 'm2' || name.startsWith('raw-'),
    components: { random: new SeededRandom(5) },
  });
  friend = await startNode('m2', '127.0.0.2', { components: { random: new SeededRandom(6) } });
  connectAll([victim, friend]);
});

after(() => closeAll([victim, friend, ...others]));

let exchanged = 0;
/** Both directions of the real pair still work. */
async function stillServing(): Promise<void> {
  exchanged++;
  friend.transport.send('m1', { ping: exchanged });
  victim.transport.send('m2', { pong: exchanged });
  await waitFor(
    () =>
      victim.received.some(({ message }) => (message as { ping?: number }).ping === exchanged) &&
      friend.received.some(({ message }) => (message as { pong?: number }).pong === exchanged),
    'the real peers to exchange a message',
  );
}

/** Opens a raw connection to the victim, writes `bytes` (then ends if asked) and waits until the victim closes it. */
async function attack(bytes: Buffer[], endAfter = false): Promise<Buffer> {
  const socket = await rawConnect(victim.transport.listenAddress(), '127.0.0.9');
  const received = collectUntilClosed(socket);
  for (const chunk of bytes) socket.write(chunk);
  if (endAfter) socket.end();
  return received;
}

const unidentified = () => victim.transport.stats().inbound;

/** Decodes the frames a raw socket received. */
function frames(bytes: Buffer): unknown[] {
  const out: unknown[] = [];
  const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });
  for (let offset = 0; offset + 4 <= bytes.length; ) {
    const length = bytes.readUInt32BE(offset);
    out.push(unpackr.unpack(bytes.subarray(offset + 4, offset + 4 + length)));
    offset += 4 + length;
  }
  return out;
}

test('the real pair is connected', async () => {
  await stillServing();
});

test('garbage instead of a hello (an HTTP request) is closed as an oversized frame', async () => {
  const before = unidentified().decodeErrors;
  await attack([Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]);
  assert.equal(unidentified().decodeErrors, before + 1);
  assert.ok(victim.logger.find('warn', 'over the limit').length >= 1);
  await stillServing();
});

test('a hello bigger than the handshake cap is refused before it is buffered', async () => {
  const before = unidentified().decodeErrors;
  await attack([helloFrame('test-cluster', `raw-${'x'.repeat(5000)}`)]);
  assert.equal(unidentified().decodeErrors, before + 1);
  await stillServing();
});

test('a batch before the hello breaks the protocol', async () => {
  const before = unidentified().decodeErrors;
  await attack([packFrame([4, 'sneaky'])]);
  assert.equal(unidentified().decodeErrors, before + 1);
  assert.ok(victim.logger.find('warn', 'expected a hello').length >= 1);
  assert.ok(!victim.received.some(({ message }) => message === 'sneaky'));
  await stillServing();
});

test('a hello from another cluster gets a CLUSTER_MISMATCH reject frame, then the connection closes', async () => {
  const reply = await attack([helloFrame('other-cluster', 'raw-a')]);
  assert.deepEqual(frames(reply)[0], [
    3,
    'CLUSTER_MISMATCH',
    'node "raw-a" belongs to cluster "other-cluster", but "m1" belongs to "test-cluster"',
  ]);
  assert.ok(victim.logger.find('error', 'refused a peer from another cluster').length >= 1);
  await stillServing();
});

test('an unknown name and an unsupported version are refused with their codes', async () => {
  const before = unidentified().handshakeRejections;
  const unknown = frames(await attack([helloFrame('test-cluster', 'stranger')]));
  assert.equal((unknown[0] as unknown[])[1], 'UNKNOWN_PEER');
  const future = frames(await attack([helloFrame('test-cluster', 'raw-b', 99)]));
  assert.equal((future[0] as unknown[])[1], 'UNSUPPORTED_VERSION');
  const self = frames(await attack([helloFrame('test-cluster', 'm1')]));
  assert.equal((self[0] as unknown[])[1], 'UNKNOWN_PEER');
  assert.equal(unidentified().handshakeRejections, before + 3);
  await stillServing();
});

test('an oversized length prefix after a good hello closes the connection and counts for that peer', async () => {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(MAX_FRAME_BYTES + 1, 0);
  const socket = await rawConnect(victim.transport.listenAddress());
  const closed = collectUntilClosed(socket);
  socket.write(helloFrame('test-cluster', 'raw-c'));
  const welcome = await new Promise<Buffer>((resolve) => socket.once('data', resolve));
  assert.deepEqual((frames(welcome)[0] as unknown[]).slice(0, 4), [2, PROTOCOL_VERSION, 'test-cluster', 'm1']);
  socket.write(Buffer.concat([prefix, Buffer.alloc(100)]));
  await closed;
  assert.equal(victim.transport.stats().peers['raw-c']!.decodeErrors, 1);
  await stillServing();
});

test('an undecodable body after a good hello closes the connection; earlier frames were delivered', async () => {
  await attack([
    helloFrame('test-cluster', 'raw-d'),
    packFrame([4, 'first', 'second']),
    rawFrame(Buffer.from([0xc1, 0xc1, 0xc1])), // 0xc1 is never valid msgpack
    packFrame([4, 'after-garbage']),
  ]);
  const fromD = victim.received.filter((r) => r.from === 'raw-d').map((r) => r.message);
  assert.deepEqual(fromD, ['first', 'second']);
  const stats = victim.transport.stats().peers['raw-d']!;
  assert.equal(stats.decodeErrors, 1);
  assert.equal(stats.messagesReceived, 2);
  assert.ok(victim.logger.find('warn', 'undecodable frame body').length >= 1);
  await stillServing();
});

test('a frame cut short by the connection closing is counted as truncated', async () => {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(100, 0);
  await attack([helloFrame('test-cluster', 'raw-e'), packFrame([4, 'whole']), prefix, Buffer.alloc(10)], true);
  await waitFor(() => victim.transport.stats().peers['raw-e']?.truncatedFrames === 1, 'truncation counted');
  assert.deepEqual(
    victim.received.filter((r) => r.from === 'raw-e').map((r) => r.message),
    ['whole'],
  );
  await stillServing();
});

test('a second hello or a welcome after the handshake breaks the protocol', async () => {
  await attack([helloFrame('test-cluster', 'raw-f'), helloFrame('test-cluster', 'raw-f')]);
  assert.equal(victim.transport.stats().peers['raw-f']!.decodeErrors, 1);
  await stillServing();
});

test('a connection that never says hello is closed after handshakeTimeoutMs', async () => {
  const before = unidentified().handshakeTimeouts;
  const socket = await rawConnect(victim.transport.listenAddress());
  await collectUntilClosed(socket);
  assert.equal(unidentified().handshakeTimeouts, before + 1);
  await stillServing();
});

test('a newer connection from the same name replaces the older one', async () => {
  const socket = await rawConnect(victim.transport.listenAddress());
  const closed = collectUntilClosed(socket);
  socket.write(helloFrame('test-cluster', 'm2')); // pretends to be m2: m2's real connection is dropped
  // m2 notices, redials, and its new connection in turn replaces the impostor.
  await closed;
  await waitFor(() => friend.transport.stats().peers.m1!.reconnects >= 1, 'm2 reconnected');
  await stillServing();
});

test('a garbage-speaking server makes the dialer back off, nothing more', async () => {
  const sockets: Socket[] = [];
  const liar = createServer((socket) => {
    sockets.push(socket);
    socket.once('data', () => socket.write(Buffer.from([0, 0, 0, 3, 0xc1, 0xc1, 0xc1])));
  });
  await new Promise<void>((resolve) => liar.listen({ host: '127.0.0.3', port: 0 }, resolve));
  const { port } = liar.address() as { port: number };
  victim.transport.setPeers({ m2: friend.transport.listenAddress(), liar: `127.0.0.3:${port}` });
  await waitFor(() => victim.transport.stats().peers.liar!.decodeErrors >= 1, 'decode error on the dialer');
  assert.notEqual(victim.transport.peerState('liar'), 'connected');
  victim.transport.setPeers({ m2: friend.transport.listenAddress() });
  for (const socket of sockets) socket.destroy();
  await new Promise<void>((resolve) => liar.close(() => resolve()));
  await stillServing();
});

test('past maxInboundConnections new connections are closed at once', async () => {
  const small = await startNode('k1', '127.0.0.1', { maxInboundConnections: 2 });
  others.push(small);
  const held = [await rawConnect(small.transport.listenAddress()), await rawConnect(small.transport.listenAddress())];
  await waitFor(() => small.transport.stats().inbound.open === 2, 'two open');
  await collectUntilClosed(await rawConnect(small.transport.listenAddress()));
  assert.equal(small.transport.stats().inbound.refusedOverLimit, 1);
  for (const socket of held) socket.destroy();
  await small.transport.close();
});

test('after all of it nothing leaked and closing leaves no handles', async () => {
  await stillServing();
  assert.equal(victim.transport.stats().peers.m2!.decodeErrors, 0);
  await closeAll([victim, friend, ...others]);
  await waitFor(() => openHandles().length === 0, `no open handles (still: ${openHandles().join(', ')})`, 2000);
});
