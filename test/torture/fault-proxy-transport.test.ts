import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { FaultProxy } from '../../src/torture/proxy/index.js';
import { TcpTransport } from '../../src/transport/index.js';
import { SeededRandom } from '../../src/util/random.js';
import { expectNoOpenHandles, HOST_A, HOST_B, sleep, waitFor } from './proxy-harness.js';

interface Node {
  readonly name: string;
  readonly host: string;
  readonly transport: TcpTransport;
  readonly received: string[];
}

const nodes: Node[] = [];
let proxy: FaultProxy | undefined;
after(async () => {
  await proxy?.close();
  await Promise.all(nodes.map((node) => node.transport.close()));
});

async function startNode(name: string, host: string, seed: number): Promise<Node> {
  const received: string[] = [];
  const transport = new TcpTransport(
    {
      nodeName: name,
      clusterId: 'proxy-test',
      listen: `${host}:0`,
      onMessage: (_from, message) => received.push(String((message as { text: string }).text)),
    },
    { random: new SeededRandom(seed) },
  );
  await transport.start();
  const node = { name, host, transport, received };
  nodes.push(node);
  return node;
}

const portOf = (node: Node) => Number(node.transport.listenAddress().split(':')[1]);
const receivedWith = (node: Node, prefix: string) => node.received.filter((text) => text.startsWith(prefix));

test('two transports through the proxy: messages flow, stop one way under a blackhole, and resume after heal', async () => {
  const n1 = await startNode('n1', HOST_A, 1);
  const n2 = await startNode('n2', HOST_B, 2);
  proxy = new FaultProxy();
  for (const node of [n1, n2]) {
    await proxy.addNode(node.name, { targetHost: node.host, targetPort: portOf(node) });
  }
  await proxy.start();
  // Each node reaches the other through the other's front door.
  n1.transport.setPeers({ n2: proxy.frontDoor('n2') });
  n2.transport.setPeers({ n1: proxy.frontDoor('n1') });

  n1.transport.send('n2', { text: 'hello-from-n1' });
  n2.transport.send('n1', { text: 'hello-from-n2' });
  await waitFor(() => n2.received.includes('hello-from-n1') && n1.received.includes('hello-from-n2'), 'greetings');
  // The receiving node sees the real sender's address, though the bytes went through the proxy.
  assert.match(n2.transport.stats().peers['n1']!.inboundRemoteAddress ?? '', /^127\.0\.0\.1:/);
  assert.match(n1.transport.stats().peers['n2']!.inboundRemoteAddress ?? '', /^127\.0\.0\.2:/);

  proxy.oneWay('n1', 'n2');
  const discardedBefore = proxy.stats().links['n1->n2']!.bytesDiscarded;
  for (let i = 0; i < 10; i++) n1.transport.send('n2', { text: `during-${i}` });
  await waitFor(() => proxy!.stats().links['n1->n2']!.bytesDiscarded > discardedBefore, 'n1→n2 bytes discarded');
  // n2 → n1 still flows (on n2's own connection, whose answers are handshake-only and long done).
  for (let i = 0; i < 10; i++) n2.transport.send('n1', { text: `reverse-${i}` });
  await waitFor(() => receivedWith(n1, 'reverse-').length === 10, 'n2→n1 delivered during the blackhole');
  assert.deepEqual(receivedWith(n2, 'during-'), []);
  assert.equal(n1.transport.peerState('n2'), 'connected', 'a blackhole looks like a live but silent connection');

  proxy.heal();
  // The connection that lost bytes was reset; n1 redials and new messages get through. Messages sent while the
  // reset is still on its way are lost (the transport is at-most-once), so keep sending until one arrives.
  let sent = 0;
  while (receivedWith(n2, 'after-').length === 0) {
    assert.ok(sent < 500, 'n1 reaches n2 again after the heal');
    n1.transport.send('n2', { text: `after-${sent++}` });
    await sleep(20);
  }
  assert.deepEqual(receivedWith(n2, 'during-'), [], 'discarded messages are never delivered later');
  assert.ok(n1.transport.stats().peers['n2']!.reconnects >= 1);
  assert.equal(proxy.stats().links['n1->n2']!.connectionsReset, 1);
  n2.transport.send('n1', { text: 'reverse-after' });
  await waitFor(() => n1.received.includes('reverse-after'), 'n2→n1 still flows');

  await proxy.close();
  await Promise.all(nodes.map((node) => node.transport.close()));
  await expectNoOpenHandles();
});
