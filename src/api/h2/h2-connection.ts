import type { IncomingHttpHeaders } from 'node:http';
import type net from 'node:net';
import { turnFlush } from '../../util/turn-flush.js';
import {
  CLIENT_PREFACE,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_WINDOW_BYTES,
  Flag,
  FRAME_HEADER_BYTES,
  FrameType,
  frame,
  goawayFrame,
  H2ConnectionError,
  H2ErrorCode,
  MAX_FRAME_BYTES_LIMIT,
  MAX_WINDOW_BYTES,
  rstStreamFrame,
  Setting,
  settingsFrame,
  windowUpdateFrame,
  writeFrameHeader,
} from './frames.js';
import { type ExchangeConnection, H2Exchange } from './h2-exchange.js';
import { encodeResponseHeaders, HpackDecoder, HpackError } from './hpack.js';
import { StreamTable } from './stream-table.js';

export interface H2ConnectionOptions {
  /** Streams open at once; more are refused with REFUSED_STREAM. Default 256. */
  readonly maxConcurrentStreams?: number;
  /** Largest decoded request header list (RFC 9113 SETTINGS_MAX_HEADER_LIST_SIZE). Default 16 KiB. */
  readonly maxHeaderListBytes?: number;
  /** A connection without open streams is closed (GOAWAY) after this long without traffic. Default 65 000 ms. */
  readonly idleTimeoutMs?: number;
}

export type H2Handler = (req: H2Exchange, res: H2Exchange) => void;

/** Request bytes the whole connection may have in flight; replenished as they arrive. */
const CONNECTION_WINDOW_BYTES = 1 << 20;
/** A streaming response's write() asks the writer to wait once this much is queued on the socket. */
const WRITE_HIGH_WATER_BYTES = 64 * 1024;
/**
 * Requests whose content-length is at most this are handed to the handler with their whole body. A stream's receive
 * window is this large until the body is consumed, so the peer can always send all of it.
 */
const WHOLE_BODY_MAX_BYTES = DEFAULT_WINDOW_BYTES;

/**
 * A body longer or shorter than its content-length makes the request malformed (RFC 9113 §8.1.1): its stream is
 * reset, so the handler never sees it or its body read fails — a truncated value is never stored.
 */
function bodyLengthBroken(exchange: H2Exchange, ended: boolean): boolean {
  const declared = exchange.declaredBodyBytes;
  if (declared === null) return false;
  const received = exchange.receivedBodyBytes;
  return received > declared || (ended && received !== declared);
}

const INVALID_LENGTH = -1;

/** A request's content-length: null when absent, INVALID_LENGTH when it is not a plain decimal number. */
function parseContentLength(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^[0-9]{1,15}$/.test(value)) return INVALID_LENGTH;
  return Number(value);
}

/** Open streams a peer may cancel per second before the connection is closed (see onRstStream). */
const MAX_PEER_RESETS_PER_SECOND = 1000;
/** A peer that stops reading while making us queue this much (pings, settings, responses) is cut off. */
const MAX_UNSENT_BYTES = 64 * 1024 * 1024;

/**
 * One cleartext HTTP/2 connection (h2c with prior knowledge, RFC 9113 §3.3), served without Node's http2 module:
 * frames are parsed straight from the socket's chunks, every frame a turn produces for the connection goes out in
 * one socket write, and a request costs one small object (H2Exchange). The server side only: no push, no
 * priorities (PRIORITY is read and ignored, as RFC 9113 allows), no dynamic table for responses.
 *
 * Errors follow RFC 9113 §5.4: a malformed request resets its stream (PROTOCOL_ERROR); a broken connection-level
 * rule (bad frame size, bad header compression, a frame in the wrong place) ends the connection with GOAWAY.
 * Nothing a peer sends throws out of this class.
 */
export class H2Connection implements ExchangeConnection {
  private readonly streams = new StreamTable<H2Exchange>();
  private readonly decoder: HpackDecoder;
  private readonly maxConcurrentStreams: number;
  private readonly maxHeaderListBytes: number;

  private leftover: Buffer | null = null;
  private prefaceSeen = false;
  private settingsSeen = false;
  private lastStreamId = 0;
  /** A header block split over CONTINUATION frames, until END_HEADERS. */
  private continuation: { id: number; endStream: boolean; fragments: Buffer[]; bytes: number } | null = null;

  private peerInitialWindow = DEFAULT_WINDOW_BYTES;
  private peerMaxFrameBytes = DEFAULT_MAX_FRAME_BYTES;
  private sendWindow = DEFAULT_WINDOW_BYTES;
  private receivedSinceUpdate = 0;
  /** Streams with DATA waiting for send window. */
  private readonly blocked = new Set<H2Exchange>();
  /** Streams whose write() returned false: they get 'drain' once their data and the socket's backlog are out. */
  private readonly wantDrain = new Set<H2Exchange>();

  private out: Buffer[] = [];
  private outBytes = 0;
  private flushScheduled = false;
  /** Streams whose response ended in the frames not yet written: they close after the write. */
  private finishing: H2Exchange[] = [];
  private goingAway = false;
  private closed = false;
  private peerResets = 0;
  private resetWindowStartMs = 0;

  constructor(
    private readonly socket: net.Socket,
    private readonly handler: H2Handler,
    options: H2ConnectionOptions = {},
  ) {
    this.maxConcurrentStreams = options.maxConcurrentStreams ?? 256;
    this.maxHeaderListBytes = options.maxHeaderListBytes ?? 16 * 1024;
    this.decoder = new HpackDecoder({ maxHeaderListBytes: this.maxHeaderListBytes });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => this.onSocketClosed());
    socket.on('error', () => socket.destroy());
    socket.on('drain', () => this.onSocketDrain());
    socket.setTimeout(options.idleTimeoutMs ?? 65_000, () => {
      if (this.streams.size === 0) this.goAway(H2ErrorCode.NO_ERROR, 'idle');
    });
    this.queue(
      settingsFrame([
        [Setting.MAX_CONCURRENT_STREAMS, this.maxConcurrentStreams],
        [Setting.MAX_HEADER_LIST_SIZE, this.maxHeaderListBytes],
        [Setting.ENABLE_PUSH, 0],
      ]),
    );
    this.queue(windowUpdateFrame(0, CONNECTION_WINDOW_BYTES - DEFAULT_WINDOW_BYTES));
    socket.resume();
  }

  // ---- reading -------------------------------------------------------------------------------------------------------

  private onData(chunk: Buffer): void {
    if (this.closed) return;
    const buf = this.leftover === null ? chunk : Buffer.concat([this.leftover, chunk]);
    this.leftover = null;
    let at = 0;
    try {
      if (!this.prefaceSeen) {
        const n = Math.min(buf.length, CLIENT_PREFACE.length);
        if (!buf.subarray(0, n).equals(CLIENT_PREFACE.subarray(0, n))) {
          throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'bad connection preface');
        }
        if (buf.length < CLIENT_PREFACE.length) {
          this.leftover = buf;
          return;
        }
        this.prefaceSeen = true;
        at = CLIENT_PREFACE.length;
      }
      while (buf.length - at >= FRAME_HEADER_BYTES) {
        const length = (buf[at]! << 16) | (buf[at + 1]! << 8) | buf[at + 2]!;
        // We never raise SETTINGS_MAX_FRAME_SIZE above the default.
        if (length > DEFAULT_MAX_FRAME_BYTES) {
          throw new H2ConnectionError(H2ErrorCode.FRAME_SIZE_ERROR, `a ${length}-byte frame`);
        }
        if (buf.length - at - FRAME_HEADER_BYTES < length) break;
        const type = buf[at + 3]!;
        const flags = buf[at + 4]!;
        const streamId = buf.readUInt32BE(at + 5) & 0x7fffffff;
        const payload = buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + length);
        at += FRAME_HEADER_BYTES + length;
        this.onFrame(type, flags, streamId, payload);
        if (this.closed) return;
      }
      if (at < buf.length) this.leftover = Buffer.from(buf.subarray(at));
    } catch (error) {
      if (error instanceof H2ConnectionError) this.goAway(error.h2Code, error.message);
      else this.goAway(H2ErrorCode.INTERNAL_ERROR, 'internal error');
    }
  }

  private onFrame(type: number, flags: number, streamId: number, payload: Buffer): void {
    if (!this.settingsSeen) {
      if (type !== FrameType.SETTINGS || (flags & Flag.ACK) !== 0) {
        throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'the preface must be followed by SETTINGS');
      }
      this.settingsSeen = true;
    }
    if (this.continuation !== null && type !== FrameType.CONTINUATION) {
      throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'a header block was interrupted');
    }
    switch (type) {
      case FrameType.DATA:
        this.onDataFrame(flags, streamId, payload);
        return;
      case FrameType.HEADERS:
        this.onHeadersFrame(flags, streamId, payload);
        return;
      case FrameType.CONTINUATION:
        this.onContinuation(flags, streamId, payload);
        return;
      case FrameType.PRIORITY:
        if (streamId === 0) throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'PRIORITY on stream 0');
        if (payload.length !== 5) throw new H2ConnectionError(H2ErrorCode.FRAME_SIZE_ERROR, 'PRIORITY size');
        return;
      case FrameType.RST_STREAM:
        this.onRstStream(streamId, payload);
        return;
      case FrameType.SETTINGS:
        this.onSettings(flags, streamId, payload);
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'a client may not push');
      case FrameType.PING:
        if (streamId !== 0) throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'PING on a stream');
        if (payload.length !== 8) throw new H2ConnectionError(H2ErrorCode.FRAME_SIZE_ERROR, 'PING size');
        if ((flags & Flag.ACK) === 0) this.queue(frame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY:
        if (streamId !== 0) throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'GOAWAY on a stream');
        this.goingAway = true;
        if (this.streams.size === 0) this.goAway(H2ErrorCode.NO_ERROR, '');
        return;
      case FrameType.WINDOW_UPDATE:
        this.onWindowUpdate(streamId, payload);
        return;
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  /** Strips padding (and a HEADERS frame's priority fields) from a payload. */
  private unpad(flags: number, payload: Buffer, priorityBytes: number): Buffer {
    let start = 0;
    let end = payload.length;
    if ((flags & Flag.PADDED) !== 0) {
      if (payload.length < 1) throw new H2ConnectionError(H2ErrorCode.FRAME_SIZE_ERROR, 'padded frame too short');
      start = 1;
      end -= payload[0]!;
    }
    start += priorityBytes;
    if (end < start) throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'padding exceeds the frame');
    return payload.subarray(start, end);
  }

  private onHeadersFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0 || streamId % 2 === 0) {
      throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, `HEADERS on stream ${streamId}`);
    }
    const fragment = this.unpad(flags, payload, (flags & Flag.PRIORITY) !== 0 ? 5 : 0);
    const endStream = (flags & Flag.END_STREAM) !== 0;
    if ((flags & Flag.END_HEADERS) !== 0) {
      this.onHeaderBlock(streamId, endStream, fragment);
      return;
    }
    this.continuation = { id: streamId, endStream, fragments: [Buffer.from(fragment)], bytes: fragment.length };
  }

  private onContinuation(flags: number, streamId: number, payload: Buffer): void {
    const c = this.continuation;
    if (c === null || c.id !== streamId) {
      throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'CONTINUATION without a header block');
    }
    c.bytes += payload.length;
    // A compressed block is never larger than the decoded list by much; bound it before decoding anything.
    if (c.bytes > 2 * this.maxHeaderListBytes) {
      throw new H2ConnectionError(H2ErrorCode.ENHANCE_YOUR_CALM, 'header block too large');
    }
    c.fragments.push(Buffer.from(payload));
    if ((flags & Flag.END_HEADERS) === 0) return;
    this.continuation = null;
    this.onHeaderBlock(c.id, c.endStream, Buffer.concat(c.fragments, c.bytes));
  }

  private onHeaderBlock(streamId: number, endStream: boolean, block: Buffer): void {
    let fields: string[];
    try {
      // Decoded even for a stream that is refused below: the compression context is shared by the connection.
      fields = this.decoder.decode(block);
    } catch (error) {
      if (!(error instanceof HpackError)) throw error;
      if (!error.decoderUsable || this.streams.has(streamId) || streamId <= this.lastStreamId) {
        throw new H2ConnectionError(H2ErrorCode.COMPRESSION_ERROR, error.message);
      }
      // Too many header bytes: the compression context is intact, so only this request is refused (RFC 6585 431).
      this.lastStreamId = streamId;
      this.queueFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, streamId, encodeResponseHeaders(431, []));
      if (!endStream) this.queue(rstStreamFrame(streamId, H2ErrorCode.NO_ERROR));
      return;
    }
    const existing = this.streams.get(streamId);
    if (existing !== undefined) {
      // Trailers: accepted and ignored; they must end the stream.
      if (!endStream || existing.remoteEnded) this.resetStream(existing, H2ErrorCode.PROTOCOL_ERROR);
      else
        this.safely(existing, () => {
          if (bodyLengthBroken(existing, true)) {
            this.resetStream(existing, H2ErrorCode.PROTOCOL_ERROR);
            return;
          }
          existing.endBody();
          this.runPendingHandler(existing);
        });
      return;
    }
    if (streamId <= this.lastStreamId) {
      this.queue(rstStreamFrame(streamId, H2ErrorCode.STREAM_CLOSED));
      return;
    }
    this.lastStreamId = streamId;
    if (this.goingAway || this.streams.size >= this.maxConcurrentStreams) {
      this.queue(rstStreamFrame(streamId, H2ErrorCode.REFUSED_STREAM));
      return;
    }
    const request = parseRequestFields(fields);
    const declared = request === null ? null : parseContentLength(request.headers['content-length']);
    if (request === null || declared === INVALID_LENGTH || (endStream && declared !== null && declared > 0)) {
      this.queue(rstStreamFrame(streamId, H2ErrorCode.PROTOCOL_ERROR));
      return;
    }
    const exchange = new H2Exchange(
      this,
      streamId,
      request.headers,
      request.method,
      request.path,
      this.peerInitialWindow,
      DEFAULT_WINDOW_BYTES,
    );
    this.streams.set(streamId, exchange);
    exchange.declaredBodyBytes = declared;
    if (endStream) exchange.remoteEnded = true;
    else if (declared !== null && declared <= WHOLE_BODY_MAX_BYTES) {
      // The body is on its way (usually in the same read): the handler runs once it is all here, and takes it whole
      // (H2Exchange.takeBufferedBody) instead of through listeners, events and a promise per request.
      exchange.handlerPending = true;
      return;
    }
    this.safely(exchange, () => this.handler(exchange, exchange));
  }

  /** Runs the handler of a request that waited for its announced body, once the body has ended. */
  private runPendingHandler(exchange: H2Exchange): void {
    if (!exchange.handlerPending || !exchange.remoteEnded || exchange.closed) return;
    exchange.handlerPending = false;
    this.handler(exchange, exchange);
  }

  private onDataFrame(flags: number, streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'DATA on stream 0');
    this.receivedSinceUpdate += payload.length;
    if (this.receivedSinceUpdate >= CONNECTION_WINDOW_BYTES / 2) {
      this.queue(windowUpdateFrame(0, this.receivedSinceUpdate));
      this.receivedSinceUpdate = 0;
    }
    const data = this.unpad(flags, payload, 0);
    const exchange = this.streams.get(streamId);
    if (exchange === undefined || exchange.remoteEnded) {
      if (streamId > this.lastStreamId) {
        throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${streamId}`);
      }
      // A stream we closed (answered or reset) while the peer was still sending: its bytes are dropped.
      return;
    }
    exchange.receiveWindow -= payload.length;
    if (exchange.receiveWindow < 0) {
      this.resetStream(exchange, H2ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    // Padding is flow-controlled but never reaches the application: return it at once.
    if (payload.length > data.length) this.consumed(exchange, payload.length - data.length);
    const end = (flags & Flag.END_STREAM) !== 0;
    this.safely(exchange, () => {
      exchange.receivedBodyBytes += data.length;
      // Checked before the bytes are handed over: a reader never gets more than was announced, nor a short body's end.
      if (bodyLengthBroken(exchange, end)) {
        this.resetStream(exchange, H2ErrorCode.PROTOCOL_ERROR);
        return;
      }
      if (data.length > 0) exchange.pushBody(data);
      if (end) exchange.endBody();
      this.runPendingHandler(exchange);
    });
  }

  private onRstStream(streamId: number, payload: Buffer): void {
    if (streamId === 0) throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'RST_STREAM on stream 0');
    if (payload.length !== 4) throw new H2ConnectionError(H2ErrorCode.FRAME_SIZE_ERROR, 'RST_STREAM size');
    if (streamId > this.lastStreamId) {
      throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${streamId}`);
    }
    const exchange = this.streams.get(streamId);
    if (exchange === undefined) return;
    // "Rapid reset" (CVE-2023-44487): opening and cancelling streams in a loop makes the server start work for
    // each while the stream limit never binds. Cancelling is normal; cancelling thousands a second is not.
    const now = performance.now();
    if (now - this.resetWindowStartMs > 1000) {
      this.resetWindowStartMs = now;
      this.peerResets = 0;
    }
    if (++this.peerResets > MAX_PEER_RESETS_PER_SECOND) {
      throw new H2ConnectionError(H2ErrorCode.ENHANCE_YOUR_CALM, 'too many streams reset');
    }
    this.closeStream(exchange, true);
  }

  private onSettings(flags: number, streamId: number, payload: Buffer): void {
    if (streamId !== 0) throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'SETTINGS on a stream');
    if ((flags & Flag.ACK) !== 0) {
      if (payload.length !== 0) throw new H2ConnectionError(H2ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS ACK with data');
      return;
    }
    if (payload.length % 6 !== 0) throw new H2ConnectionError(H2ErrorCode.FRAME_SIZE_ERROR, 'SETTINGS size');
    for (let at = 0; at < payload.length; at += 6) {
      const id = payload.readUInt16BE(at);
      const value = payload.readUInt32BE(at + 2);
      if (id === Setting.ENABLE_PUSH && value > 1) {
        throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'ENABLE_PUSH must be 0 or 1');
      } else if (id === Setting.INITIAL_WINDOW_SIZE) {
        if (value > MAX_WINDOW_BYTES) {
          throw new H2ConnectionError(H2ErrorCode.FLOW_CONTROL_ERROR, 'INITIAL_WINDOW_SIZE too large');
        }
        const delta = value - this.peerInitialWindow;
        this.peerInitialWindow = value;
        for (const s of this.streams.list()) {
          s.sendWindow += delta;
          if (s.sendWindow > MAX_WINDOW_BYTES) {
            throw new H2ConnectionError(H2ErrorCode.FLOW_CONTROL_ERROR, 'a stream window overflowed');
          }
        }
      } else if (id === Setting.MAX_FRAME_SIZE) {
        if (value < DEFAULT_MAX_FRAME_BYTES || value > MAX_FRAME_BYTES_LIMIT) {
          throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'MAX_FRAME_SIZE out of range');
        }
        this.peerMaxFrameBytes = value;
      }
      // HEADER_TABLE_SIZE needs nothing: responses use no dynamic table. Others are advisory or unknown.
    }
    this.queue(frame(FrameType.SETTINGS, Flag.ACK, 0));
    this.flushBlocked();
  }

  private onWindowUpdate(streamId: number, payload: Buffer): void {
    if (payload.length !== 4) throw new H2ConnectionError(H2ErrorCode.FRAME_SIZE_ERROR, 'WINDOW_UPDATE size');
    const increment = payload.readUInt32BE(0) & 0x7fffffff;
    if (streamId === 0) {
      if (increment === 0) throw new H2ConnectionError(H2ErrorCode.PROTOCOL_ERROR, 'WINDOW_UPDATE of 0');
      this.sendWindow += increment;
      if (this.sendWindow > MAX_WINDOW_BYTES) {
        throw new H2ConnectionError(H2ErrorCode.FLOW_CONTROL_ERROR, 'connection window overflowed');
      }
      this.flushBlocked();
      return;
    }
    const exchange = this.streams.get(streamId);
    if (exchange === undefined) return; // a closed stream's late update
    if (increment === 0) {
      this.resetStream(exchange, H2ErrorCode.PROTOCOL_ERROR);
      return;
    }
    exchange.sendWindow += increment;
    if (exchange.sendWindow > MAX_WINDOW_BYTES) {
      this.resetStream(exchange, H2ErrorCode.FLOW_CONTROL_ERROR);
      return;
    }
    if (exchange.queuedBytes > 0 || exchange.queuedEnd) this.flushBlocked();
  }

  /** Runs application code for one stream; if it throws, that stream is reset, not the connection. */
  private safely(exchange: H2Exchange, fn: () => void): void {
    try {
      fn();
    } catch {
      this.resetStream(exchange, H2ErrorCode.INTERNAL_ERROR);
    }
  }

  // ---- writing -------------------------------------------------------------------------------------------------------

  consumed(exchange: H2Exchange, bytes: number): void {
    if (exchange.closed || exchange.remoteEnded) return;
    exchange.unacknowledgedBytes += bytes;
    if (exchange.unacknowledgedBytes >= DEFAULT_WINDOW_BYTES / 2) {
      this.queue(windowUpdateFrame(exchange.streamId, exchange.unacknowledgedBytes));
      exchange.receiveWindow += exchange.unacknowledgedBytes;
      exchange.unacknowledgedBytes = 0;
    }
  }

  send(exchange: H2Exchange, data: Buffer | null, end: boolean): boolean {
    if (exchange.closed || this.closed) return true;
    const dataBytes = data === null ? 0 : data.length;
    const block = exchange.headerBlock;
    if (block !== null) {
      exchange.headerBlock = null;
      // The common response: headers and a small body fit the windows and go out as two frames in one buffer.
      if (
        end &&
        dataBytes <= this.peerMaxFrameBytes &&
        dataBytes <= this.sendWindow &&
        dataBytes <= exchange.sendWindow &&
        exchange.queuedBytes === 0
      ) {
        this.queueHeadersAndData(exchange, block, data);
        this.endSent(exchange);
        return true;
      }
      this.queueFrame(
        FrameType.HEADERS,
        Flag.END_HEADERS | (end && dataBytes === 0 ? Flag.END_STREAM : 0),
        exchange.streamId,
        block,
      );
      if (end && dataBytes === 0) {
        this.endSent(exchange);
        return true;
      }
    }
    if (data !== null) {
      exchange.queued.push(data);
      exchange.queuedBytes += data.length;
    }
    if (end) exchange.queuedEnd = true;
    this.sendQueued(exchange);
    if (exchange.queuedBytes > 0 || exchange.queuedEnd) this.blocked.add(exchange);
    const full = exchange.queuedBytes > 0 || this.socket.writableLength + this.outBytes > WRITE_HIGH_WATER_BYTES;
    if (full && !end) this.wantDrain.add(exchange);
    return !full;
  }

  private queueHeadersAndData(exchange: H2Exchange, block: Buffer, data: Buffer | null): void {
    const dataBytes = data === null ? 0 : data.length;
    const out = Buffer.allocUnsafe(2 * FRAME_HEADER_BYTES + block.length + dataBytes);
    writeFrameHeader(out, 0, block.length, FrameType.HEADERS, Flag.END_HEADERS, exchange.streamId);
    out.set(block, FRAME_HEADER_BYTES);
    const at = FRAME_HEADER_BYTES + block.length;
    writeFrameHeader(out, at, dataBytes, FrameType.DATA, Flag.END_STREAM, exchange.streamId);
    if (data !== null) out.set(data, at + FRAME_HEADER_BYTES);
    this.sendWindow -= dataBytes;
    exchange.sendWindow -= dataBytes;
    this.queue(out);
  }

  /** Sends as much of a stream's queued DATA as the windows allow. */
  private sendQueued(exchange: H2Exchange): void {
    while (exchange.queued.length > 0) {
      const head = exchange.queued[0]!;
      const allowed = Math.min(head.length, this.peerMaxFrameBytes, this.sendWindow, exchange.sendWindow);
      if (allowed <= 0) return;
      const piece = allowed === head.length ? head : head.subarray(0, allowed);
      if (allowed === head.length) exchange.queued.shift();
      else exchange.queued[0] = head.subarray(allowed);
      exchange.queuedBytes -= allowed;
      this.sendWindow -= allowed;
      exchange.sendWindow -= allowed;
      const last = exchange.queued.length === 0 && exchange.queuedEnd;
      this.queueFrame(FrameType.DATA, last ? Flag.END_STREAM : 0, exchange.streamId, piece);
      if (last) {
        exchange.queuedEnd = false;
        this.endSent(exchange);
        return;
      }
    }
    if (exchange.queuedEnd) {
      exchange.queuedEnd = false;
      this.queueFrame(FrameType.DATA, Flag.END_STREAM, exchange.streamId);
      this.endSent(exchange);
    }
  }

  private flushBlocked(): void {
    for (const exchange of this.blocked) {
      if (exchange.closed) {
        this.blocked.delete(exchange);
        continue;
      }
      this.sendQueued(exchange);
      if (exchange.queuedBytes === 0 && !exchange.queuedEnd) this.blocked.delete(exchange);
      if (this.sendWindow <= 0) return;
    }
  }

  /** Emits 'drain' to writers that waited, once their queued DATA is sent and the socket has taken the backlog. */
  private releaseWriters(): void {
    if (this.wantDrain.size === 0) return;
    if (this.socket.writableLength + this.outBytes > WRITE_HIGH_WATER_BYTES) return; // the socket's 'drain' comes
    for (const exchange of this.wantDrain) {
      if (exchange.queuedBytes > 0 && !exchange.closed) continue; // waiting for a WINDOW_UPDATE
      this.wantDrain.delete(exchange);
      if (!exchange.closed) exchange.emit('drain');
    }
  }

  /** Our END_STREAM is queued: the stream closes once it is written (and the peer is told to stop sending). */
  private endSent(exchange: H2Exchange): void {
    this.streams.delete(exchange.streamId);
    this.blocked.delete(exchange);
    if (!exchange.remoteEnded) this.queue(rstStreamFrame(exchange.streamId, H2ErrorCode.NO_ERROR));
    this.finishing.push(exchange);
  }

  private resetStream(exchange: H2Exchange, code: number): void {
    if (exchange.closed) return;
    this.queue(rstStreamFrame(exchange.streamId, code));
    this.closeStream(exchange, true);
  }

  private closeStream(exchange: H2Exchange, aborted: boolean): void {
    this.streams.delete(exchange.streamId);
    this.blocked.delete(exchange);
    this.wantDrain.delete(exchange);
    exchange.remoteEnded = true;
    try {
      exchange.onClosed(aborted);
    } catch {
      // a throwing 'close' listener must not take the connection down
    }
    if (this.goingAway && this.streams.size === 0) this.goAway(H2ErrorCode.NO_ERROR, '');
  }

  private queueFrame(type: number, flags: number, streamId: number, payload?: Buffer): void {
    const length = payload?.length ?? 0;
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    writeFrameHeader(header, 0, length, type, flags, streamId);
    this.queue(header);
    if (payload !== undefined && length > 0) this.queue(payload);
  }

  private queue(bytes: Buffer): void {
    this.out.push(bytes);
    this.outBytes += bytes.length;
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // Everything this turn produces for the connection (often many streams' responses) goes out in one write,
    // ahead of the turn's peer messages (see src/util/turn-flush.ts).
    turnFlush.schedule('responses', this.flushOnce);
  }

  private readonly flushOnce = (): void => this.flush();

  private flush(): void {
    this.flushScheduled = false;
    if (this.closed) return;
    const out = this.out;
    this.out = [];
    const bytes = this.outBytes;
    this.outBytes = 0;
    if (out.length > 0) this.socket.write(out.length === 1 ? out[0]! : Buffer.concat(out, bytes));
    if (this.socket.writableLength > MAX_UNSENT_BYTES) {
      this.socket.destroy();
      return;
    }
    const finishing = this.finishing;
    this.finishing = [];
    for (const exchange of finishing) this.closeStream(exchange, false);
    this.releaseWriters();
  }

  private onSocketDrain(): void {
    this.releaseWriters();
  }

  // ---- ending --------------------------------------------------------------------------------------------------------

  /** Sends GOAWAY and closes the connection once it is written. */
  private goAway(code: number, reason: string): void {
    if (this.closed) return;
    this.queue(goawayFrame(this.lastStreamId, code, reason));
    this.flush();
    this.closed = true;
    this.socket.end();
    this.socket.destroySoon();
  }

  private onSocketClosed(): void {
    this.closed = true;
    this.leftover = null;
    for (const exchange of this.streams.list()) this.closeStream(exchange, true);
    for (const exchange of this.finishing) this.closeStream(exchange, false);
    this.finishing = [];
    this.blocked.clear();
  }
}

/** The request's pseudo-header fields and headers, or null when the request is malformed (RFC 9113 §8.3). */
function parseRequestFields(fields: string[]): { method: string; path: string; headers: IncomingHttpHeaders } | null {
  const headers: Record<string, string | string[]> = Object.create(null);
  let method: string | undefined;
  let path: string | undefined;
  let scheme: string | undefined;
  let regularSeen = false;
  for (let i = 0; i < fields.length; i += 2) {
    const name = fields[i]!;
    const value = fields[i + 1]!;
    if (name.charCodeAt(0) === 0x3a /* ':' */) {
      if (regularSeen) return null;
      if (name === ':method') {
        if (method !== undefined) return null;
        method = value;
      } else if (name === ':path') {
        if (path !== undefined) return null;
        path = value;
      } else if (name === ':scheme') {
        if (scheme !== undefined) return null;
        scheme = value;
      } else if (name !== ':authority') return null;
      headers[name] = value;
      continue;
    }
    regularSeen = true;
    if (hasUppercase(name) || CONNECTION_HEADERS.has(name)) return null;
    if (name === 'te' && value !== 'trailers') return null;
    const previous = headers[name];
    if (previous === undefined) headers[name] = value;
    else if (name === 'cookie') headers[name] = `${previous}; ${value}`;
    else if (Array.isArray(previous)) previous.push(value);
    else if (name === 'set-cookie') headers[name] = [previous, value];
    else headers[name] = `${previous}, ${value}`;
  }
  if (method === undefined || method === 'CONNECT' || path === undefined || path === '' || scheme === undefined) {
    return null;
  }
  return { method, path, headers: headers as IncomingHttpHeaders };
}

const CONNECTION_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade']);

function hasUppercase(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x41 && c <= 0x5a) return true;
  }
  return false;
}
