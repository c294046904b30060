import { EventEmitter } from 'node:events';
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http';
import { encodeResponseHeaders, jsonResponseHeaderBlock } from './hpack.js';

/** What an exchange needs from its connection: writing frames and reporting consumed request bytes. */
export interface ExchangeConnection {
  /** Queues the response's HEADERS (once) and `data` as DATA frames; `end` closes the stream's sending side. */
  send(exchange: H2Exchange, data: Buffer | null, end: boolean): boolean;
  /** Request body bytes handed to the application: the stream's receive window may be replenished. */
  consumed(exchange: H2Exchange, bytes: number): void;
}

/** Headers that are meaningful for one HTTP/1.1 hop only and malformed in HTTP/2 (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

/**
 * One request and its response on the lean HTTP/2 server: the same object is passed to the handler as the
 * request and as the response. Node's http2 builds a Duplex stream, a headers object and several listeners per
 * stream, and that was the largest fixed cost of a put on the leader; this object carries only what the routes use
 * (the request's method, url, headers and body events; the response's writeHead/write/end and close, finish and
 * drain events). The event names of the two sides do not overlap ('data', 'end', 'error' for the request body;
 * 'drain', 'finish', 'close' for the response).
 */
export class H2Exchange extends EventEmitter {
  readonly httpVersion = '2.0';
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  destroyed = false;
  /** Set by the router (the metrics label); declared so the object keeps one shape. */
  cairnRoute: string | undefined = undefined;

  /** The encoded response header block, until the connection writes it ahead of the first DATA. */
  headerBlock: Buffer | null = null;
  /** Send window for DATA on this stream (RFC 9113 §6.9). */
  sendWindow: number;
  /** Flow-controlled bytes received and not yet returned to the peer by WINDOW_UPDATE. */
  unacknowledgedBytes = 0;
  /** Request bytes the peer may still send before this stream's window is exhausted. */
  receiveWindow: number;
  /** DATA waiting for send window, in order; `queuedEnd` says the last of it ends the stream. */
  queued: Buffer[] = [];
  queuedBytes = 0;
  queuedEnd = false;
  /** The peer has sent END_STREAM (or reset the stream). */
  remoteEnded = false;
  /** The stream is gone from the connection (both sides done, or reset). */
  closed = false;
  /** The request's content-length, or null without one; the body must be exactly this long (RFC 9113 §8.1.1). */
  declaredBodyBytes: number | null = null;
  /** Body bytes received so far (DATA payloads without padding). */
  receivedBodyBytes = 0;
  /** The handler has not run yet: it runs once the announced body has all arrived (H2Connection.runPendingHandler). */
  handlerPending = false;
  /**
   * Called once when the stream closes, before 'finish' and 'close' are emitted: what a server does at the end of
   * every request (metrics, the in-flight count) without two listeners, their wrappers and a closure per request
   * (ApiServer sets it for every request).
   */
  completionHook: ((exchange: H2Exchange) => void) | null = null;
  /** When the server started handling the request (performance.now() ms), for the completion hook. */
  startedMs = 0;

  private bodyChunks: Buffer[] | null = null;
  private flowing = false;
  private drainScheduled = false;
  private endEmitted = false;

  constructor(
    private readonly connection: ExchangeConnection,
    readonly streamId: number,
    readonly headers: IncomingHttpHeaders,
    readonly method: string,
    readonly url: string,
    sendWindow: number,
    receiveWindow: number,
  ) {
    super();
    this.sendWindow = sendWindow;
    this.receiveWindow = receiveWindow;
  }

  // ---- the request side --------------------------------------------------------------------------------------------

  override on(event: string | symbol, listener: (...args: never[]) => void): this {
    super.on(event, listener as (...args: unknown[]) => void);
    if (event === 'data') this.resume();
    return this;
  }

  override once(event: string | symbol, listener: (...args: never[]) => void): this {
    super.once(event, listener as (...args: unknown[]) => void);
    if (event === 'data') this.resume();
    return this;
  }

  /** Starts delivering the body (a listener-less resume discards it, as a Node stream's does). */
  resume(): this {
    if (this.flowing) return this;
    this.flowing = true;
    this.scheduleBodyDrain();
    return this;
  }

  /** A DATA payload from the connection. Buffered until the handler listens, so no body byte is lost. */
  pushBody(chunk: Buffer): void {
    if (this.flowing && this.bodyChunks === null) {
      this.deliver(chunk);
      return;
    }
    if (this.bodyChunks === null) this.bodyChunks = [];
    this.bodyChunks.push(chunk);
  }

  /** END_STREAM from the peer. */
  endBody(): void {
    this.remoteEnded = true;
    if (this.flowing && this.bodyChunks === null) this.emitEnd();
  }

  private scheduleBodyDrain(): void {
    if (this.drainScheduled) return;
    this.drainScheduled = true;
    // Like a Node stream, data starts flowing after the current call returns, so a handler that attaches
    // 'data' before 'end' sees both.
    queueMicrotask(() => {
      this.drainScheduled = false;
      const chunks = this.bodyChunks;
      this.bodyChunks = null;
      if (chunks) for (const c of chunks) this.deliver(c);
      if (this.remoteEnded) this.emitEnd();
    });
  }

  /**
   * The whole request body, when it has all arrived and nobody has started reading it — the usual case for a
   * small PUT, whose HEADERS and DATA come in one read — else null. Taking it consumes the body as reading it
   * would (the flow-control window is replenished; no 'data' or 'end' follows). It saves a body read's
   * listeners, closures and events per request.
   */
  takeBufferedBody(): Buffer | null {
    if (!this.remoteEnded || this.flowing || this.endEmitted || this.closed) return null;
    const chunks = this.bodyChunks ?? [];
    this.bodyChunks = null;
    this.flowing = true;
    this.endEmitted = true;
    const body = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    if (body.length > 0) this.connection.consumed(this, body.length);
    return body;
  }

  private deliver(chunk: Buffer): void {
    this.connection.consumed(this, chunk.length);
    this.emit('data', chunk);
  }

  private emitEnd(): void {
    if (this.endEmitted || this.closed) return;
    this.endEmitted = true;
    this.emit('end');
  }

  // ---- the response side -------------------------------------------------------------------------------------------

  writeHead(status: number, headers: OutgoingHttpHeaders = {}): this {
    if (this.headersSent) return this;
    const fields: [string, string][] = [];
    for (const raw in headers) {
      const value = headers[raw];
      if (value === undefined) continue;
      const name = raw.toLowerCase();
      if (CONNECTION_SPECIFIC.has(name)) continue;
      if (Array.isArray(value)) for (const v of value) fields.push([name, String(v)]);
      else fields.push([name, String(value)]);
    }
    this.headerBlock = encodeResponseHeaders(status, fields);
    this.statusCode = status;
    this.headersSent = true;
    return this;
  }

  write(chunk: string | Uint8Array): boolean {
    if (!this.headersSent) this.writeHead(this.statusCode);
    if (this.writableEnded || this.closed) return true;
    const data = typeof chunk === 'string' ? Buffer.from(chunk) : toBuffer(chunk);
    if (data.length === 0) return true;
    return this.connection.send(this, data, false);
  }

  end(chunk?: string | Uint8Array): this {
    if (this.writableEnded) return this;
    if (!this.headersSent) this.writeHead(this.statusCode);
    this.writableEnded = true;
    if (this.closed) return this;
    const data = chunk === undefined ? null : typeof chunk === 'string' ? Buffer.from(chunk) : toBuffer(chunk);
    this.connection.send(this, data !== null && data.length > 0 ? data : null, true);
    return this;
  }

  /**
   * Ends the response with a JSON body and no other headers (most answers): the header block comes from a cache
   * instead of a headers object, its field list and a fresh encoding per response. Same bytes as writeHead + end.
   */
  endJson(status: number, text: string): void {
    if (this.headersSent || this.writableEnded) {
      this.end(text);
      return;
    }
    const data = Buffer.from(text);
    this.headerBlock = jsonResponseHeaderBlock(status, data.length);
    this.statusCode = status;
    this.headersSent = true;
    this.writableEnded = true;
    if (this.closed) return;
    this.connection.send(this, data.length > 0 ? data : null, true);
  }

  /** The stream is closed: by the response's end, a reset from either side or the connection's end. */
  onClosed(aborted: boolean): void {
    if (this.closed) return;
    this.closed = true;
    const hook = this.completionHook;
    if (hook !== null) {
      this.completionHook = null;
      hook(this);
    }
    if (aborted) {
      this.destroyed = true;
      if (!this.endEmitted && this.listenerCount('error') > 0) {
        this.emit('error', Object.assign(new Error('the stream was reset'), { code: 'ERR_STREAM_RESET' }));
      }
    } else {
      this.emit('finish');
    }
    this.emit('close');
  }
}

function toBuffer(chunk: Uint8Array): Buffer {
  return Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
}
