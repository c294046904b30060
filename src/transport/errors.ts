/**
 * Errors of the peer transport. Each has a stable `code`. `send()` never throws (it returns false and counts the
 * drop); `sendAsync()` rejects with these; configuration mistakes (bad addresses, bad options) throw at once.
 */
export type TransportErrorCode =
  /** An option is out of range or of the wrong type. */
  | 'INVALID_OPTION'
  /** An address is not `host:port` (IPv6 hosts in brackets: `[::1]:7101`). */
  | 'INVALID_ADDRESS'
  /** The peer is not configured (see `setPeers`). */
  | 'PEER_UNKNOWN'
  /** The peer was removed by `setPeers` while the message waited. */
  | 'PEER_REMOVED'
  /** The per-peer send queue is at its message or byte limit; nothing was queued. */
  | 'QUEUE_FULL'
  /** One message encodes to more than fits in a frame (`maxFrameBytes`). */
  | 'MESSAGE_TOO_LARGE'
  /** The message cannot be encoded with msgpack (a symbol, a too-large bigint...). */
  | 'ENCODE_FAILED'
  /** The message waited longer than `maxQueueAgeMs` (the peer was unreachable). It was not sent. */
  | 'MESSAGE_EXPIRED'
  /** The connection broke after the message was handed to it: it may or may not have been delivered. */
  | 'CONNECTION_LOST'
  /** The transport is closed. */
  | 'TRANSPORT_CLOSED'
  /** A frame's length prefix is over the limit (or the frame is empty). The connection is closed. */
  | 'FRAME_TOO_LARGE'
  /** A frame's body is not valid msgpack. The connection is closed. */
  | 'FRAME_DECODE_FAILED'
  /** A frame decoded but breaks the protocol (wrong frame type, bad hello...). The connection is closed. */
  | 'PROTOCOL_VIOLATION';

export class TransportError extends Error {
  readonly code: TransportErrorCode;

  constructor(code: TransportErrorCode, message: string) {
    super(message);
    this.name = 'TransportError';
    this.code = code;
  }
}

/** Why a receiver refused a hello; sent back to the dialer in the reject frame. */
export type HandshakeRejectCode =
  /** The hello names another cluster id. */
  | 'CLUSTER_MISMATCH'
  /** The receiver does not know a peer of that name. */
  | 'UNKNOWN_PEER'
  /** The receiver does not speak that protocol version. */
  | 'UNSUPPORTED_VERSION';
