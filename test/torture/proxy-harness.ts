/**
 * Helpers for the fault proxy tests: plain TCP servers standing in for nodes on 127.0.0.x, clients that bind to
 * a node's host (as Cairn nodes do), seeded payloads, and polling with a generous bound.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../src/transport/components.js';
import { SeededRandom } from '../../src/util/random.js';

export const HOST_A = '127.0.0.1';
export const HOST_B = '127.0.0.2';
export const HOST_C = '127.0.0.3';

/** A TCP server standing in for a node: remembers every accepted socket and what each sent. */
export class TestServer {
  readonly sockets: Socket[] = [];
  readonly received = new Map<Socket, Buffer[]>();
  private constructor(
    readonly server: Server,
    readonly host: string,
    readonly port: number,
  ) {}

  /** `onSocket` runs for each accepted socket; by default bytes are only recorded. */
  static async start(host: string, onSocket?: (socket: Socket) => void, options = {}): Promise<TestServer> {
    const server = createServer({ allowHalfOpen: true, ...options });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port: 0 }, resolve);
    });
    const address = server.address();
    if (address === null || typeof address !== 'object') throw new Error('no address');
    const created = new TestServer(server, host, address.port);
    server.on('connection', (socket) => {
      socket.on('error', () => {});
      created.sockets.push(socket);
      const chunks: Buffer[] = [];
      created.received.set(socket, chunks);
      if (onSocket) onSocket(socket);
      else socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    });
    return created;
  }

  /** A server that writes back everything it reads. */
  static echo(host: string): Promise<TestServer> {
    return TestServer.start(host, (socket) => {
      socket.on('data', (chunk: Buffer) => socket.write(chunk));
      socket.on('end', () => socket.end());
    });
  }

  bytesFrom(socket: Socket): Buffer {
    return Buffer.concat(this.received.get(socket) ?? []);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A client socket that remembers what it received and how it ended. */
export class TestClient {
  readonly chunks: Buffer[] = [];
  error: NodeJS.ErrnoException | undefined;
  closed = false;
  ended = false;
  readonly whenClosed: Promise<void>;
  /** Resolves once the other side ended its direction (FIN) or the socket closed. */
  readonly whenEnded: Promise<void>;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.chunks.push(chunk));
    socket.on('error', (error) => {
      this.error = error;
    });
    this.whenEnded = new Promise((resolve) => {
      socket.once('end', () => {
        this.ended = true;
        resolve();
      });
      socket.once('close', () => resolve());
    });
    this.whenClosed = new Promise((resolve) =>
      socket.once('close', () => {
        this.closed = true;
        resolve();
      }),
    );
  }

  /** Connects to `address` (`host:port`) from `localAddress`; resolves once connected (or failed). */
  static async connect(address: string, localAddress: string): Promise<TestClient> {
    const colon = address.lastIndexOf(':');
    const socket = connect({
      host: address.slice(0, colon),
      port: Number(address.slice(colon + 1)),
      localAddress,
      allowHalfOpen: true,
    });
    const client = new TestClient(socket);
    await new Promise<void>((resolve) => {
      socket.once('connect', () => resolve());
      socket.once('close', () => resolve());
    });
    return client;
  }

  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  get receivedLength(): number {
    let total = 0;
    for (const chunk of this.chunks) total += chunk.length;
    return total;
  }

  destroy(): Promise<void> {
    this.socket.destroy();
    return this.whenClosed;
  }
}

/** `length` bytes from a seeded generator: the same seed gives the same payload. */
export function seededBytes(length: number, seed: number): Buffer {
  const random = new SeededRandom(seed);
  const bytes = Buffer.alloc(length);
  let offset = 0;
  for (; offset + 4 <= length; offset += 4) bytes.writeUInt32LE(random.nextUint32(), offset);
  for (; offset < length; offset++) bytes[offset] = random.int(256);
  return bytes;
}

/** Polls `predicate` every 5 ms; fails after `timeoutMs` (generous: these are not timing assertions). */
export async function waitFor(predicate: () => boolean, what: string, timeoutMs = 8000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!predicate()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** TCP sockets, servers and timers still open in this process (stdio pipes are not ours). */
export function openHandles(): string[] {
  return process.getActiveResourcesInfo().filter((kind) => kind !== 'PipeWrap' && kind !== 'TTYWrap');
}

/**
 * Waits until nothing is left open. A closed server's handle goes away in the event loop's close phase, just
 * after its close callback, hence the polling.
 */
export async function expectNoOpenHandles(): Promise<void> {
  await waitFor(() => openHandles().length === 0, 'no open handles', 2000).catch(() => {
    throw new Error(`handles still open: ${openHandles().join(', ')}`);
  });
}

export interface LogLine {
  readonly level: string;
  readonly fields: object;
  readonly message: string;
}

export class CapturingLogger implements Logger {
  readonly lines: LogLine[] = [];
  debug(fields: object, message: string): void {
    this.lines.push({ level: 'debug', fields, message });
  }
  info(fields: object, message: string): void {
    this.lines.push({ level: 'info', fields, message });
  }
  warn(fields: object, message: string): void {
    this.lines.push({ level: 'warn', fields, message });
  }
  error(fields: object, message: string): void {
    this.lines.push({ level: 'error', fields, message });
  }
}
