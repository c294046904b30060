import { Packr, Unpackr } from 'msgpackr';
import { TransportError } from './errors.js';

/**
 * Wire format. Every frame is a 4-byte big-endian body length followed by a msgpack body. The body is always a
 * msgpack array whose first element is the frame type:
 *
 *   HELLO   [1, protocolVersion, clusterId, nodeName]   dialer → acceptor, first frame on a connection
 *   WELCOME [2, protocolVersion, clusterId, nodeName]   acceptor → dialer, hello accepted
 *   REJECT  [3, code, reason]                           acceptor → dialer, then the acceptor closes
 *   BATCH   [4, message1, message2, ...]                dialer → acceptor, any number of messages
 *
 * Elements past the ones listed are ignored, so a later protocol version can extend a frame.
 * Messages are encoded one by one when `send` is called (so the queue knows their exact size and they survive a
 * reconnect unchanged) and concatenated behind a hand-written array header when a frame is built.
 */
export const PROTOCOL_VERSION = 2;

export const FrameType = { hello: 1, welcome: 2, reject: 3, batch: 4 } as const;

export const LENGTH_PREFIX_BYTES = 4;
/** Worst-case bytes a BATCH body adds around its messages: array32 header (5) + the type (1). */
export const BATCH_BODY_OVERHEAD_BYTES = 6;
/** Frames before a completed handshake are tiny; a stranger cannot make us buffer more than this. */
export const HANDSHAKE_MAX_FRAME_BYTES = 4096;

export type DecodedFrame =
  | {
      readonly type: 'hello' | 'welcome';
      readonly version: number;
      readonly clusterId: string;
      readonly nodeName: string;
    }
  | { readonly type: 'reject'; readonly code: string; readonly reason: string }
  /** `body[0]` is the frame type; the messages are `body[1..]` (no copy of the array is made). */
  | { readonly type: 'batch'; readonly body: readonly unknown[] };

/** Encodes messages and control frames. Stateless between calls (no shared record structures), so one per transport. */
export class FrameEncoder {
  private readonly packr = new Packr({ useRecords: false });

  /** msgpack bytes of one message; throws ENCODE_FAILED. The buffer stays valid (msgpackr does not reuse it). */
  encodeMessage(message: unknown): Buffer {
    try {
      return this.packr.pack(message);
    } catch (error) {
      throw new TransportError('ENCODE_FAILED', `cannot encode message: ${(error as Error).message}`);
    }
  }

  /** A complete BATCH frame (length prefix included) around already-encoded messages. */
  batchFrame(messages: readonly Buffer[], messageBytes: number): Buffer {
    const count = messages.length + 1;
    const headerBytes = count <= 15 ? 1 : count <= 0xffff ? 3 : 5;
    const bodyBytes = headerBytes + 1 + messageBytes;
    const frame = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + bodyBytes);
    frame.writeUInt32BE(bodyBytes, 0);
    let offset = LENGTH_PREFIX_BYTES;
    if (headerBytes === 1) frame[offset++] = 0x90 | count;
    else if (headerBytes === 3) {
      frame[offset++] = 0xdc;
      frame.writeUInt16BE(count, offset);
      offset += 2;
    } else {
      frame[offset++] = 0xdd;
      frame.writeUInt32BE(count, offset);
      offset += 4;
    }
    frame[offset++] = FrameType.batch;
    for (const message of messages) offset += message.copy(frame, offset);
    return frame;
  }

  helloFrame(clusterId: string, nodeName: string): Buffer {
    return this.controlFrame([FrameType.hello, PROTOCOL_VERSION, clusterId, nodeName]);
  }

  welcomeFrame(clusterId: string, nodeName: string): Buffer {
    return this.controlFrame([FrameType.welcome, PROTOCOL_VERSION, clusterId, nodeName]);
  }

  rejectFrame(code: string, reason: string): Buffer {
    // Keep the frame under the handshake cap whatever the reason says.
    return this.controlFrame([FrameType.reject, code, reason.slice(0, 1000)]);
  }

  private controlFrame(body: unknown[]): Buffer {
    const encoded = this.packr.pack(body);
    const frame = Buffer.allocUnsafe(LENGTH_PREFIX_BYTES + encoded.length);
    frame.writeUInt32BE(encoded.length, 0);
    encoded.copy(frame, LENGTH_PREFIX_BYTES);
    return frame;
  }
}

/**
 * Decodes frame bodies of ONE connection. Each connection has its own Unpackr, so whatever a malformed frame
 * leaves behind in the decoder (msgpackr accepts inline record definitions even with records off) cannot reach
 * another connection. Never throws anything but TransportError.
 */
export class FrameDecoder {
  private readonly unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false });

  decode(body: Buffer): DecodedFrame {
    let value: unknown;
    try {
      value = this.unpackr.unpack(body);
    } catch (error) {
      // Includes RangeError from absurd nesting (stack overflow) and anything an extension throws.
      const reason = error instanceof Error ? error.message : String(error);
      throw new TransportError('FRAME_DECODE_FAILED', `undecodable frame body (${body.length} bytes): ${reason}`);
    }
    if (!Array.isArray(value) || value.length === 0) {
      throw new TransportError('PROTOCOL_VIOLATION', 'frame body is not a non-empty array');
    }
    const type = value[0];
    switch (type) {
      case FrameType.batch:
        return { type: 'batch', body: value };
      case FrameType.hello:
      case FrameType.welcome: {
        const [, version, clusterId, nodeName] = value;
        if (!Number.isInteger(version) || typeof clusterId !== 'string' || typeof nodeName !== 'string') {
          throw new TransportError('PROTOCOL_VIOLATION', 'malformed hello/welcome frame');
        }
        return { type: type === FrameType.hello ? 'hello' : 'welcome', version, clusterId, nodeName };
      }
      case FrameType.reject: {
        const [, code, reason] = value;
        if (typeof code !== 'string' || typeof reason !== 'string') {
          throw new TransportError('PROTOCOL_VIOLATION', 'malformed reject frame');
        }
        return { type: 'reject', code, reason };
      }
      default:
        throw new TransportError('PROTOCOL_VIOLATION', `unknown frame type ${String(type).slice(0, 20)}`);
    }
  }
}
