import { isIP, Socket } from 'node:net';
import { formatHostPort, type HostPort } from './address.js';
import { backoffDelayMs, rejectedDelayMs } from './backoff.js';
import type { ResolvedTransportComponents, TimerHandle } from './components.js';
import { TransportError } from './errors.js';
import {
  BATCH_BODY_OVERHEAD_BYTES,
  FrameDecoder,
  type FrameEncoder,
  HANDSHAKE_MAX_FRAME_BYTES,
  PROTOCOL_VERSION,
} from './frame-codec.js';
import { FrameReader } from './frame-reader.js';
import type { PeerConnectionState, ResolvedTransportOptions } from './options.js';
import { SendQueue, type Waiter } from './send-queue.js';
import type { PeerCounters } from './stats.js';

/** What a link needs from the transport that owns it. */
export interface OutboundLinkHost {
  readonly options: ResolvedTransportOptions;
  readonly components: ResolvedTransportComponents;
  readonly encoder: FrameEncoder;
  /** Flush this link in the next batch (one setImmediate for the whole transport). */
  requestFlush(link: OutboundLink): void;
}

/** How a connection attempt or connection ended, which decides the retry delay and the log level. */
type FailureKind = 'failure' | 'rejected';

/**
 * The one outbound connection to a peer, used only for sending (all groups multiplexed), with its send queue.
 *
 * States: `connecting` (TCP connect, then hello → welcome), `connected` (frames flow), `backoff` (waiting to
 * retry). Messages queue in every state and are sent once connected, unless they expire first.
 * The acceptor never sends anything after its welcome, so any frame arriving later breaks the protocol.
 */
export class OutboundLink {
  private stateValue: PeerConnectionState = 'backoff';
  private readonly queue: SendQueue;
  private socket: Socket | undefined;
  private reader: FrameReader | undefined;
  private decoder: FrameDecoder | undefined;
  /** sendAsync waiters whose frame was handed to the socket but whose write has not completed. */
  private readonly inFlight = new Set<Waiter>();
  private connectTimer: TimerHandle | undefined;
  private backoffTimer: TimerHandle | undefined;
  private stallTimer: TimerHandle | undefined;
  /** Consecutive failed attempts; reset by a completed handshake. */
  private attempt = 0;
  private everConnected = false;
  /** The last failure reason logged; repeats are logged at debug so a dead peer does not flood the log. */
  private lastLoggedFailure: string | undefined;
  private queueFullLogged = false;
  private started = false;
  private stopped = false;

  constructor(
    private readonly host: OutboundLinkHost,
    readonly peer: string,
    private addressValue: HostPort,
    readonly counters: PeerCounters,
  ) {
    this.queue = new SendQueue(host.options.maxQueueMessages, host.options.maxQueueBytes);
  }

  get state(): PeerConnectionState {
    return this.stateValue;
  }

  get address(): HostPort {
    return this.addressValue;
  }

  get queuedMessages(): number {
    return this.queue.messages;
  }

  get queuedBytes(): number {
    return this.queue.bytes;
  }

  /** Begins dialing (the transport calls this from `start`, or when the peer is added later). */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    this.connect();
  }

  /** A new address: drop the current connection (or wait) and dial the new one at once. Queued messages stay. */
  setAddress(address: HostPort): void {
    if (address.host === this.addressValue.host && address.port === this.addressValue.port) return;
    const previous = formatHostPort(this.addressValue);
    this.addressValue = address;
    this.host.components.logger.info(
      { peer: this.peer, from: previous, to: formatHostPort(address) },
      'peer address changed; reconnecting',
    );
    if (!this.started || this.stopped) return;
    this.teardownSocket();
    this.clearTimer('backoffTimer');
    this.attempt = 0;
    this.connect();
  }

  /**
   * Queues encoded bytes. Returns undefined when queued, or the error explaining the drop (already counted).
   * Never throws.
   */
  enqueue(bytes: Buffer, waiter: Waiter | undefined): TransportError | undefined {
    const { options, components } = this.host;
    if (this.stopped) return new TransportError('TRANSPORT_CLOSED', 'the transport is closed');
    if (bytes.length > options.maxFrameBytes - BATCH_BODY_OVERHEAD_BYTES) {
      this.counters.droppedTooLarge++;
      return new TransportError(
        'MESSAGE_TOO_LARGE',
        `message of ${bytes.length} bytes does not fit in a frame (maxFrameBytes ${options.maxFrameBytes})`,
      );
    }
    if (!this.queue.hasRoomFor(bytes.length)) this.dropExpired();
    if (!this.queue.hasRoomFor(bytes.length)) {
      this.counters.droppedQueueFull++;
      if (!this.queueFullLogged) {
        this.queueFullLogged = true;
        components.logger.warn(
          { peer: this.peer, queuedMessages: this.queue.messages, queuedBytes: this.queue.bytes, state: this.state },
          'send queue full; dropping new messages',
        );
      }
      return new TransportError(
        'QUEUE_FULL',
        `send queue to ${this.peer} is full (${this.queue.messages} messages, ${this.queue.bytes} bytes)`,
      );
    }
    this.queue.push({ bytes, enqueuedAt: components.clock.now(), waiter });
    if (this.stateValue === 'connected') this.host.requestFlush(this);
    return undefined;
  }

  /** Writes queued messages as frames of up to `batchMaxBytes` until the queue is empty or the socket is full. */
  flush(): void {
    const socket = this.socket;
    if (this.stateValue !== 'connected' || socket === undefined || this.stopped) return;
    this.dropExpired();
    const { batchMaxBytes } = this.host.options;
    while (this.queue.messages > 0 && !socket.writableNeedDrain) {
      const messages: Buffer[] = [];
      let messageBytes = 0;
      let waiters: Waiter[] | undefined;
      for (let next = this.queue.peek(); next !== undefined; next = this.queue.peek()) {
        if (messages.length > 0 && messageBytes + next.bytes.length > batchMaxBytes) break;
        this.queue.shift();
        messages.push(next.bytes);
        messageBytes += next.bytes.length;
        if (next.waiter !== undefined) {
          waiters ??= [];
          waiters.push(next.waiter);
        }
      }
      const frame = this.host.encoder.batchFrame(messages, messageBytes);
      this.counters.framesSent++;
      this.counters.messagesSent += messages.length;
      this.counters.bytesSent += frame.length;
      if (waiters === undefined) socket.write(frame);
      else {
        const frameWaiters = waiters;
        for (const waiter of frameWaiters) this.inFlight.add(waiter);
        socket.write(frame, (error) => {
          for (const waiter of frameWaiters) {
            this.inFlight.delete(waiter);
            if (error) waiter.reject(connectionLost(this.peer, error.message));
            else waiter.resolve();
          }
        });
      }
    }
    if (this.queue.messages < this.host.options.maxQueueMessages / 2) this.queueFullLogged = false;
    if (socket.writableNeedDrain && this.stallTimer === undefined) {
      this.stallTimer = this.host.components.timers.setTimeout(() => {
        this.stallTimer = undefined;
        this.fail(socket, `written data did not drain for ${this.host.options.writeStallTimeoutMs} ms`, 'failure');
      }, this.host.options.writeStallTimeoutMs);
    }
  }

  /** Stops for good: closes the socket, cancels timers, rejects every waiting sendAsync with `error`. */
  close(error: TransportError): Promise<void> {
    this.stopped = true;
    const socket = this.socket;
    this.teardownSocket();
    this.clearTimer('backoffTimer');
    for (const item of this.queue.clear()) item.waiter?.reject(error);
    return socket === undefined || socket.closed ? Promise.resolve() : new Promise((r) => socket.once('close', r));
  }

  private connect(): void {
    if (this.stopped) return;
    const { options, components, encoder } = this.host;
    this.dropExpired();
    this.setState('connecting');
    this.counters.connectAttempts++;
    const { host, port } = this.addressValue;
    const localAddress = options.localAddress;
    const socket = new Socket();
    this.socket = socket;
    this.reader = new FrameReader(HANDSHAKE_MAX_FRAME_BYTES);
    this.decoder = new FrameDecoder();
    this.connectTimer = components.timers.setTimeout(() => {
      this.connectTimer = undefined;
      this.fail(socket, `no connection and welcome within ${options.connectTimeoutMs} ms`, 'failure');
    }, options.connectTimeoutMs);
    socket.on('connect', () => {
      if (this.socket !== socket) return;
      socket.setNoDelay(true);
      socket.setKeepAlive(true, options.keepAliveInitialDelayMs);
      socket.write(encoder.helloFrame(options.clusterId, options.nodeName));
    });
    socket.on('data', (chunk: Buffer) => this.onData(socket, chunk));
    socket.on('drain', () => {
      if (this.socket !== socket) return;
      this.clearTimer('stallTimer');
      this.host.requestFlush(this);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      this.fail(socket, error.code ? `${error.code}: ${error.message}` : error.message, 'failure');
    });
    socket.on('close', () => this.fail(socket, 'connection closed by the peer', 'failure'));
    try {
      socket.connect({
        host,
        port,
        ...(localAddress === undefined ? {} : { localAddress }),
        // A host name must resolve to the family of the address we bind to.
        ...(localAddress !== undefined && isIP(host) === 0 ? { family: isIP(localAddress) } : {}),
      });
    } catch (error) {
      // Options are validated up front, so this is unexpected; still, a bad dial must not crash the process.
      this.fail(socket, `cannot dial: ${(error as Error).message}`, 'failure');
    }
  }

  private onData(socket: Socket, chunk: Buffer): void {
    if (this.socket !== socket) return;
    let bodies: Buffer[];
    try {
      bodies = this.reader!.push(chunk);
    } catch (error) {
      this.counters.decodeErrors++;
      this.fail(socket, (error as Error).message, 'failure');
      return;
    }
    for (const body of bodies) {
      if (this.socket !== socket) return;
      let frame: ReturnType<FrameDecoder['decode']>;
      try {
        frame = this.decoder!.decode(body);
      } catch (error) {
        this.counters.decodeErrors++;
        this.fail(socket, (error as Error).message, 'failure');
        return;
      }
      if (this.stateValue !== 'connecting') {
        this.counters.decodeErrors++;
        this.fail(socket, `unexpected ${frame.type} frame from the acceptor after the handshake`, 'failure');
        return;
      }
      if (frame.type === 'reject') {
        this.counters.handshakeRejections++;
        this.fail(socket, `the peer refused our hello: ${frame.code}: ${frame.reason}`, 'rejected');
        return;
      }
      if (frame.type !== 'welcome') {
        this.counters.decodeErrors++;
        this.fail(socket, `expected a welcome, got a ${frame.type} frame`, 'failure');
        return;
      }
      const { clusterId } = this.host.options;
      if (frame.version !== PROTOCOL_VERSION || frame.clusterId !== clusterId || frame.nodeName !== this.peer) {
        this.counters.handshakeRejections++;
        this.fail(
          socket,
          `the address answers as node "${frame.nodeName}" of cluster "${frame.clusterId}" (protocol ` +
            `${frame.version}); expected "${this.peer}" of "${clusterId}" (protocol ${PROTOCOL_VERSION})`,
          'rejected',
        );
        return;
      }
      this.onConnected();
    }
  }

  private onConnected(): void {
    this.clearTimer('connectTimer');
    const failedAttempts = this.attempt;
    this.attempt = 0;
    this.lastLoggedFailure = undefined;
    if (this.everConnected) this.counters.reconnects++;
    this.everConnected = true;
    this.host.components.logger.info(
      { peer: this.peer, address: formatHostPort(this.addressValue), failedAttempts },
      'connected to peer',
    );
    this.setState('connected');
    this.host.requestFlush(this);
  }

  /** Ends the connection or attempt on `socket` (stale sockets are ignored) and schedules the retry. */
  private fail(socket: Socket, reason: string, kind: FailureKind): void {
    if (this.socket !== socket || this.stopped) return;
    const wasConnected = this.stateValue === 'connected';
    this.teardownSocket();
    this.counters.connectFailures++;
    const { logger } = this.host.components;
    const fields = { peer: this.peer, address: formatHostPort(this.addressValue), reason };
    if (wasConnected) logger.warn(fields, 'lost connection to peer; reconnecting');
    else if (reason === this.lastLoggedFailure) logger.debug(fields, 'still cannot connect to peer');
    else if (kind === 'rejected') logger.error(fields, 'peer refused the connection; retrying slowly');
    else logger.warn(fields, 'cannot connect to peer; retrying with backoff');
    if (!wasConnected) {
      this.lastLoggedFailure = reason;
      try {
        this.host.options.onConnectFailed?.(this.peer, reason);
      } catch (error) {
        logger.error({ peer: this.peer, error }, 'onConnectFailed threw');
      }
    }
    this.scheduleRetry(kind);
  }

  private scheduleRetry(kind: FailureKind): void {
    const { options, components } = this.host;
    const delayMs =
      kind === 'rejected'
        ? rejectedDelayMs(options.reconnectMaxMs, components.random)
        : backoffDelayMs(this.attempt, options.reconnectMinMs, options.reconnectMaxMs, components.random);
    this.attempt++;
    this.setState('backoff');
    this.backoffTimer = components.timers.setTimeout(() => {
      this.backoffTimer = undefined;
      this.connect();
    }, delayMs);
  }

  /** Destroys the current socket, if any, and rejects the sendAsync calls whose bytes were on it. */
  private teardownSocket(): void {
    this.clearTimer('connectTimer');
    this.clearTimer('stallTimer');
    const socket = this.socket;
    this.socket = undefined;
    this.reader = undefined;
    this.decoder = undefined;
    if (socket !== undefined) socket.destroy();
    for (const waiter of this.inFlight) {
      waiter.reject(connectionLost(this.peer, 'the connection closed before the write completed'));
    }
    this.inFlight.clear();
  }

  private dropExpired(): void {
    const expired = this.queue.dropOlderThan(this.host.components.clock.now() - this.host.options.maxQueueAgeMs);
    if (expired.length === 0) return;
    this.counters.droppedExpired += expired.length;
    const error = new TransportError(
      'MESSAGE_EXPIRED',
      `message to ${this.peer} waited over ${this.host.options.maxQueueAgeMs} ms (peer ${this.stateValue})`,
    );
    for (const item of expired) item.waiter?.reject(error);
  }

  private setState(state: PeerConnectionState): void {
    if (this.stateValue === state) return;
    this.stateValue = state;
    try {
      this.host.options.onPeerStateChange?.(this.peer, state);
    } catch (error) {
      this.host.components.logger.error({ peer: this.peer, error }, 'onPeerStateChange threw');
    }
  }

  private clearTimer(name: 'connectTimer' | 'backoffTimer' | 'stallTimer'): void {
    const handle = this[name];
    if (handle === undefined) return;
    this[name] = undefined;
    this.host.components.timers.clearTimeout(handle);
  }
}

function connectionLost(peer: string, reason: string): TransportError {
  return new TransportError(
    'CONNECTION_LOST',
    `connection to ${peer} lost (${reason}); the message may or may not have arrived`,
  );
}
