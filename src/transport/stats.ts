import type { PeerConnectionState } from './options.js';

/** Monotonic counters kept per peer name (for both directions). */
export interface PeerCounters {
  framesSent: number;
  messagesSent: number;
  /** Frame bytes written, length prefixes included. */
  bytesSent: number;
  framesReceived: number;
  messagesReceived: number;
  /** Frame bytes read on accepted connections, length prefixes included. */
  bytesReceived: number;
  /** `send` found the queue at its message or byte limit. */
  droppedQueueFull: number;
  /** Waited longer than `maxQueueAgeMs` (usually: the peer was unreachable). */
  droppedExpired: number;
  /** Encoded to more than fits in a frame. */
  droppedTooLarge: number;
  /** Could not be msgpack-encoded. */
  droppedEncodeFailed: number;
  /** Dial attempts (first connection included). */
  connectAttempts: number;
  /** Dial attempts that did not reach `connected`, and connections lost afterwards. */
  connectFailures: number;
  /** Connections established after the first one (a reconnect that completed its handshake). */
  reconnects: number;
  /** The peer refused our hello. */
  handshakeRejections: number;
  /** Frames from this peer that were over the limit, undecodable or broke the protocol (each closed a connection). */
  decodeErrors: number;
  /** Inbound connections from this peer that closed in the middle of a frame. */
  truncatedFrames: number;
  /** `onMessage` threw for a message from this peer. */
  handlerErrors: number;
  /** Clock time of the last frame received from this peer (hello included), or null if none yet. */
  lastReceivedAt: number | null;
}

export function newPeerCounters(): PeerCounters {
  return {
    framesSent: 0,
    messagesSent: 0,
    bytesSent: 0,
    framesReceived: 0,
    messagesReceived: 0,
    bytesReceived: 0,
    droppedQueueFull: 0,
    droppedExpired: 0,
    droppedTooLarge: 0,
    droppedEncodeFailed: 0,
    connectAttempts: 0,
    connectFailures: 0,
    reconnects: 0,
    handshakeRejections: 0,
    decodeErrors: 0,
    truncatedFrames: 0,
    handlerErrors: 0,
    lastReceivedAt: null,
  };
}

export interface PeerStats extends PeerCounters {
  /** Outbound connection state, or null when the peer only dials us (it is not in `setPeers`). */
  state: PeerConnectionState | null;
  /** The address dialed, or null as above. */
  address: string | null;
  /** Sum of the dropped* counters. */
  dropped: number;
  queuedMessages: number;
  queuedBytes: number;
  /** `host:port` of the peer's live inbound connection as we see it (its localAddress), or null. */
  inboundRemoteAddress: string | null;
}

/** Connections that were refused or broke before they said who they are. */
export interface UnidentifiedInboundCounters {
  accepted: number;
  /** Closed at once because `maxInboundConnections` were open. */
  refusedOverLimit: number;
  /** Hellos we refused (cluster, name, version). */
  handshakeRejections: number;
  /** No hello within `handshakeTimeoutMs`. */
  handshakeTimeouts: number;
  /** Malformed frames before the hello was accepted. */
  decodeErrors: number;
  /** Closed in the middle of a frame before the hello was accepted. */
  truncatedFrames: number;
}

export interface TransportStats {
  nodeName: string;
  /** Actual listen address (the port is known after `start`). */
  listen: string;
  peers: Record<string, PeerStats>;
  inbound: UnidentifiedInboundCounters & { open: number };
  /** `send`/`sendAsync` to a name that is not configured. */
  droppedUnknownPeer: number;
}

export function totalDropped(counters: PeerCounters): number {
  return counters.droppedQueueFull + counters.droppedExpired + counters.droppedTooLarge + counters.droppedEncodeFailed;
}
