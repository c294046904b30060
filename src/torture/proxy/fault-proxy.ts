import { createServer, isIP, type Server, type Socket } from 'node:net';
import { FaultProxyError } from './errors.js';
import { type LinkFaultInput, PASS, type ResolvedLinkFault, resolveLinkFault } from './link-fault.js';
import { LinkState, type LinkStats, linkKey } from './link-state.js';
import {
  type FaultProxyComponents,
  type FaultProxyOptions,
  type ResolvedFaultProxyComponents,
  type ResolvedFaultProxyOptions,
  resolveFaultProxyComponents,
  resolveFaultProxyOptions,
} from './options.js';
import { ProxiedConnection } from './proxied-connection.js';
import { resetSocket } from './socket-reset.js';

export interface ProxyNodeConfig {
  /** Host of the node's front door (what the other nodes dial). Default: `targetHost`. Must be an IP address. */
  listenHost?: string;
  /** Port of the front door. Default 0 (any free port: read it with `frontDoor(name)` after listening). */
  listenPort?: number;
  /** Where the real node listens. Required. Must be an IP address. */
  targetHost: string;
  /** Where the real node listens. Required. */
  targetPort: number;
  /**
   * The host the node binds its outgoing sockets to, by which the proxy recognizes its connections.
   * Default: `targetHost` (a Cairn node binds outgoing sockets to the host of `--peer-listen`).
   */
  nodeHost?: string;
}

export interface FaultProxyStats {
  /** Every directed link between registered nodes, plus any other link that carried a connection. */
  readonly links: Readonly<Record<string, LinkStats>>;
  readonly connectionsActive: number;
  /** Connections reset at once because their source host is no registered node's (`unknownSources: 'reject'`). */
  readonly unknownSourceRejected: number;
}

interface ProxyNode {
  readonly name: string;
  readonly listenHost: string;
  listenPort: number;
  readonly targetHost: string;
  readonly targetPort: number;
  readonly nodeHost: string;
  server: Server | undefined;
}

type Lifecycle = 'new' | 'starting' | 'started' | 'closed';

/**
 * A fault-injecting TCP proxy for the torture harness. One listener per node (its "front door"); node X reaches
 * node Y through Y's front door. The proxy knows which node dials from the connection's source host (nodes bind
 * their outgoing sockets to their own loopback address), so every byte belongs to a directed link X→Y (the
 * dialer's bytes) or Y→X (the answers on the same connection), each with its own fault, changeable at runtime.
 * The proxy's dial to the real Y binds to X's host, so Y still sees X. See docs/fault-proxy.md.
 */
export class FaultProxy {
  readonly options: ResolvedFaultProxyOptions;
  readonly components: ResolvedFaultProxyComponents;
  private lifecycle: Lifecycle = 'new';
  private readonly nodes = new Map<string, ProxyNode>();
  private readonly nodeByHost = new Map<string, ProxyNode>();
  private readonly links = new Map<string, LinkState>();
  private readonly connections = new Set<ProxiedConnection>();
  /** Sockets reset on accept that have not closed yet (close() waits for them too). */
  private readonly refusedSockets = new Set<Socket>();
  private nextConnectionId = 1;
  private unknownSourceRejected = 0;
  private closing: Promise<void> | undefined;

  constructor(options?: FaultProxyOptions, components?: FaultProxyComponents) {
    this.options = resolveFaultProxyOptions(options);
    this.components = resolveFaultProxyComponents(components);
  }

  /**
   * Registers node `name`. Before `start()` it only records it; afterwards it also opens the front door and
   * resolves once it listens (rejecting with the listen error, e.g. EADDRINUSE, and registering nothing).
   */
  async addNode(name: string, config: ProxyNodeConfig): Promise<void> {
    this.assertNotClosed();
    if (typeof name !== 'string' || name.length === 0) {
      throw new FaultProxyError('INVALID_OPTION', `a node name must be a non-empty string`);
    }
    if (this.nodes.has(name)) throw new FaultProxyError('DUPLICATE_NODE', `node "${name}" is already registered`);
    const node = validateNodeConfig(name, config);
    const owner = this.nodeByHost.get(node.nodeHost);
    if (owner !== undefined) {
      throw new FaultProxyError(
        'DUPLICATE_HOST',
        `nodes "${owner.name}" and "${name}" both have host ${node.nodeHost}: the proxy could not tell them apart`,
      );
    }
    this.nodes.set(name, node);
    this.nodeByHost.set(node.nodeHost, node);
    if (this.lifecycle === 'started') {
      try {
        await this.listen(node);
      } catch (error) {
        this.nodes.delete(name);
        this.nodeByHost.delete(node.nodeHost);
        throw error;
      }
    }
  }

  /** Opens every front door. Rejects with the first listen error (e.g. EADDRINUSE) and leaves nothing open. */
  async start(): Promise<void> {
    this.assertNotClosed();
    if (this.lifecycle !== 'new') return;
    this.lifecycle = 'starting';
    try {
      await Promise.all([...this.nodes.values()].map((node) => this.listen(node)));
    } catch (error) {
      await Promise.all([...this.nodes.values()].map((node) => closeServer(node)));
      this.lifecycle = 'new';
      throw error;
    }
    this.lifecycle = 'started';
    this.components.logger.info({ nodes: [...this.nodes.keys()] }, 'fault proxy: listening');
  }

  /** `host:port` of node `name`'s front door: give this to the other nodes as `name`'s address. */
  frontDoor(name: string): string {
    const node = this.node(name);
    if (node.listenPort === 0) {
      throw new FaultProxyError('NOT_LISTENING', `the front door of "${name}" has no port yet (call start() first)`);
    }
    return isIP(node.listenHost) === 6
      ? `[${node.listenHost}]:${node.listenPort}`
      : `${node.listenHost}:${node.listenPort}`;
  }

  /** Registered node names, in the order they were added. */
  nodeNames(): string[] {
    return [...this.nodes.keys()];
  }

  /** The fault of the directed link `from` → `to`. */
  fault(from: string, to: string): ResolvedLinkFault {
    this.node(from);
    this.node(to);
    return this.links.get(linkKey(from, to))?.fault ?? PASS;
  }

  /**
   * Sets the fault of the directed link `from` → `to`, effective at once on live connections:
   * - to `reject`: every connection carrying the link is reset (both sides see ECONNRESET);
   * - to `blackhole`: bytes queued on the link are discarded too;
   * - away from `blackhole`: connections that lost bytes on the link are reset, so nodes redial with a clean
   *   stream instead of resuming a corrupted one.
   */
  setFault(from: string, to: string, fault: LinkFaultInput): void {
    this.assertNotClosed();
    this.node(from);
    this.node(to);
    const resolved = resolveLinkFault(fault);
    this.applyFault(this.link(from, to), resolved);
  }

  /** Cuts every link between the two groups, both directions. Default mode: blackhole. */
  partition(groupA: readonly string[], groupB: readonly string[], fault: LinkFaultInput = 'blackhole'): void {
    this.assertNotClosed();
    const resolved = resolveLinkFault(fault);
    for (const name of [...groupA, ...groupB]) this.node(name);
    for (const a of groupA) {
      for (const b of groupB) {
        if (a === b) continue;
        this.applyFault(this.link(a, b), resolved);
        this.applyFault(this.link(b, a), resolved);
      }
    }
  }

  /** Cuts `name` off from every other registered node, both directions. Default mode: blackhole. */
  isolate(name: string, fault: LinkFaultInput = 'blackhole'): void {
    this.node(name);
    this.partition(
      [name],
      this.nodeNames().filter((other) => other !== name),
      fault,
    );
  }

  /** Faults only the direction `from` → `to`; `to` → `from` is untouched. Default mode: blackhole. */
  oneWay(from: string, to: string, fault: LinkFaultInput = 'blackhole'): void {
    this.setFault(from, to, fault);
  }

  /**
   * Jepsen's "bridge": `left` and `right` cannot talk to each other, but `bridgeNode` talks to both (a
   * non-transitive network, where each side can see a majority through the bridge). Default mode: blackhole.
   */
  bridge(
    left: readonly string[],
    bridgeNode: string,
    right: readonly string[],
    fault: LinkFaultInput = 'blackhole',
  ): void {
    this.node(bridgeNode);
    const without = (group: readonly string[]) => group.filter((name) => name !== bridgeNode);
    this.partition(without(left), without(right), fault);
  }

  /** Every link back to `pass`, resetting connections that lost bytes to a blackhole. */
  heal(): void {
    this.assertNotClosed();
    for (const link of this.links.values()) this.applyFault(link, PASS);
  }

  /** Counters per directed link; see `LinkStats`. */
  stats(): FaultProxyStats {
    const names = this.nodeNames();
    for (const from of names) for (const to of names) if (from !== to) this.link(from, to);
    const buffered = new Map<LinkState, number>();
    const active = new Map<LinkState, number>();
    for (const connection of this.connections) {
      active.set(connection.forwardLink, (active.get(connection.forwardLink) ?? 0) + 1);
      for (const link of new Set([connection.forwardLink, connection.backwardLink])) {
        buffered.set(link, (buffered.get(link) ?? 0) + connection.bufferedBytesOn(link));
      }
    }
    const links: Record<string, LinkStats> = {};
    for (const link of this.links.values()) {
      links[link.key] = {
        from: link.from,
        to: link.to,
        fault: link.fault,
        ...link.counters,
        connectionsActive: active.get(link) ?? 0,
        bufferedBytes: buffered.get(link) ?? 0,
      };
    }
    return {
      links,
      connectionsActive: this.connections.size,
      unknownSourceRejected: this.unknownSourceRejected,
    };
  }

  /**
   * Closes every front door and destroys every connection and timer; resolves once all sockets and listeners
   * have closed. Idempotent.
   */
  close(): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.lifecycle = 'closed';
    const servers = [...this.nodes.values()].map((node) => closeServer(node));
    const connections = [...this.connections].map((connection) => connection.destroy());
    const refused = [...this.refusedSockets].map(
      (socket) =>
        new Promise<void>((resolve) =>
          socket.destroyed && socket.closed ? resolve() : socket.once('close', () => resolve()),
        ),
    );
    for (const socket of this.refusedSockets) socket.destroy();
    this.closing = Promise.all([...servers, ...connections, ...refused]).then(() => {
      this.components.logger.info({}, 'fault proxy: closed');
    });
    return this.closing;
  }

  private applyFault(link: LinkState, fault: ResolvedLinkFault): void {
    const previous = link.fault;
    if (sameFault(previous, fault)) return;
    link.fault = fault;
    this.components.logger.info({ from: link.from, to: link.to, fault, previous }, 'fault proxy: link fault changed');
    for (const connection of [...this.connections]) {
      const pipes = connection.pipesOn(link);
      const carriesLink = connection.forwardLink === link || connection.backwardLink === link;
      if (!carriesLink) continue;
      if (fault.mode === 'reject') {
        connection.reset(`link ${link.key} rejects`);
        continue;
      }
      for (const pipe of pipes) pipe.onFaultChanged();
      if (previous.mode === 'blackhole' && fault.mode !== 'blackhole' && pipes.some((pipe) => pipe.isCorrupted)) {
        connection.reset(`link ${link.key} left blackhole after losing bytes`);
      }
    }
  }

  private listen(node: ProxyNode): Promise<void> {
    const server = createServer({ allowHalfOpen: true, pauseOnConnect: true });
    node.server = server;
    server.on('connection', (socket) => this.onConnection(node, socket));
    return new Promise<void>((resolve, reject) => {
      const onError = (error: Error) => {
        node.server = undefined;
        reject(error);
      };
      server.once('error', onError);
      server.listen({ host: node.listenHost, port: node.listenPort }, () => {
        server.off('error', onError);
        server.on('error', (error) =>
          this.components.logger.error({ node: node.name, error: error.message }, 'fault proxy: listener error'),
        );
        const address = server.address();
        if (address !== null && typeof address === 'object') node.listenPort = address.port;
        resolve();
      });
    });
  }

  private onConnection(target: ProxyNode, socket: Socket): void {
    socket.on('error', () => {}); // Until a connection owns it; a reset socket may still report ECONNRESET.
    if (this.lifecycle === 'closed') {
      socket.destroy();
      return;
    }
    const remoteHost = normalizeHost(socket.remoteAddress);
    if (remoteHost === undefined) {
      socket.destroy(); // Already gone.
      return;
    }
    const source = this.nodeByHost.get(remoteHost);
    if (source === undefined && this.options.unknownSources === 'reject') {
      this.unknownSourceRejected++;
      this.components.logger.warn(
        { remoteHost, to: target.name },
        'fault proxy: connection from a host that is no node, reset (see unknownSources)',
      );
      this.refuse(socket);
      return;
    }
    const fromName = source?.name ?? remoteHost;
    const forwardLink = this.link(fromName, target.name);
    const backwardLink = this.link(target.name, fromName);
    if (forwardLink.fault.mode === 'reject' || backwardLink.fault.mode === 'reject') {
      forwardLink.counters.connectionsRejected++;
      this.components.logger.debug({ from: fromName, to: target.name }, 'fault proxy: connection rejected');
      this.refuse(socket);
      return;
    }
    if (this.connections.size >= this.options.maxConnections) {
      forwardLink.counters.connectionsRejected++;
      this.components.logger.warn(
        { from: fromName, to: target.name, maxConnections: this.options.maxConnections },
        'fault proxy: too many connections, reset',
      );
      this.refuse(socket);
      return;
    }
    forwardLink.counters.connectionsOpened++;
    const connection = new ProxiedConnection(
      this.nextConnectionId++,
      forwardLink,
      backwardLink,
      socket,
      {
        host: target.targetHost,
        port: target.targetPort,
        localAddress: source !== undefined && this.options.bindSourceHost ? source.nodeHost : undefined,
        connectTimeoutMs: this.options.connectTimeoutMs,
      },
      this.options,
      this.components,
      (finished) => this.connections.delete(finished),
    );
    this.connections.add(connection);
    connection.open();
  }

  /** Resets an accepted socket at once (the dialer sees ECONNRESET): the closest a proxy gets to a refusal. */
  private refuse(socket: Socket): void {
    this.refusedSockets.add(socket);
    socket.once('close', () => this.refusedSockets.delete(socket));
    resetSocket(socket);
  }

  private link(from: string, to: string): LinkState {
    const key = linkKey(from, to);
    let link = this.links.get(key);
    if (link === undefined) {
      link = new LinkState(from, to);
      this.links.set(key, link);
    }
    return link;
  }

  private node(name: string): ProxyNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new FaultProxyError('UNKNOWN_NODE', `no node "${name}" in the proxy`);
    return node;
  }

  private assertNotClosed(): void {
    if (this.lifecycle === 'closed') throw new FaultProxyError('PROXY_CLOSED', 'the fault proxy is closed');
  }
}

function validateNodeConfig(name: string, config: ProxyNodeConfig): ProxyNode {
  if (typeof config !== 'object' || config === null) {
    throw new FaultProxyError('INVALID_OPTION', `node "${name}": config must be an object`);
  }
  const targetHost = checkIp(name, 'targetHost', config.targetHost);
  const listenHost = config.listenHost === undefined ? targetHost : checkIp(name, 'listenHost', config.listenHost);
  const nodeHost = config.nodeHost === undefined ? targetHost : checkIp(name, 'nodeHost', config.nodeHost);
  const targetPort = checkPort(name, 'targetPort', config.targetPort, 1);
  const listenPort = config.listenPort === undefined ? 0 : checkPort(name, 'listenPort', config.listenPort, 0);
  if (listenHost === targetHost && listenPort === targetPort) {
    throw new FaultProxyError('INVALID_OPTION', `node "${name}": the front door cannot be the node's own address`);
  }
  return { name, listenHost, listenPort, targetHost, targetPort, nodeHost, server: undefined };
}

function checkIp(name: string, field: string, value: unknown): string {
  if (typeof value !== 'string' || isIP(value) === 0) {
    throw new FaultProxyError('INVALID_OPTION', `node "${name}": ${field} must be an IP address, got ${String(value)}`);
  }
  return value;
}

function checkPort(name: string, field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > 65535) {
    throw new FaultProxyError('INVALID_OPTION', `node "${name}": ${field} must be a port in [${min}, 65535]`);
  }
  return value;
}

/** `::ffff:127.0.0.2` (an IPv4 peer on a dual-stack socket) is 127.0.0.2. */
function normalizeHost(address: string | undefined): string | undefined {
  if (address === undefined) return undefined;
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

function sameFault(a: ResolvedLinkFault, b: ResolvedLinkFault): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function closeServer(node: ProxyNode): Promise<void> {
  const server = node.server;
  node.server = undefined;
  if (server === undefined || !server.listening) return Promise.resolve();
  return new Promise((resolve) => server.close(() => resolve()));
}
