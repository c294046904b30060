import type { PeerConnectionState } from './options.js';
import type { TransportStats } from './stats.js';

/**
 * What the node layer needs from a peer transport. `TcpTransport` implements it over TCP; a simulator can
 * implement it in memory. Messages are any msgpack-encodable values; the transport does not look inside them.
 */
export interface Transport {
  /**
   * Queues a message to `peer`. Never blocks, never throws. Returns false when the message was dropped (unknown
   * peer, queue full, too large, not encodable, transport closed); every drop is counted in `stats()`.
   */
  send(peer: string, message: unknown): boolean;
  /**
   * Like `send`, for bulk streams that must be paced rather than dropped (snapshot chunks): resolves once the
   * frame carrying the message has been written to the socket; rejects with a TransportError (QUEUE_FULL,
   * MESSAGE_TOO_LARGE, MESSAGE_EXPIRED, CONNECTION_LOST, PEER_UNKNOWN, PEER_REMOVED, ENCODE_FAILED,
   * TRANSPORT_CLOSED). Await each (or keep a small window) before sending the next.
   */
  sendAsync(peer: string, message: unknown): Promise<void>;
  /** Replaces the peer list (name → host:port). */
  setPeers(peers: Readonly<Record<string, string>>): void;
  /** The outbound connection state, or undefined for a peer that is not configured. */
  peerState(peer: string): PeerConnectionState | undefined;
  /** Clock time of the last frame received from `peer`, or undefined if none yet. */
  lastReceivedAt(peer: string): number | undefined;
  stats(): TransportStats;
  close(): Promise<void>;
}
