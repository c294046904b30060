import type { Socket } from 'node:net';
import type { ResolvedTransportComponents, TimerHandle } from './components.js';
import type { HandshakeRejectCode } from './errors.js';
import {
  type DecodedFrame,
  FrameDecoder,
  type FrameEncoder,
  HANDSHAKE_MAX_FRAME_BYTES,
  LENGTH_PREFIX_BYTES,
} from './frame-codec.js';
import { FrameReader } from './frame-reader.js';
import type { ResolvedTransportOptions } from './options.js';
import type { PeerCounters, UnidentifiedInboundCounters } from './stats.js';

export type HelloVerdict =
  | { readonly accept: true }
  | { readonly accept: false; readonly code: HandshakeRejectCode; readonly reason: string };

/** What an inbound connection needs from the transport that owns it. */
export interface InboundHost {
  readonly options: ResolvedTransportOptions;
  readonly components: ResolvedTransportComponents;
  readonly encoder: FrameEncoder;
  readonly unidentified: UnidentifiedInboundCounters;
  /** Checks protocol version, cluster id and name. */
  judgeHello(version: number, clusterId: string, nodeName: string): HelloVerdict;
  /** The hello was accepted: register the connection (replacing an older one from the same peer). */
  identified(connection: InboundConnection): PeerCounters;
  /** The socket closed (for any reason). */
  closed(connection: InboundConnection): void;
}

/**
 * A connection a peer dialed to us. It only delivers: after the hello and our welcome (or reject) we never write.
 * Anything malformed closes this connection alone, with a logged reason and a counted error.
 */
export class InboundConnection {
  /** The peer's node name once its hello was accepted. */
  private peerName: string | undefined;
  private counters: PeerCounters | undefined;
  private readonly reader = new FrameReader(HANDSHAKE_MAX_FRAME_BYTES);
  private readonly decoder = new FrameDecoder();
  private handshakeTimer: TimerHandle | undefined;
  /** Set once we decided to close: no more delivery, no more logging about this socket. */
  private finished = false;
  readonly remoteAddress: string;

  constructor(
    private readonly host: InboundHost,
    readonly socket: Socket,
  ) {
    const { options, components } = host;
    this.remoteAddress = formatRemote(socket);
    socket.setNoDelay(true);
    socket.setKeepAlive(true, options.keepAliveInitialDelayMs);
    this.handshakeTimer = components.timers.setTimeout(() => {
      this.handshakeTimer = undefined;
      host.unidentified.handshakeTimeouts++;
      this.abort(`no hello within ${options.handshakeTimeoutMs} ms`, 'warn');
    }, options.handshakeTimeoutMs);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('error', (error: NodeJS.ErrnoException) => {
      if (!this.finished) {
        components.logger.debug(
          { peer: this.peerName, remote: this.remoteAddress, error: error.message },
          'inbound socket error',
        );
      }
    });
    socket.on('close', () => this.onClose());
  }

  get peer(): string | undefined {
    return this.peerName;
  }

  /** Closes the socket without further delivery (transport closing, peer removed, replaced by a newer connection). */
  destroy(reason: string): void {
    if (!this.finished)
      this.host.components.logger.debug(
        { peer: this.peerName, remote: this.remoteAddress, reason },
        'closing inbound connection',
      );
    this.finish();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    if (this.finished) return;
    let bodies: Buffer[];
    try {
      bodies = this.reader.push(chunk);
    } catch (error) {
      this.countDecodeError();
      this.abort((error as Error).message, 'warn');
      return;
    }
    for (const body of bodies) {
      if (this.finished) return;
      let frame: DecodedFrame;
      try {
        frame = this.decoder.decode(body);
      } catch (error) {
        this.countDecodeError();
        this.abort((error as Error).message, 'warn');
        return;
      }
      if (this.peerName === undefined) this.onHandshakeFrame(frame);
      else this.onPeerFrame(frame, body.length);
    }
  }

  private onHandshakeFrame(frame: DecodedFrame): void {
    const { options, components, encoder, unidentified } = this.host;
    if (frame.type !== 'hello') {
      this.countDecodeError();
      this.abort(`expected a hello, got a ${frame.type} frame`, 'warn');
      return;
    }
    this.clearHandshakeTimer();
    const verdict = this.host.judgeHello(frame.version, frame.clusterId, frame.nodeName);
    if (!verdict.accept) {
      unidentified.handshakeRejections++;
      const fields = { peer: frame.nodeName, remote: this.remoteAddress, code: verdict.code, reason: verdict.reason };
      if (verdict.code === 'CLUSTER_MISMATCH') components.logger.error(fields, 'refused a peer from another cluster');
      else components.logger.warn(fields, 'refused a peer hello');
      this.finish();
      // Tell the dialer why, then close. The end callback runs once the reject is flushed; the timer covers a
      // dialer that never reads it.
      this.socket.end(encoder.rejectFrame(verdict.code, verdict.reason), () => this.socket.destroy());
      this.handshakeTimer = components.timers.setTimeout(() => {
        this.handshakeTimer = undefined;
        this.socket.destroy();
      }, options.handshakeTimeoutMs);
      return;
    }
    this.peerName = frame.nodeName;
    this.reader.setMaxFrameBytes(options.maxFrameBytes);
    this.counters = this.host.identified(this);
    this.counters.lastReceivedAt = components.clock.now();
    this.socket.write(encoder.welcomeFrame(options.clusterId, options.nodeName));
    components.logger.info({ peer: frame.nodeName, remote: this.remoteAddress }, 'accepted peer connection');
  }

  private onPeerFrame(frame: DecodedFrame, bodyBytes: number): void {
    const counters = this.counters!;
    if (frame.type !== 'batch') {
      this.countDecodeError();
      this.abort(`unexpected ${frame.type} frame after the handshake`, 'warn');
      return;
    }
    const { options, components } = this.host;
    const from = this.peerName!;
    counters.framesReceived++;
    counters.bytesReceived += bodyBytes + LENGTH_PREFIX_BYTES;
    counters.lastReceivedAt = components.clock.now();
    const items = frame.body;
    for (let i = 1; i < items.length; i++) {
      counters.messagesReceived++;
      try {
        options.onMessage(from, items[i]);
      } catch (error) {
        counters.handlerErrors++;
        components.logger.error({ peer: from, error }, 'onMessage threw; message skipped');
      }
      // The handler may have closed the transport (or this connection): deliver nothing more.
      if (this.finished) return;
    }
  }

  private onClose(): void {
    if (!this.finished && this.reader.midFrame) {
      if (this.counters) this.counters.truncatedFrames++;
      else this.host.unidentified.truncatedFrames++;
      this.host.components.logger.warn(
        { peer: this.peerName, remote: this.remoteAddress, bufferedBytes: this.reader.bufferedBytes },
        'inbound connection closed in the middle of a frame',
      );
    }
    this.finish();
    this.host.closed(this);
  }

  private countDecodeError(): void {
    if (this.counters) this.counters.decodeErrors++;
    else this.host.unidentified.decodeErrors++;
  }

  private abort(reason: string, level: 'warn' | 'error'): void {
    if (this.finished) return;
    this.host.components.logger[level](
      { peer: this.peerName, remote: this.remoteAddress, reason },
      'closing inbound connection',
    );
    this.finish();
    this.socket.destroy();
  }

  private finish(): void {
    this.finished = true;
    this.clearHandshakeTimer();
  }

  private clearHandshakeTimer(): void {
    if (this.handshakeTimer === undefined) return;
    this.host.components.timers.clearTimeout(this.handshakeTimer);
    this.handshakeTimer = undefined;
  }
}

function formatRemote(socket: Socket): string {
  const address = socket.remoteAddress ?? '?';
  return address.includes(':') ? `[${address}]:${socket.remotePort}` : `${address}:${socket.remotePort}`;
}
