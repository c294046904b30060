/**
 * Throughput of the peer transport: ~300-byte consensus-like messages from one TcpTransport to another in the
 * same process (so one core does encode, framing, TCP on loopback, decode and delivery).
 *
 *   npx tsc -p . && node dist/bench/transport.js [--seconds 5] [--window 4096] [--burst 512] [--payload 180]
 *
 * The sender keeps at most `window` messages sent but not yet delivered, and sends up to `burst` per event-loop
 * turn, so it never overflows the send queue: the number measures the transport, not the drop counter.
 */
import { parseArgs } from 'node:util';
import { TcpTransport } from '../src/transport/tcp-transport.js';

const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '5' },
    window: { type: 'string', default: '4096' },
    burst: { type: 'string', default: '512' },
    payload: { type: 'string', default: '180' },
  },
});
const seconds = Number(values.seconds);
const window = Number(values.window);
const burst = Number(values.burst);
const payloadBytes = Number(values.payload);

let received = 0;
let receivedBytesCheck = 0;
const sender = new TcpTransport({ nodeName: 'n1', clusterId: 'bench', listen: '127.0.0.1:0', onMessage: () => {} });
const receiver = new TcpTransport({
  nodeName: 'n2',
  clusterId: 'bench',
  listen: '127.0.0.2:0',
  onMessage: (_from, message) => {
    received++;
    receivedBytesCheck += (message as { entries: Array<{ data: Uint8Array }> }).entries[0]!.data.length;
  },
});
await sender.start();
await receiver.start();
sender.setPeers({ n2: receiver.listenAddress() });
receiver.setPeers({ n1: sender.listenAddress() });

const data = new Uint8Array(payloadBytes).fill(7);
let sent = 0;
const message = (i: number) => ({
  type: 'append',
  group: i % 64,
  from: 'n1',
  to: 'n2',
  term: 7,
  logTerm: 7,
  index: 100_000 + i,
  commit: 99_990 + i,
  entries: [{ term: 7, index: 100_001 + i, type: 'normal', data }],
});

const wireBytes = (() => {
  const probe = sender as unknown as { encoder: { encodeMessage(m: unknown): Buffer } };
  return probe.encoder.encodeMessage(message(123_456)).length;
})();

await new Promise<void>((resolve) => {
  const check = () => (sender.peerState('n2') === 'connected' ? resolve() : setTimeout(check, 5));
  check();
});

const startedAt = performance.now();
const deadline = startedAt + seconds * 1000;
const cpuBefore = process.cpuUsage();
await new Promise<void>((resolve) => {
  const pump = () => {
    if (performance.now() >= deadline) {
      resolve();
      return;
    }
    const room = Math.min(burst, window - (sent - received));
    for (let i = 0; i < room; i++) {
      if (!sender.send('n2', message(sent))) throw new Error('dropped: the window is larger than the queue');
      sent++;
    }
    setImmediate(pump);
  };
  pump();
});
while (received < sent) await new Promise((resolve) => setImmediate(resolve));
const elapsedMs = performance.now() - startedAt;
const cpu = process.cpuUsage(cpuBefore);
const stats = sender.stats().peers.n2!;
if (receivedBytesCheck !== received * payloadBytes) throw new Error('payload bytes mismatch');

const perSecond = (count: number) => Math.round((count / elapsedMs) * 1000);
console.log(
  JSON.stringify(
    {
      messageBytes: wireBytes,
      seconds: Number((elapsedMs / 1000).toFixed(2)),
      messages: received,
      messagesPerSecond: perSecond(received),
      framesPerSecond: perSecond(stats.framesSent),
      messagesPerFrame: Number((stats.messagesSent / stats.framesSent).toFixed(1)),
      megabytesPerSecond: Number((((stats.bytesSent / elapsedMs) * 1000) / 1024 / 1024).toFixed(1)),
      cpuPercentOfOneCore: Math.round(((cpu.user + cpu.system) / 1000 / elapsedMs) * 100),
      dropped: stats.dropped,
    },
    null,
    2,
  ),
);
await Promise.all([sender.close(), receiver.close()]);
