import { createServer, type Server, type Socket } from 'node:net';
import { turnFlush } from '../util/turn-flush.js';
import { formatHostPort, type HostPort } from './address.js';
import {
  type ResolvedTransportComponents,
  resolveTransportComponents,
  type TransportComponents,
} from './components.js';
import { TransportError } from './errors.js';
import { FrameEncoder, PROTOCOL_VERSION } from './frame-codec.js';
import { type HelloVerdict, InboundConnection, type InboundHost } from './inbound-connection.js';
import {
  type PeerConnectionState,
  parsePeers,
  type ResolvedTransportOptions,
  resolveTransportOptions,
  type TransportOptions,
} from './options.js';
import { OutboundLink, type OutboundLinkHost } from './outbound-link.js';
import { Waiter } from './send-queue.js';
import {
  newPeerCounters,
  type PeerCounters,
  type PeerStats,
  type TransportStats,
  totalDropped,
  type UnidentifiedInboundCounters,
} from './stats.js';
import type { Transport } from './transport.js';

type Lifecycle = 'new' | 'starting' | 'started' | 'closed';

/**
 * Cairn's peer transport over TCP. One outbound connection per peer carries every message to it (all groups
 * multiplexed); connections peers dial to us only deliver. See docs/transport.md.
 *
 * Batching: `send` only queues. The first send of an event-loop turn schedules one end-of-turn flush (the
 * process's shared `turnFlush`, after the turn's client responses), which writes every peer's queue as one frame
 * (or several, when over `batchMaxBytes`). At the end of the turn, not in a microtask: everything produced while
 * handling a whole burst of socket reads and timers in this turn leaves in the same frame, not only what one
 * callback produced.
 */
export class TcpTransport implements Transport, OutboundLinkHost, InboundHost {
  readonly options: ResolvedTransportOptions;
  readonly components: ResolvedTransportComponents;
  readonly encoder = new FrameEncoder();
  readonly unidentified: UnidentifiedInboundCounters = {
    accepted: 0,
    refusedOverLimit: 0,
    handshakeRejections: 0,
    handshakeTimeouts: 0,
    decodeErrors: 0,
    truncatedFrames: 0,
  };

  private lifecycle: Lifecycle = 'new';
  private readonly server: Server;
  private boundAddress: HostPort | undefined;
  private readonly links = new Map<string, OutboundLink>();
  /** Counters by peer name: configured peers, and peers that dialed us (accepted by `isKnownPeer`). */
  private readonly counters = new Map<string, PeerCounters>();
  /** Every open inbound socket, identified or not. */
  private readonly inbound = new Set<InboundConnection>();
  /** The accepted inbound connection of each peer (a newer one replaces an older one). */
  private readonly inboundByPeer = new Map<string, InboundConnection>();
  private readonly dirty = new Set<OutboundLink>();
  private flushScheduled = false;
  private droppedUnknownPeer = 0;
  private closing: Promise<void> | undefined;
  /** Settles once `server.listen` has succeeded or failed. */
  private listening: Promise<void> | undefined;

  constructor(options: TransportOptions, components?: TransportComponents) {
    this.options = resolveTransportOptions(options);
    this.components = resolveTransportComponents(components);
    for (const [peer, address] of this.options.peers) this.addLink(peer, address);
    this.server = createServer();
    this.server.on('connection', (socket) => this.onConnection(socket));
  }

  /** Listens on `listen` and starts dialing every peer. Rejects (e.g. EADDRINUSE) and leaves nothing open. */
  start(): Promise<void> {
    if (this.lifecycle !== 'new') {
      return Promise.reject(new TransportError('INVALID_OPTION', 'start() called twice or after close()'));
    }
    this.lifecycle = 'starting';
    this.listening = this.listen();
    return this.listening.then(() => {
      if (this.lifecycle !== 'starting') return; // close() was called while we were binding
      this.lifecycle = 'started';
      this.components.logger.info(
        { node: this.options.nodeName, listen: this.listenAddress() },
        'peer transport listening',
      );
      for (const link of this.links.values()) link.start();
    });
  }

  private listen(): Promise<void> {
    const { host, port } = this.options.listen;
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error): void => {
        this.lifecycle = 'closed';
        reject(error);
      };
      this.server.once('error', onError);
      this.server.listen({ host, port }, () => {
        this.server.off('error', onError);
        const bound = this.server.address();
        if (bound !== null && typeof bound === 'object') this.boundAddress = { host: bound.address, port: bound.port };
        this.server.on('error', (error) =>
          this.components.logger.error({ error: error.message }, 'peer listener error'),
        );
        resolve();
      });
    });
  }

  /** `host:port` actually listened on (port 0 resolved), or the configured one before `start`. */
  listenAddress(): string {
    return formatHostPort(this.boundAddress ?? this.options.listen);
  }

  send(peer: string, message: unknown): boolean {
    const link = this.links.get(peer);
    if (link === undefined || this.lifecycle === 'closed') {
      if (link === undefined) this.droppedUnknownPeer++;
      return false;
    }
    let bytes: Buffer;
    try {
      bytes = this.encoder.encodeMessage(message);
    } catch (error) {
      link.counters.droppedEncodeFailed++;
      this.components.logger.debug({ peer, error: (error as Error).message }, 'message dropped: cannot encode');
      return false;
    }
    return link.enqueue(bytes, undefined) === undefined;
  }

  sendAsync(peer: string, message: unknown): Promise<void> {
    if (this.lifecycle === 'closed') {
      return Promise.reject(new TransportError('TRANSPORT_CLOSED', 'the transport is closed'));
    }
    const link = this.links.get(peer);
    if (link === undefined) {
      this.droppedUnknownPeer++;
      return Promise.reject(new TransportError('PEER_UNKNOWN', `no peer named "${peer}"`));
    }
    let bytes: Buffer;
    try {
      bytes = this.encoder.encodeMessage(message);
    } catch (error) {
      link.counters.droppedEncodeFailed++;
      return Promise.reject(error);
    }
    return new Promise<void>((resolve, reject) => {
      const refused = link.enqueue(bytes, new Waiter(resolve, reject));
      if (refused !== undefined) reject(refused);
    });
  }

  /**
   * Replaces the peer list. New peers are dialed, removed ones disconnected (their waiting sendAsync calls reject
   * with PEER_REMOVED, their inbound connections close unless `isKnownPeer` still accepts them), and a changed
   * address reconnects keeping the queue. Throws INVALID_ADDRESS / INVALID_OPTION on bad input, changing nothing.
   */
  setPeers(peers: Readonly<Record<string, string>>): void {
    if (this.lifecycle === 'closed') return;
    const next = parsePeers(peers, this.options.nodeName);
    for (const [peer, link] of this.links) {
      if (next.has(peer)) continue;
      this.links.delete(peer);
      this.dirty.delete(link);
      void link.close(new TransportError('PEER_REMOVED', `peer "${peer}" was removed`));
      this.components.logger.info({ peer }, 'peer removed');
    }
    for (const [peer, address] of next) {
      const link = this.links.get(peer);
      if (link !== undefined) link.setAddress(address);
      else {
        const added = this.addLink(peer, address);
        this.components.logger.info({ peer, address: formatHostPort(address) }, 'peer added');
        if (this.lifecycle === 'started') added.start();
      }
    }
    for (const [peer, connection] of this.inboundByPeer) {
      if (!this.isKnownPeer(peer)) connection.destroy('peer is no longer known');
    }
    for (const peer of this.counters.keys()) {
      if (!this.links.has(peer) && !this.inboundByPeer.has(peer)) this.counters.delete(peer);
    }
  }

  peerState(peer: string): PeerConnectionState | undefined {
    return this.links.get(peer)?.state;
  }

  /** Clock time of the last frame received from `peer`, or undefined if none (or the peer is unknown). */
  lastReceivedAt(peer: string): number | undefined {
    return this.counters.get(peer)?.lastReceivedAt ?? undefined;
  }

  stats(): TransportStats {
    const peers: Record<string, PeerStats> = {};
    for (const [peer, counters] of this.counters) {
      const link = this.links.get(peer);
      peers[peer] = {
        ...counters,
        state: link?.state ?? null,
        address: link ? formatHostPort(link.address) : null,
        dropped: totalDropped(counters),
        queuedMessages: link?.queuedMessages ?? 0,
        queuedBytes: link?.queuedBytes ?? 0,
        inboundRemoteAddress: this.inboundByPeer.get(peer)?.remoteAddress ?? null,
      };
    }
    return {
      nodeName: this.options.nodeName,
      listen: this.listenAddress(),
      peers,
      inbound: { ...this.unidentified, open: this.inbound.size },
      droppedUnknownPeer: this.droppedUnknownPeer,
    };
  }

  /**
   * Stops listening, closes every connection, cancels every timer and pending flush; queued messages are dropped
   * and waiting sendAsync calls reject with TRANSPORT_CLOSED. Resolves once every socket has closed.
   * Idempotent.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.lifecycle = 'closed';
    this.dirty.clear(); // a flush already scheduled finds nothing to write
    const closed: Promise<void>[] = [];
    // A listen still in progress must finish before the server can be closed.
    closed.push(
      (this.listening ?? Promise.resolve())
        .catch(() => {})
        .then(
          () =>
            new Promise<void>((resolve) => {
              if (!this.server.listening) resolve();
              else this.server.close(() => resolve());
            }),
        ),
    );
    const error = new TransportError('TRANSPORT_CLOSED', 'the transport is closed');
    for (const link of this.links.values()) closed.push(link.close(error));
    for (const connection of this.inbound) {
      const { socket } = connection;
      if (!socket.closed) closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      connection.destroy('transport closing');
    }
    this.closing = Promise.all(closed).then(() => {
      this.components.logger.info({ node: this.options.nodeName }, 'peer transport closed');
    });
    return this.closing;
  }

  // --- OutboundLinkHost ---

  requestFlush(link: OutboundLink): void {
    if (this.lifecycle === 'closed') return;
    this.dirty.add(link);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    turnFlush.schedule('peers', this.flushAll);
  }

  private readonly flushAll = (): void => {
    this.flushScheduled = false;
    const links = [...this.dirty];
    this.dirty.clear();
    for (const link of links) link.flush();
  };

  // --- InboundHost ---

  judgeHello(version: number, clusterId: string, nodeName: string): HelloVerdict {
    if (version !== PROTOCOL_VERSION) {
      return {
        accept: false,
        code: 'UNSUPPORTED_VERSION',
        reason: `protocol version ${version} is not supported (this node speaks ${PROTOCOL_VERSION})`,
      };
    }
    if (clusterId !== this.options.clusterId) {
      return {
        accept: false,
        code: 'CLUSTER_MISMATCH',
        reason: `node "${nodeName}" belongs to cluster "${clusterId}", but "${this.options.nodeName}" belongs to "${this.options.clusterId}"`,
      };
    }
    if (nodeName === this.options.nodeName || !this.isKnownPeer(nodeName)) {
      return {
        accept: false,
        code: 'UNKNOWN_PEER',
        reason: `"${this.options.nodeName}" does not know a peer named "${nodeName}"`,
      };
    }
    return { accept: true };
  }

  identified(connection: InboundConnection): PeerCounters {
    const peer = connection.peer!;
    const previous = this.inboundByPeer.get(peer);
    this.inboundByPeer.set(peer, connection);
    // The peer keeps one outbound connection: a new one means the old is dead on its side.
    previous?.destroy('replaced by a newer connection from the same peer');
    return this.countersFor(peer);
  }

  closed(connection: InboundConnection): void {
    this.inbound.delete(connection);
    const peer = connection.peer;
    if (peer !== undefined && this.inboundByPeer.get(peer) === connection) this.inboundByPeer.delete(peer);
  }

  // --- internals ---

  private onConnection(socket: Socket): void {
    if (this.lifecycle === 'closed') {
      socket.destroy();
      return;
    }
    if (this.inbound.size >= this.options.maxInboundConnections) {
      this.unidentified.refusedOverLimit++;
      this.components.logger.warn(
        { remote: `${socket.remoteAddress}:${socket.remotePort}`, limit: this.options.maxInboundConnections },
        'too many inbound connections; closing a new one',
      );
      socket.destroy();
      return;
    }
    this.unidentified.accepted++;
    this.inbound.add(new InboundConnection(this, socket));
  }

  private isKnownPeer(name: string): boolean {
    const custom = this.options.isKnownPeer;
    if (custom === undefined) return this.links.has(name);
    try {
      return custom(name) === true;
    } catch (error) {
      this.components.logger.error({ peer: name, error }, 'isKnownPeer threw; refusing the peer');
      return false;
    }
  }

  private addLink(peer: string, address: HostPort): OutboundLink {
    const link = new OutboundLink(this, peer, address, this.countersFor(peer));
    this.links.set(peer, link);
    return link;
  }

  private countersFor(peer: string): PeerCounters {
    let counters = this.counters.get(peer);
    if (counters === undefined) {
      counters = newPeerCounters();
      this.counters.set(peer, counters);
    }
    return counters;
  }
}
