/**
 * Helpers for the transport tests: nodes on loopback addresses, a raw socket speaking (or breaking) the wire
 * format, fake timers/clock/random, a capturing logger, and polling with a generous bound.
 */
import { connect, createServer, type Socket } from 'node:net';
import { Packr } from 'msgpackr';
import type { Clock, Logger, TimerHandle, Timers } from '../../src/transport/components.js';
import { PROTOCOL_VERSION } from '../../src/transport/frame-codec.js';
import type { TransportOptions } from '../../src/transport/options.js';
import { TcpTransport } from '../../src/transport/tcp-transport.js';
import type { Random } from '../../src/util/random.js';

export interface TestNode {
  readonly name: string;
  readonly transport: TcpTransport;
  readonly received: Array<{ from: string; message: unknown }>;
  readonly logger: CapturingLogger;
}

export type NodeOptions = Partial<Omit<TransportOptions, 'nodeName' | 'listen'>> & {
  components?: { clock?: Clock; timers?: Timers; random?: Random };
};

/** A started transport named `name` listening on `host` (any free port unless `port` is given). */
export async function startNode(name: string, host: string, options: NodeOptions = {}, port = 0): Promise<TestNode> {
  const received: Array<{ from: string; message: unknown }> = [];
  const logger = new CapturingLogger();
  const { components, ...rest } = options;
  const transport = new TcpTransport(
    {
      clusterId: 'test-cluster',
      onMessage: (from, message) => received.push({ from, message }),
      ...rest,
      nodeName: name,
      listen: host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`,
    },
    { logger, ...components },
  );
  await transport.start();
  return { name, transport, received, logger };
}

/** Makes every node a peer of every other one. */
export function connectAll(nodes: readonly TestNode[]): void {
  for (const node of nodes) {
    const peers: Record<string, string> = {};
    for (const other of nodes) if (other !== node) peers[other.name] = other.transport.listenAddress();
    node.transport.setPeers(peers);
  }
}

export async function closeAll(nodes: readonly TestNode[]): Promise<void> {
  await Promise.all(nodes.map((node) => node.transport.close()));
}

/** Polls `predicate` every 5 ms; fails after `timeoutMs` (generous: these are not timing assertions). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One event-loop turn: lets a pending setImmediate flush run. */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export interface LogLine {
  readonly level: 'debug' | 'info' | 'warn' | 'error';
  readonly fields: Record<string, unknown>;
  readonly message: string;
}

export class CapturingLogger implements Logger {
  readonly lines: LogLine[] = [];
  debug(fields: object, message: string): void {
    this.lines.push({ level: 'debug', fields: fields as Record<string, unknown>, message });
  }
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', fields: fields as Record<string, unknown>, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields: fields as Record<string, unknown>, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', fields: fields as Record<string, unknown>, message });
  }
  /** Lines at `level` whose message or fields mention `text`. */
  find(level: LogLine['level'], text: string): LogLine[] {
    return this.lines.filter((line) => line.level === level && JSON.stringify(line).includes(text));
  }
}

export class FakeClock implements Clock {
  constructor(public time = 1_000_000) {}
  now(): number {
    return this.time;
  }
}

/** Always the same value: makes jittered delays predictable. */
export class ConstantRandom implements Random {
  constructor(private readonly value: number) {}
  next(): number {
    return this.value;
  }
  int(maxExclusive: number): number {
    return Math.floor(this.value * maxExclusive);
  }
  chance(probability: number): boolean {
    return this.value < probability;
  }
  fork(): Random {
    return this;
  }
}

interface FakeTimer {
  readonly id: number;
  readonly delayMs: number;
  readonly callback: () => void;
}

/** Timers that only fire when the test says so; every requested delay is recorded. */
export class FakeTimers implements Timers {
  readonly requested: number[] = [];
  private readonly pending = new Map<number, FakeTimer>();
  private nextId = 1;

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const id = this.nextId++;
    this.pending.set(id, { id, delayMs, callback });
    this.requested.push(delayMs);
    return id;
  }

  clearTimeout(handle: TimerHandle): void {
    this.pending.delete(handle as number);
  }

  /** Pending timers with this delay. */
  withDelay(predicate: (delayMs: number) => boolean): FakeTimer[] {
    return [...this.pending.values()].filter((timer) => predicate(timer.delayMs));
  }

  fire(timer: FakeTimer): void {
    if (!this.pending.delete(timer.id)) return;
    timer.callback();
  }

  get size(): number {
    return this.pending.size;
  }
}

/**
 * A port on `host` that nothing listens on (it was free a moment ago): connecting to it is refused. Tests use a
 * host of their own (127.0.0.2x) for it, so another test process cannot take the port in the meantime.
 */
export async function deadPort(host: string): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen({ host, port: 0 }, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address !== 'object') throw new Error('no port');
  return address.port;
}

export function rawConnect(address: string, localAddress?: string): Promise<Socket> {
  const colon = address.lastIndexOf(':');
  const host = address.slice(0, colon);
  const port = Number(address.slice(colon + 1));
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, ...(localAddress ? { localAddress } : {}) });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Resolves once the socket is closed by the other side (or errors), with everything it received. */
export function collectUntilClosed(socket: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  socket.on('error', () => {});
  return new Promise((resolve) => socket.once('close', () => resolve(Buffer.concat(chunks))));
}

const testPackr = new Packr({ useRecords: false });

/** A length-prefixed frame around `body`. */
export function rawFrame(body: Buffer): Buffer {
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(body.length, 0);
  return Buffer.concat([prefix, body]);
}

export function packFrame(value: unknown): Buffer {
  return rawFrame(testPackr.pack(value));
}

export function helloFrame(clusterId: string, nodeName: string, version = PROTOCOL_VERSION): Buffer {
  return packFrame([1, version, clusterId, nodeName]);
}

/** TCP sockets, servers and timers still open in this process (stdio pipes are not ours). */
export function openHandles(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => kind !== 'PipeWrap' && kind !== 'TTYWrap');
}
