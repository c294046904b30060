import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline, type Readable, Transform } from 'node:stream';
import type { Dispatcher } from 'undici';
import type { TimerApi } from '../balancer/health-checker.js';
import type { RequestHandle } from '../balancer/host-tracker.js';
import { RetryPolicy } from '../balancer/retry-policy.js';
import type { BalanceRequest } from '../balancer/types.js';
import { errorCode, isConnectError } from '../client/http-util.js';
import { systemRandom } from '../util/random.js';
import { BackendSet } from './backends.js';
import { clientAddress, downstreamHeaders, upstreamHeaders } from './headers.js';
import {
  type GatewayLogger,
  type GatewayOptions,
  type ResolvedGatewayOptions,
  resolveGatewayOptions,
} from './options.js';
import { buildStatus, type GatewayStatus } from './status.js';

/** Every answer of the gateway carries this header; the SDK's discovery recognizes a gateway by it. */
export const GATEWAY_HEADER = 'cairn-gateway';
/** Which backend served a proxied answer (its member name). */
export const BACKEND_HEADER = 'cairn-backend';

/** Longest request string handed to the balancer (its limit is 16,384 characters). */
const MAX_BALANCE_STRING = 4096;

/** Why one attempt failed; `retryable` says whether sending the request again elsewhere is safe. */
interface AttemptFailure {
  readonly retryable: boolean;
}

type Attempt =
  | { kind: 'answer'; upstream: Dispatcher.ResponseData; handle: RequestHandle; latencyMs: number }
  | { kind: 'failed'; error: unknown; handle: RequestHandle };

/** What the gateway knows about one incoming request. */
interface Exchange {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly method: string;
  readonly path: string;
  readonly isRead: boolean;
  readonly isWatch: boolean;
  readonly headers: Record<string, string | string[]>;
  readonly body: Buffer | Readable | undefined;
  readonly balance: BalanceRequest;
  readonly abort: AbortController;
  clientGone: boolean;
  bodyTooLarge: boolean;
}

/**
 * `cairn gateway`: an HTTP reverse proxy in front of a Cairn cluster (docs/load-balancing.md).
 *
 * - Backends come from the cluster status (members' API addresses and labels) and are refreshed; writes go
 *   straight to the leader when it is known; everything else is spread by the configured strategy.
 * - Health: passive outlier ejection, active `/healthz` checks, the panic threshold (the balancer's layer).
 * - Retries: a request whose body the gateway holds (GETs; bodies ≤ `maxReplayableBodyBytes`) is retried on
 *   another backend when that is safe — a read after any failure, a write only when it surely did not take
 *   effect (connection refused, 503, 429) — within `retry.maxRetries` and the retry budget.
 * - Bodies stream both ways; larger request bodies are never held in memory; watch streams (SSE) are passed
 *   through as they come, each on its own upstream connection.
 * - Adds `X-Forwarded-For`/`-Proto`/`-Host`; answers `GET /gateway/status` and `GET /gateway/healthz` itself.
 */
export class Gateway {
  private readonly options: ResolvedGatewayOptions;
  private readonly backends: BackendSet;
  private readonly retry: RetryPolicy;
  private readonly now: () => number;
  private readonly logger: GatewayLogger | null;
  private readonly server: http.Server;
  private inFlight = 0;
  private streams = 0;
  private total = 0;
  private rejected = 0;
  private started: Promise<void> | null = null;

  constructor(options: GatewayOptions) {
    this.options = resolveGatewayOptions(options);
    this.now = options.now ?? (() => performance.now());
    this.logger = options.logger ?? null;
    const timers: TimerApi = options.timers ?? {
      setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
      clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
    };
    this.retry = new RetryPolicy(this.now, {
      ...options.retry,
      isRetryable: (error) => (error as AttemptFailure | null)?.retryable === true,
    });
    this.backends = new BackendSet(this.options, {
      random: options.random ?? systemRandom(),
      now: this.now,
      timers,
      logger: this.logger,
      balancer: options.balancer,
    });
    this.server = http.createServer(
      { keepAliveTimeout: 65_000, maxHeaderSize: 16 * 1024, requestTimeout: 300_000 },
      (req, res) => this.handle(req, res),
    );
    // A request Node's parser refuses (malformed headers, bad Content-Length): answer 400 and close, never crash.
    this.server.on('clientError', (_error, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
    });
  }

  /** Starts discovery and health checks, then listens. Resolves with the bound address. */
  async listen(host: string, port: number): Promise<AddressInfo> {
    this.started ??= this.backends.start();
    await this.started;
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => {
        this.server.off('error', reject);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  address(): AddressInfo | null {
    return (this.server.address() as AddressInfo | null) ?? null;
  }

  /** What `GET /gateway/status` answers. */
  status(): GatewayStatus {
    return buildStatus(
      {
        strategy: this.options.strategy,
        zone: this.options.zone,
        region: this.options.region,
        requests: { inFlight: this.inFlight, streams: this.streams, total: this.total, rejected: this.rejected },
        retries: this.retry.stats(),
      },
      this.backends.stats(),
      this.now(),
    );
  }

  /** Stops listening, ends every stream and connection, stops discovery and health checks. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeAllConnections();
    await this.backends.close();
    await closed;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    res.setHeader(GATEWAY_HEADER, '1');
    const url = req.url ?? '/';
    if (url === '/gateway' || url.startsWith('/gateway/') || url.startsWith('/gateway?')) {
      this.serveOwn(req, res, url);
      return;
    }
    this.total++;
    if (this.inFlight >= this.options.maxConcurrentRequests) {
      this.reject(req, res, `the gateway has ${this.inFlight} requests in progress (maxConcurrentRequests)`);
      return;
    }
    this.inFlight++;
    res.once('close', () => this.inFlight--);
    this.proxy(req, res).catch((error: unknown) => {
      this.logger?.warn({ err: String(error), url }, 'proxying failed');
      if (!res.headersSent) sendError(res, 500, 'INTERNAL', 'the gateway failed to proxy the request');
      else res.destroy();
    });
  }

  private reject(req: IncomingMessage, res: ServerResponse, message: string): void {
    this.rejected++;
    req.resume();
    sendError(res, 429, 'TOO_MANY_REQUESTS', message);
  }

  private serveOwn(req: IncomingMessage, res: ServerResponse, url: string): void {
    req.resume();
    const path = url.split('?')[0];
    const known = path === '/gateway/status' || path === '/gateway/healthz';
    if (!known) {
      sendError(res, 404, 'ROUTE_NOT_FOUND', `no route ${path}`);
      return;
    }
    if (req.method !== 'GET') {
      sendError(res, 405, 'METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${path}`);
      return;
    }
    const status = this.status();
    if (path === '/gateway/status') {
      sendJson(res, 200, status);
      return;
    }
    const serving = status.backends.filter((b) => b.serving).length;
    if (serving === 0) sendError(res, 503, 'UNAVAILABLE', 'no backend is serving');
    else sendJson(res, 200, { status: 'ok', serving, backends: status.backends.length });
  }

  private async proxy(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const method = req.method ?? 'GET';
    const path = req.url ?? '/';
    const pathname = path.split('?')[0] ?? '/';
    const isRead = method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
    const isWatch = method === 'GET' && pathname === '/v1/watch';
    if (!path.startsWith('/')) {
      req.resume();
      sendError(res, 400, 'INVALID_ARGUMENT', 'the request target must be a path (origin-form)');
      return;
    }
    if (isWatch && this.streams >= this.options.maxWatchStreams) {
      this.reject(req, res, `the gateway has ${this.streams} watch streams open (maxWatchStreams)`);
      return;
    }
    const socketAddress = req.socket.remoteAddress ?? '';
    const declared = parseContentLength(req.headers['content-length']);
    if (declared === 'invalid') {
      req.resume();
      sendError(res, 400, 'INVALID_ARGUMENT', 'Content-Length is not a non-negative integer');
      return;
    }
    const limit = this.options.maxRequestBodyBytes;
    if (declared !== null && declared > limit) {
      // The answer goes out at once; what the client still sends is read and dropped (drainRefusedBody).
      drainRefusedBody(req);
      sendError(res, 413, 'BODY_TOO_LARGE', `the body is larger than ${limit} bytes`);
      return;
    }
    const hasBody = declared !== null ? declared > 0 : req.headers['transfer-encoding'] !== undefined;
    const abort = new AbortController();
    const exchange: Exchange = {
      req,
      res,
      method,
      path,
      isRead,
      isWatch,
      headers: {},
      body: undefined,
      balance: {},
      abort,
      clientGone: false,
      bodyTooLarge: false,
    };
    res.once('close', () => {
      if (!res.writableFinished) {
        exchange.clientGone = true;
        abort.abort();
      }
    });
    let replayable = true;
    let body: Buffer | Readable | undefined;
    if (hasBody) {
      if (declared !== null && declared <= this.options.maxReplayableBodyBytes) {
        try {
          body = await readSmallBody(req, declared);
        } catch {
          if (!res.headersSent) sendError(res, 400, 'INVALID_ARGUMENT', 'the request body could not be read');
          return;
        }
      } else {
        body = limitBody(req, limit, () => {
          exchange.bodyTooLarge = true;
        });
        replayable = false;
      }
    }
    const balance: BalanceRequest = {
      path: pathname.slice(0, MAX_BALANCE_STRING),
      clientAddress: clientAddress(req.headers, socketAddress, this.options.trustForwardedFor),
      idempotent: replayable,
    };
    const key = balanceKey(pathname, path);
    if (key !== undefined) balance.key = key.slice(0, MAX_BALANCE_STRING);
    if (this.options.zone) balance.clientZone = this.options.zone;
    if (this.options.region) balance.clientRegion = this.options.region;
    Object.assign(exchange, {
      headers: upstreamHeaders(
        req.headers,
        socketAddress,
        body !== undefined && !Buffer.isBuffer(body) && declared !== null ? declared : null,
      ),
      body,
      balance,
    });
    await this.route(exchange);
  }

  /** Chooses backends and makes attempts until one answers or retrying is no longer allowed. */
  private async route(x: Exchange): Promise<void> {
    this.retry.recordRequest();
    const tried = new Set<string>();
    const leader = x.isRead ? null : this.backends.leader();
    let origin = leader ?? this.backends.pick(x.balance, tried)?.address ?? null;
    if (origin === null) {
      sendError(x.res, 503, 'UNAVAILABLE', 'no backend is available');
      return;
    }
    for (let retries = 0; ; retries++) {
      tried.add(origin);
      const attempt = await this.attempt(x, origin);
      if (x.clientGone) {
        if (attempt.kind === 'answer') {
          this.backends.balancer.abandon(attempt.handle);
          discard(attempt.upstream.body);
        } else this.backends.balancer.abandon(attempt.handle);
        return;
      }
      if (attempt.kind === 'answer') {
        const status = attempt.upstream.statusCode;
        const refused = status === 503 || status === 429 || (x.isRead && status === 504);
        if (!refused) {
          this.deliver(x, origin, attempt);
          return;
        }
        const next = this.nextBackend(x, { retryable: true }, retries, tried);
        if (next === null) {
          this.deliver(x, origin, attempt);
          return;
        }
        this.backends.balancer.end(attempt.handle, { ok: false, latencyMs: attempt.latencyMs });
        this.backends.noteFailure(origin);
        void attempt.upstream.body.dump().catch(() => {}); // a refusal's body is small: keep the connection
        origin = next;
        continue;
      }
      if (errorCode(attempt.error) === 'UND_ERR_INVALID_ARG') {
        // undici refused what the client sent (a header or path it does not accept): the client's fault, not the
        // backend's — blaming the backend would let bad requests eject healthy nodes.
        this.backends.balancer.abandon(attempt.handle);
        sendError(x.res, 400, 'INVALID_ARGUMENT', `the request cannot be forwarded: ${errorMessage(attempt.error)}`);
        return;
      }
      this.backends.balancer.end(attempt.handle, { ok: false });
      if (x.bodyTooLarge) {
        // Not a destroy once answered: the client may still be uploading, and would see ECONNRESET instead of the
        // 413 (the gateway test did, in CI).
        drainRefusedBody(x.req);
        sendError(x.res, 413, 'BODY_TOO_LARGE', `the body is larger than ${this.options.maxRequestBodyBytes} bytes`);
        return;
      }
      this.backends.noteFailure(origin);
      const connect = isConnectError(attempt.error);
      const next = this.nextBackend(x, { retryable: connect || x.isRead }, retries, tried);
      if (next !== null) {
        origin = next;
        continue;
      }
      const code = errorCode(attempt.error) || String(attempt.error);
      if (connect)
        sendError(x.res, 503, 'UNAVAILABLE', `backend ${this.backends.nameOf(origin)} is unreachable (${code})`);
      else {
        sendError(
          x.res,
          504,
          'TIMEOUT',
          `backend ${this.backends.nameOf(origin)} failed (${code})${x.isRead ? '' : ': the outcome is unknown'}`,
        );
      }
      return;
    }
  }

  /** The backend for a retry, or null when the retry rules refuse one. */
  private nextBackend(x: Exchange, failure: AttemptFailure, retries: number, tried: Set<string>): string | null {
    if (this.retry.precheck(x.balance, failure, retries) !== null) return null;
    const next = this.backends.pick(x.balance, tried);
    if (!next) {
      this.retry.noOtherHost();
      return null;
    }
    return this.retry.takeBudget() ? next.address : null;
  }

  private async attempt(x: Exchange, origin: string): Promise<Attempt> {
    const handle = this.backends.begin(origin);
    const started = this.now();
    try {
      const pool = x.isWatch ? this.backends.streamPool(origin) : this.backends.pool(origin);
      const upstream = await pool.request({
        method: x.method as Dispatcher.HttpMethod,
        path: x.path,
        headers: x.headers,
        signal: x.abort.signal,
        ...(x.body !== undefined ? { body: x.body } : {}),
      });
      return { kind: 'answer', upstream, handle, latencyMs: Math.max(0, this.now() - started) };
    } catch (error) {
      return { kind: 'failed', error, handle };
    }
  }

  /** Streams the backend's answer to the client and settles the attempt's accounting when it ends. */
  private deliver(x: Exchange, origin: string, attempt: Extract<Attempt, { kind: 'answer' }>): void {
    const { upstream, handle, latencyMs } = attempt;
    const status = upstream.statusCode;
    const healthy = status < 500 && status !== 429;
    const headers = downstreamHeaders(upstream.headers);
    headers[BACKEND_HEADER] = this.backends.nameOf(origin);
    x.res.writeHead(status, headers);
    const balancer = this.backends.balancer;
    if (x.isWatch && status === 200) {
      // A stream's latency sample is the time to open it; it does not count as load while it stays open.
      balancer.end(handle, { ok: true, latencyMs });
      x.res.flushHeaders();
      this.streams++;
      this.backends.streamOpened(origin);
      pipeline(upstream.body, x.res, (error) => {
        this.streams--;
        this.backends.streamClosed(origin);
        if (error && !x.clientGone) this.backends.noteFailure(origin);
        if (error) x.res.destroy();
      });
      return;
    }
    pipeline(upstream.body, x.res, (error) => {
      if (x.clientGone) balancer.abandon(handle);
      else balancer.end(handle, { ok: healthy && !error, latencyMs });
      if (error) x.res.destroy();
    });
  }
}

function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Drops a backend's answer body without an unhandled 'error' event. */
function discard(body: Readable): void {
  body.on('error', () => {});
  body.destroy();
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** An error in the API's format (docs/api.md), so SDK clients get their typed errors through the gateway too. */
/** How much of a refused body is read (and dropped) so the client can read the refusal. */
const LINGER_MAX_BYTES = 64 * 1024 * 1024;

/**
 * Reads and drops what the client of a refused request still sends: closing a connection with unread bytes makes
 * the kernel reset it, and a client still uploading then sees ECONNRESET instead of the answer. Past
 * LINGER_MAX_BYTES the connection is cut.
 */
function drainRefusedBody(req: IncomingMessage): void {
  let drained = 0;
  req.on('data', (chunk: Buffer) => {
    drained += chunk.length;
    if (drained > LINGER_MAX_BYTES) req.socket.destroy();
  });
  req.resume();
}

function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: { code, message } });
}

function parseContentLength(value: string | undefined): number | null | 'invalid' {
  if (value === undefined) return null;
  if (!/^\d{1,15}$/.test(value)) return 'invalid';
  return Number(value);
}

/** The key a request is about, for url-hash: the path's key, else `key`/`prefix`/`start` of the query. */
function balanceKey(pathname: string, path: string): string | undefined {
  if (pathname.startsWith('/v1/kv/')) {
    try {
      return decodeURIComponent(pathname.slice('/v1/kv/'.length));
    } catch {
      return undefined;
    }
  }
  const q = path.indexOf('?');
  if (q < 0) return undefined;
  const params = new URLSearchParams(path.slice(q + 1));
  return params.get('key') ?? params.get('prefix') ?? params.get('start') ?? undefined;
}

/** Reads a body whose declared length is small enough to hold (so the request can be sent again). */
function readSmallBody(req: IncomingMessage, length: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= length) chunks.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(chunks, Math.min(size, length))));
    req.once('error', reject);
    req.once('aborted', () => reject(new Error('the client aborted the upload')));
  });
}

/** Passes a streamed body through, failing it once more than `maxBytes` went by. */
function limitBody(req: IncomingMessage, maxBytes: number, onTooLarge: () => void): Readable {
  let size = 0;
  const limiter = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      size += chunk.length;
      if (size > maxBytes) {
        onTooLarge();
        callback(new Error(`the body is larger than ${maxBytes} bytes`));
        return;
      }
      callback(null, chunk);
    },
  });
  req.once('aborted', () => limiter.destroy(new Error('the client aborted the upload')));
  req.pipe(limiter);
  return limiter;
}
