import http, {
  type IncomingHttpHeaders,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import http2, { type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Stream } from 'node:http2';
import net, { type AddressInfo } from 'node:net';
import { ApiError } from './errors.js';
import { H2Connection } from './h2/h2-connection.js';
import { H2Exchange } from './h2/h2-exchange.js';

export type Request = IncomingMessage | Http2ServerRequest | H2Request | H2Exchange;
export type Response = ServerResponse | Http2ServerResponse | H2Response | H2Exchange;
export type Handler = (req: Request, res: Response) => void;

/**
 * A thin request view over a raw HTTP/2 stream. Node's compatibility layer (Http2ServerRequest/Response) costs
 * several objects and listeners per request; on the hot path that was a large share of the leader's CPU, so
 * HTTP/2 requests get these adapters, which offer the small part of the interface the routes use.
 */
export class H2Request {
  readonly httpVersion = '2.0';
  constructor(
    readonly stream: ServerHttp2Stream,
    readonly headers: IncomingHttpHeaders,
  ) {}

  get method(): string | undefined {
    return this.headers[':method'] as string | undefined;
  }

  get url(): string | undefined {
    return this.headers[':path'] as string | undefined;
  }

  on(event: string, listener: (...args: never[]) => void): this {
    this.stream.on(event, listener as (...args: unknown[]) => void);
    return this;
  }

  once(event: string, listener: (...args: never[]) => void): this {
    this.stream.once(event, listener as (...args: unknown[]) => void);
    return this;
  }

  resume(): this {
    this.stream.resume();
    return this;
  }
}

/** The response side of a raw HTTP/2 stream (see H2Request). */
export class H2Response {
  statusCode = 200;
  headersSent = false;

  constructor(readonly stream: ServerHttp2Stream) {}

  writeHead(status: number, headers: OutgoingHttpHeaders = {}): this {
    this.statusCode = status;
    this.headersSent = true;
    if (!this.stream.destroyed && !this.stream.closed) this.stream.respond({ ...headers, ':status': status });
    return this;
  }

  write(chunk: string | Uint8Array): boolean {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (this.stream.destroyed || this.stream.closed) return true;
    return this.stream.write(chunk);
  }

  end(chunk?: string | Uint8Array): this {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (!this.stream.destroyed && !this.stream.closed) this.stream.end(chunk);
    return this;
  }

  get writableEnded(): boolean {
    return this.stream.writableEnded;
  }

  get destroyed(): boolean {
    return this.stream.destroyed;
  }

  on(event: string, listener: (...args: unknown[]) => void): this {
    this.stream.on(event, listener);
    return this;
  }

  once(event: string, listener: (...args: unknown[]) => void): this {
    this.stream.once(event, listener);
    return this;
  }

  off(event: string, listener: (...args: unknown[]) => void): this {
    this.stream.off(event, listener);
    return this;
  }
}

/** The HTTP/2 connection preface starts with this; no HTTP/1 method does. */
const H2_PREFACE = Buffer.from('PRI * HTTP/2.0');

export interface HttpServerOptions {
  /** Idle keep-alive connections are closed after this. Default 65 000 ms. */
  readonly keepAliveTimeoutMs?: number;
  /** Largest request header block. Default 16 KiB. */
  readonly maxHeaderBytes?: number;
  /** Concurrent HTTP/2 streams per connection. Default 256. */
  readonly maxConcurrentStreams?: number;
  /**
   * Which HTTP/2 implementation serves h2c connections: 'cairn', the lean server in `./h2/` (default), or 'node',
   * Node's http2 module. Both speak the same protocol; 'node' stays for comparison and as a fallback.
   */
  readonly http2Implementation?: Http2Implementation;
}

export type Http2Implementation = 'cairn' | 'node';

/**
 * One TCP port that speaks both HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge, as h2load and gRPC
 * clients use): each connection's first bytes tell which. Both reach the same handler with request and response
 * objects offering the same small interface, so routes are written once.
 */
export class DualProtocolServer {
  private readonly tcp: net.Server;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly sockets = new Set<net.Socket>();
  private readonly startLeanH2: ((socket: net.Socket) => void) | null;

  constructor(handler: Handler, options: HttpServerOptions = {}) {
    const maxHeaderSize = options.maxHeaderBytes ?? 16 * 1024;
    const leanOptions = {
      maxConcurrentStreams: options.maxConcurrentStreams ?? 256,
      maxHeaderListBytes: maxHeaderSize,
      idleTimeoutMs: options.keepAliveTimeoutMs ?? 65_000,
    };
    this.startLeanH2 =
      (options.http2Implementation ?? 'cairn') === 'cairn'
        ? (socket) => new H2Connection(socket, handler, leanOptions)
        : null;
    this.h1 = http.createServer({ maxHeaderSize, keepAliveTimeout: options.keepAliveTimeoutMs ?? 65_000 }, handler);
    this.h2 = http2.createServer({
      maxSessionMemory: 64,
      settings: { maxConcurrentStreams: options.maxConcurrentStreams ?? 256 },
      maxHeaderListPairs: 256,
    });
    this.h2.on('stream', (stream, headers) => {
      stream.on('error', () => {});
      handler(new H2Request(stream, headers), new H2Response(stream));
    });
    this.h2.on('sessionError', () => {});
    this.tcp = net.createServer((socket) => this.route(socket));
    this.tcp.on('error', () => {});
  }

  private route(socket: net.Socket): void {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => socket.destroy());
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const n = Math.min(head.length, H2_PREFACE.length);
      const isH2 = head.subarray(0, n).equals(H2_PREFACE.subarray(0, n));
      if (isH2 && head.length < H2_PREFACE.length) return; // not enough bytes to decide yet
      socket.off('data', onData);
      socket.pause();
      socket.unshift(head);
      if (isH2 && this.startLeanH2 !== null) {
        this.startLeanH2(socket);
      } else if (isH2) {
        // The HTTP/2 session reads what is buffered when it takes the socket; resuming would lose those bytes.
        this.h2.emit('connection', socket);
      } else {
        this.h1.emit('connection', socket);
        socket.resume();
      }
    };
    socket.on('data', onData);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.tcp.once('error', reject);
      this.tcp.listen(port, host, () => {
        this.tcp.off('error', reject);
        resolve(this.tcp.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | null {
    return (this.tcp.address() as AddressInfo | null) ?? null;
  }

  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.tcp.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.h1.closeAllConnections();
    await closed;
  }
}

/**
 * The request's whole body when it has already arrived (the lean HTTP/2 server waits for a small announced body
 * before running the handler), else null: then read it with readBody. Refuses more than `maxBytes` as readBody does.
 * Saves a put the promise and the await of readBody.
 */
export function takeWholeBody(req: Request, maxBytes: number, tooLarge?: () => ApiError): Buffer | null {
  if (!(req instanceof H2Exchange)) return null;
  const body = req.takeBufferedBody();
  if (body !== null && body.length > maxBytes) {
    throw tooLarge?.() ?? new ApiError('BODY_TOO_LARGE', `the body is larger than ${maxBytes} bytes`);
  }
  return body;
}

/** Reads a request body, refusing more than `maxBytes` with BODY_TOO_LARGE (or `tooLarge` if given). */
export function readBody(req: Request, maxBytes: number, tooLarge?: () => ApiError): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    const fail = () => tooLarge?.() ?? new ApiError('BODY_TOO_LARGE', `the body is larger than ${maxBytes} bytes`);
    if (Number.isFinite(declared) && declared > maxBytes) {
      reject(fail());
      req.resume();
      return;
    }
    const buffered = req instanceof H2Exchange ? req.takeBufferedBody() : null;
    if (buffered !== null) {
      if (buffered.length > maxBytes) reject(fail());
      else resolve(buffered);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxBytes) {
        done = true;
        reject(fail());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    });
    req.on('error', (error) => {
      if (done) return;
      done = true;
      reject(error);
    });
  });
}

/** What `whenWritable` needs of a response: Node's responses and the lean HTTP/2 exchange all offer it. */
interface DrainEmitter {
  once(event: 'drain' | 'close', listener: () => void): unknown;
  off(event: 'drain' | 'close', listener: () => void): unknown;
}

/**
 * After a streaming response's write() returned false: resolves once it may be written again ('drain') or is
 * gone ('close'), and removes both listeners, so a long stream does not pile them up.
 */
export function whenWritable(res: DrainEmitter): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}

export function sendJson(res: Response, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  if (headers === undefined && res instanceof H2Exchange) {
    res.endJson(status, text);
    return;
  }
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

export function sendError(res: Response, error: ApiError): void {
  if (res.headersSent) {
    (res as ServerResponse).end();
    return;
  }
  sendJson(res, error.status, error.toJSON());
}
