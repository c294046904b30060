import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { TransportError } from '../../src/transport/errors.js';
import type { PeerConnectionState } from '../../src/transport/options.js';
import { SeededRandom } from '../../src/util/random.js';
import {
  closeAll,
  connectAll,
  deadPort,
  FakeClock,
  nextTurn,
  openHandles,
  startNode,
  type TestNode,
  waitFor,
} from './harness.js';

const started: TestNode[] = [];
async function node(name: string, host: string, options: Parameters<typeof startNode>[2] = {}, port = 0) {
  const created = await startNode(name, host, { components: { random: new SeededRandom(7) }, ...options }, port);
  started.push(created);
  return created;
}
after(() => closeAll(started));

const isCode = (code: string) => (error: unknown) => error instanceof TransportError && error.code === code;

interface GroupMessage {
  group: number;
  seq: number;
  from: string;
  payload: Uint8Array;
}

test('messages of many groups arrive intact and in order between three nodes on 127.0.0.1/2/3', async () => {
  const nodes = [await node('n1', '127.0.0.1'), await node('n2', '127.0.0.2'), await node('n3', '127.0.0.3')];
  connectAll(nodes);
  const groups = 40;
  const perPeer = 3000;
  for (let turn = 0; turn < perPeer / 300; turn++) {
    for (const sender of nodes) {
      for (const receiver of nodes) {
        if (receiver === sender) continue;
        for (let i = turn * 300; i < (turn + 1) * 300; i++) {
          const payload = new Uint8Array(100).fill((i * 7 + sender.name.length) & 0xff);
          const message: GroupMessage = { group: i % groups, seq: i, from: sender.name, payload };
          assert.equal(sender.transport.send(receiver.name, message), true);
        }
      }
    }
    await nextTurn();
  }
  await waitFor(() => nodes.every((n) => n.received.length === 2 * perPeer), 'all messages');
  for (const receiver of nodes) {
    const lastSeq = new Map<string, number>();
    for (const { from, message } of receiver.received) {
      const m = message as GroupMessage;
      assert.equal(m.from, from);
      const key = `${from}/${m.group}`;
      const previous = lastSeq.get(key) ?? m.group - groups;
      assert.equal(m.seq, previous + groups, `gap or reorder in ${key}`);
      lastSeq.set(key, m.seq);
      assert.equal(m.payload.length, 100);
      assert.ok(m.payload.every((byte) => byte === ((m.seq * 7 + from.length) & 0xff)));
    }
    const stats = receiver.transport.stats();
    for (const sender of nodes) {
      if (sender === receiver) continue;
      assert.equal(stats.peers[sender.name]!.messagesReceived, perPeer);
      assert.equal(stats.peers[sender.name]!.state, 'connected');
      assert.equal(stats.peers[sender.name]!.messagesSent, perPeer);
      assert.equal(stats.peers[sender.name]!.dropped, 0);
    }
  }
  await closeAll(nodes);
});

test('outgoing connections bind to the listen host: the receiver sees 127.0.0.2 and 127.0.0.3', async () => {
  const nodes = [await node('a1', '127.0.0.1'), await node('a2', '127.0.0.2'), await node('a3', '127.0.0.3')];
  connectAll(nodes);
  for (const sender of nodes)
    for (const receiver of nodes) if (sender !== receiver) sender.transport.send(receiver.name, 'hi');
  await waitFor(() => nodes.every((n) => n.received.length === 2), 'greetings');
  const seenBy = (receiver: TestNode, sender: string) =>
    receiver.transport.stats().peers[sender]!.inboundRemoteAddress!.replace(/:\d+$/, '');
  assert.equal(seenBy(nodes[0]!, 'a2'), '127.0.0.2');
  assert.equal(seenBy(nodes[0]!, 'a3'), '127.0.0.3');
  assert.equal(seenBy(nodes[1]!, 'a1'), '127.0.0.1');
  assert.equal(seenBy(nodes[2]!, 'a2'), '127.0.0.2');
  await closeAll(nodes);
});

test('everything sent in one event-loop turn leaves as one frame', async () => {
  const a = await node('b1', '127.0.0.1');
  const b = await node('b2', '127.0.0.2');
  connectAll([a, b]);
  await waitFor(() => a.transport.peerState('b2') === 'connected', 'connection');
  const before = a.transport.stats().peers.b2!;
  for (let i = 0; i < 1000; i++) a.transport.send('b2', { group: i % 10, i });
  await waitFor(() => b.received.length === 1000, '1000 messages');
  let after = a.transport.stats().peers.b2!;
  assert.equal(after.framesSent - before.framesSent, 1);
  assert.equal(b.transport.stats().peers.b1!.framesReceived, 1);

  // Three turns, three frames.
  for (let turn = 0; turn < 3; turn++) {
    for (let i = 0; i < 10; i++) a.transport.send('b2', { turn, i });
    await nextTurn();
  }
  await waitFor(() => b.received.length === 1030, '30 more messages');
  after = a.transport.stats().peers.b2!;
  assert.equal(after.framesSent - before.framesSent, 4);
  assert.equal(after.messagesSent - before.messagesSent, 1030);
  await closeAll([a, b]);
});

test('a batch over batchMaxBytes is split into several frames, still in order', async () => {
  const a = await node('c1', '127.0.0.1', { batchMaxBytes: 2000 });
  const b = await node('c2', '127.0.0.2');
  connectAll([a, b]);
  await waitFor(() => a.transport.peerState('c2') === 'connected', 'connection');
  for (let i = 0; i < 100; i++) a.transport.send('c2', { i, pad: 'x'.repeat(180) }); // ~200 bytes each
  await waitFor(() => b.received.length === 100, '100 messages');
  assert.deepEqual(
    b.received.map(({ message }) => (message as { i: number }).i),
    Array.from({ length: 100 }, (_, i) => i),
  );
  const stats = a.transport.stats().peers.c2!;
  assert.ok(stats.framesSent >= 10 && stats.framesSent <= 12, `frames ${stats.framesSent}`);
  assert.ok(stats.bytesSent / stats.framesSent <= 2000 + 10);
  await closeAll([a, b]);
});

test('sendAsync resolves once written, paces a bulk stream, and rejects with clear codes', async () => {
  const a = await node('d1', '127.0.0.1', { maxFrameBytes: 512 * 1024 });
  const b = await node('d2', '127.0.0.2', { maxFrameBytes: 512 * 1024 });
  connectAll([a, b]);
  const chunk = new Uint8Array(256 * 1024);
  for (let i = 0; i < 40; i++) {
    chunk.fill(i);
    await a.transport.sendAsync('d2', { snapshotChunk: i, data: chunk });
  }
  await waitFor(() => b.received.length === 40, '40 chunks');
  b.received.forEach(({ message }, i) => {
    const m = message as { snapshotChunk: number; data: Uint8Array };
    assert.equal(m.snapshotChunk, i);
    assert.equal(m.data.length, 256 * 1024);
    assert.equal(m.data[1000], i);
  });

  await assert.rejects(a.transport.sendAsync('nobody', 1), isCode('PEER_UNKNOWN'));
  await assert.rejects(a.transport.sendAsync('d2', new Uint8Array(600 * 1024)), isCode('MESSAGE_TOO_LARGE'));
  await assert.rejects(a.transport.sendAsync('d2', { big: 10n ** 30n }), isCode('ENCODE_FAILED'));
  assert.equal(a.transport.send('d2', new Uint8Array(600 * 1024)), false);
  assert.equal(a.transport.send('d2', Symbol('no') as unknown), false);
  assert.equal(a.transport.send('nobody', 1), false);
  const stats = a.transport.stats();
  assert.equal(stats.peers.d2!.droppedTooLarge, 2);
  assert.equal(stats.peers.d2!.droppedEncodeFailed, 2);
  assert.equal(stats.droppedUnknownPeer, 2);
  await closeAll([a, b]);
  assert.equal(a.transport.send('d2', 1), false);
  await assert.rejects(a.transport.sendAsync('d2', 1), isCode('TRANSPORT_CLOSED'));
});

test('a throwing onMessage is counted and logged; later messages still arrive', async () => {
  const a = await node('e1', '127.0.0.1');
  const seen: unknown[] = [];
  const b = await node('e2', '127.0.0.2', {
    onMessage: (_from, message) => {
      if (message === 'boom') throw new Error('handler bug');
      seen.push(message);
    },
  });
  connectAll([a, b]);
  a.transport.send('e2', 1);
  a.transport.send('e2', 'boom');
  a.transport.send('e2', 2);
  await waitFor(() => seen.length === 2, 'two messages');
  assert.deepEqual(seen, [1, 2]);
  assert.equal(b.transport.stats().peers.e1!.handlerErrors, 1);
  assert.equal(b.logger.find('error', 'onMessage threw').length, 1);
  await closeAll([a, b]);
});

test('lastReceivedAt reads the injected clock; state changes are reported', async () => {
  const clock = new FakeClock(5000);
  const states: PeerConnectionState[] = [];
  const a = await node('f1', '127.0.0.1', { onPeerStateChange: (_peer, state) => states.push(state) });
  const b = await node('f2', '127.0.0.2', { components: { clock } });
  connectAll([a, b]);
  assert.equal(b.transport.lastReceivedAt('f1'), undefined);
  a.transport.send('f2', 'x');
  await waitFor(() => b.received.length === 1, 'first message');
  assert.equal(b.transport.lastReceivedAt('f1'), 5000);
  clock.time = 7000;
  a.transport.send('f2', 'y');
  await waitFor(() => b.received.length === 2, 'second message');
  assert.equal(b.transport.lastReceivedAt('f1'), 7000);
  assert.equal(b.transport.stats().peers.f1!.lastReceivedAt, 7000);
  assert.deepEqual(states, ['connecting', 'connected']);
  assert.equal(a.transport.peerState('f2'), 'connected');
  assert.equal(a.transport.peerState('nobody'), undefined);
  await closeAll([a, b]);
});

test('setPeers adds, re-addresses and removes peers at runtime', async () => {
  const a = await node('g1', '127.0.0.1');
  const b = await node('g2', '127.0.0.2', { peers: {} });
  b.transport.setPeers({ g1: a.transport.listenAddress() });
  assert.equal(a.transport.send('g2', 'before'), false, 'g2 is not a peer yet');

  a.transport.setPeers({ g2: b.transport.listenAddress() });
  a.transport.send('g2', 'one');
  await waitFor(() => b.received.length === 1, 'message after adding');

  // g2 moves to another address: re-address it and the queue follows.
  await b.transport.close();
  const moved = await node('g2', '127.0.0.27', { peers: { g1: a.transport.listenAddress() } });
  a.transport.send('g2', 'two');
  a.transport.setPeers({ g2: moved.transport.listenAddress() });
  a.transport.send('g2', 'three');
  await waitFor(() => moved.received.length === 2, 'messages after moving');
  assert.deepEqual(
    moved.received.map((r) => r.message),
    ['two', 'three'],
  );
  await waitFor(() => moved.transport.stats().inbound.open === 1, 'one inbound at g2');

  // Removing g1 at g2 closes g1's inbound connection there; g1 gets refused when it redials.
  moved.transport.setPeers({});
  await waitFor(() => moved.transport.stats().inbound.open === 0, 'inbound closed at g2');
  await waitFor(() => a.transport.stats().peers.g2!.handshakeRejections >= 1, 'g1 refused');
  assert.ok(a.logger.find('error', 'UNKNOWN_PEER').length >= 1);

  // Removing a peer rejects its waiting sendAsync calls.
  const pending = a.transport.sendAsync('g2', 'never');
  a.transport.setPeers({});
  await assert.rejects(pending, isCode('PEER_REMOVED'));
  assert.equal(a.transport.peerState('g2'), undefined);
  assert.equal(a.transport.stats().peers.g2, undefined);
  assert.throws(() => a.transport.setPeers({ g3: 'not an address' }), isCode('INVALID_ADDRESS'));
  await closeAll([a, moved]);
});

test('start fails cleanly on a port in use; close is idempotent', async () => {
  const a = await node('h1', '127.0.0.1');
  const port = Number(a.transport.listenAddress().split(':')[1]);
  const clash = await startNode('h2', '127.0.0.1', {}, port).catch((error: NodeJS.ErrnoException) => error);
  assert.ok(clash instanceof Error && (clash as NodeJS.ErrnoException).code === 'EADDRINUSE');
  await Promise.all([a.transport.close(), a.transport.close()]);
  await assert.rejects(a.transport.start(), /start\(\) called twice or after close/);
});

test('a peer that is down only costs its queue: unreachable address, messages wait', async () => {
  const port = await deadPort('127.0.0.26');
  const a = await node('i1', '127.0.0.1', { peers: { i2: `127.0.0.26:${port}` }, reconnectMaxMs: 100 });
  for (let i = 0; i < 5; i++) assert.equal(a.transport.send('i2', i), true);
  await waitFor(() => a.transport.stats().peers.i2!.connectFailures >= 2, 'failed attempts');
  const stats = a.transport.stats().peers.i2!;
  assert.equal(stats.queuedMessages, 5);
  assert.notEqual(stats.state, 'connected');
  await a.transport.close();
});

test('host names and IPv6 literals work as listen and peer addresses', async (t) => {
  const a = await node('j1', 'localhost');
  const b = await node('j2', 'localhost');
  const portOf = (n: TestNode) => n.transport.listenAddress().split(':').pop();
  a.transport.setPeers({ j2: `localhost:${portOf(b)}` });
  b.transport.setPeers({ j1: `localhost:${portOf(a)}` });
  a.transport.send('j2', 'by name');
  await waitFor(() => b.received.length === 1, 'message over localhost');
  await closeAll([a, b]);

  const v6 = await node('k1', '::1').catch(() => undefined);
  if (v6 === undefined) {
    t.skip('no IPv6 loopback here');
    return;
  }
  const w6 = await node('k2', '::1', { peers: { k1: v6.transport.listenAddress() } });
  v6.transport.setPeers({ k2: w6.transport.listenAddress() });
  assert.match(w6.transport.listenAddress(), /^\[::1\]:\d+$/);
  v6.transport.send('k2', 'over ipv6');
  await waitFor(() => w6.received.length === 1, 'message over [::1]');
  assert.match(w6.transport.stats().peers.k1!.inboundRemoteAddress!, /^\[::1\]:/);
  await closeAll([v6, w6]);
});

test('closing every transport leaves no sockets, servers or timers behind', async () => {
  await closeAll(started);
  // A closed server's handle goes away in the loop's close phase, just after its close callback.
  await waitFor(() => openHandles().length === 0, `no open handles (still: ${openHandles().join(', ')})`, 2000);
});
