import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import pino, { type Logger } from 'pino';
import { ApiServer } from '../api/api-server.js';
import { EMPTY_CONF_STATE } from '../consensus/log-storage.js';
import { KvStore } from '../kv/store.js';
import { malformedReason as paxosMalformed } from '../paxos/messages.js';
import { bootstrapLog } from '../raft/bootstrap.js';
import { malformedReason as raftMalformed } from '../raft/messages.js';
import { LogStore } from '../storage/log-store.js';
import { TcpTransport } from '../transport/tcp-transport.js';
import { systemRandom } from '../util/random.js';
import { Autopilot } from './autopilot.js';
import { healthAwareCampaignPolicy } from './campaign-policy.js';
import { ConfigError, type NodeConfig } from './config.js';
import { EventLog } from './event-log.js';
import { MemberRegistry } from './member-registry.js';
import { NodeMetrics } from './metrics.js';
import { NodeHealth } from './node-health.js';
import { Replica, recoverSnapshotInstall } from './replica.js';
import { decodeWireMessage, encodeWireMessage } from './wire.js';

const packr = new Packr({ useRecords: false });
const NODE_META = 'node';
const MEMBERS_META = 'members';
/** How often a node announces its API address and labels to its peers. */
const HELLO_INTERVAL_MS = 2000;

interface NodeIdentity {
  readonly name: string;
  readonly clusterId: string;
  readonly consensus?: 'raft' | 'paxos';
}

export interface NodeStartOptions {
  readonly logger?: Logger;
  /** Labels announced to peers (zone, region, weight...). */
  readonly labels?: Record<string, string>;
}

/**
 * A Cairn node process: the durable log store, the key-value state machine, the peer transport, the consensus
 * group(s), and the HTTP API. One group (0) today; the log store and transport already carry a group id.
 */
export class CairnNode {
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private transport!: TcpTransport;
  private api!: ApiServer;
  replica!: Replica;
  health!: NodeHealth;
  events!: EventLog;
  private autopilot!: Autopilot;
  kv!: KvStore;
  logStore!: LogStore;
  registry!: MemberRegistry;
  private httpAddress = '';
  /** How far each peer said its log is (from its hello messages), for /v1/cluster/status. */
  readonly progressReports = new Map<string, { commit: number; applied: number }>();
  private persistRegistryRunning: Promise<void> = Promise.resolve();
  /** performance.now() when this node last lost sight of a leader; null while it knows one. */
  private leaderlessSinceMs: number | null = performance.now();

  private constructor(
    readonly config: NodeConfig,
    private readonly options: NodeStartOptions,
  ) {
    this.logger = options.logger ?? pino({ level: config.logLevel, base: { node: config.name } });
    this.metrics = new NodeMetrics({ node: config.name });
  }

  static async start(config: NodeConfig, options: NodeStartOptions = {}): Promise<CairnNode> {
    const node = new CairnNode(config, options);
    try {
      await node.open();
    } catch (error) {
      await node.stop().catch(() => {});
      throw error;
    }
    return node;
  }

  get name(): string {
    return this.config.name;
  }

  /** host:port the HTTP API listens on (the real port when configured with port 0). */
  get apiAddress(): string {
    return this.httpAddress;
  }

  get peerAddress(): string {
    return this.transport.listenAddress();
  }

  private async open(): Promise<void> {
    const c = this.config;
    await mkdir(c.dataDir, { recursive: true });
    this.events = new EventLog(c.name, this.metrics.events, (e) =>
      this.logger.info({ event: e.action, target: e.target, reason: e.reason, outcome: e.outcome }, 'cluster event'),
    );
    this.logStore = await LogStore.open({
      dir: join(c.dataDir, 'raft'),
      testSyncDelayMs: c.testSyncDelayMs,
      syncInlineMaxBytes: c.syncInlineMaxBytes,
      onSync: (ms, _records, _bytes, inline) => {
        this.metrics.fsyncSeconds.observe(ms / 1000);
        if (inline) this.metrics.inlineSyncs.inc();
        this.health?.monitor.recordSync(ms);
      },
    });
    await this.loadIdentityAndRegistry();
    this.kv = await KvStore.open({
      path: join(c.dataDir, 'kv'),
      limits: { maxValueBytes: c.maxValueBytes, historyRetentionRevisions: c.historyRetentionRevisions },
    });
    if (await recoverSnapshotInstall(this.logStore, this.kv, 0))
      this.logger.warn('completed an interrupted snapshot install');

    this.transport = new TcpTransport(
      {
        nodeName: c.name,
        clusterId: c.clusterId,
        listen: c.peerListen,
        peers: this.registry.peersOf(c.name),
        onMessage: (from, message) => this.onPeerMessage(from, message),
        onPeerStateChange: (peer, state) => {
          if (state === 'connected') this.sendHello(peer);
        },
        onConnectFailed: (peer, reason) => {
          // Nothing listens on its port: the process is gone. If it led us, elect a new leader now.
          if (reason.startsWith('ECONNREFUSED')) this.replica?.engine.reportPeerDown(peer);
        },
      },
      { logger: this.logger.child({ component: 'transport' }) },
    );
    this.metrics.attachPeerStats(() => this.transport.stats().peers);
    this.replica = new Replica({
      config: c,
      group: 0,
      logStore: this.logStore,
      kv: this.kv,
      registry: this.registry,
      random: systemRandom(),
      logger: this.logger,
      metrics: this.metrics,
      now: () => performance.now(),
      send: (to, message) => {
        this.transport.send(to, encodeWireMessage(message, c.consensus));
      },
      sendAsync: (to, message) => this.transport.sendAsync(to, encodeWireMessage(message, c.consensus)),
      onMembershipChanged: () => this.onMembershipChanged(),
      onFatal: (error) => this.fatal(error),
      onLeaderChange: (leader, role) => {
        if (role === 'leader')
          this.events.record('became-leader', 'won an election or received leadership', 'observed', this.config.name);
        this.leaderlessSinceMs = leader === null ? (this.leaderlessSinceMs ?? performance.now()) : null;
      },
    });

    this.health = new NodeHealth({
      name: c.name,
      options: {
        heartbeatIntervalMs: c.heartbeatIntervalMs,
        timeUntilDeadMs: c.timeUntilDeadMs,
        phiThreshold: c.phiThreshold,
        dataDir: c.dataDir,
        rules: {
          sustainMs: c.healthSustainMs,
          recoverMs: c.healthSustainMs,
          slowFsyncP99Ms: c.slowFsyncMs,
          cpuSaturatedPercent: c.cpuSaturatedPercent,
        },
      },
      send: (peer, message) => {
        this.transport.send(peer, message);
      },
      peers: () =>
        this.registry
          .list()
          .map((m) => m.name)
          .filter((n) => n !== c.name),
      events: this.events,
      logger: this.logger,
      now: () => performance.now(),
      onChange: () => this.updateCampaignPolicy(),
    });
    this.autopilot = new Autopilot(
      this.replica,
      this.health,
      this.events,
      this.logger,
      () => performance.now(),
      c.name,
    );
    this.updateCampaignPolicy();

    this.api = new ApiServer(this);
    const [host, port] = splitHostPort(c.httpListen);
    const address = await this.api.listen(host, port);
    this.httpAddress = `${host.includes(':') ? `[${host}]` : host}:${address.port}`;
    await this.transport.start();

    this.registry.announce(c.name, this.httpAddress, this.options.labels ?? {});
    let expectedTickAt = performance.now() + c.tickMs;
    this.timers.push(
      setInterval(() => {
        const now = performance.now();
        // How late this tick fired: a stalled event loop must not accuse every peer of being dead.
        const stall = Math.max(0, now - expectedTickAt);
        expectedTickAt = now + c.tickMs;
        this.replica.tick();
        this.health.evaluate(stall);
      }, c.tickMs),
    );
    this.health.start();
    this.timers.push(setInterval(() => this.autopilot.run(), 1000));
    this.timers.push(setInterval(() => this.sayHelloToAll(), HELLO_INTERVAL_MS));
    this.timers.push(setInterval(() => this.updateGauges(), 1000));
    this.replica.schedulePump();
    this.logger.info({ http: this.httpAddress, peer: this.peerAddress, cluster: c.clusterId }, 'node started');
  }

  /** First start: record who we are and bootstrap the log; restart: check we are who we were. */
  private async loadIdentityAndRegistry(): Promise<void> {
    const c = this.config;
    const raw = this.logStore.getMeta(NODE_META);
    if (raw && raw.length > 0) {
      const identity = packr.unpack(raw) as NodeIdentity;
      if (identity.name !== c.name) {
        throw new ConfigError(`the data directory ${c.dataDir} belongs to node "${identity.name}", not "${c.name}"`);
      }
      if ((identity.consensus ?? 'raft') !== c.consensus) {
        throw new ConfigError(
          `the data directory ${c.dataDir} holds a ${identity.consensus ?? 'raft'} cluster; it cannot be started with --consensus ${c.consensus}`,
        );
      }
      if (identity.clusterId !== c.clusterId) {
        throw new ConfigError(
          `the data directory ${c.dataDir} belongs to cluster ${identity.clusterId}, not ${c.clusterId}`,
        );
      }
      const members = this.logStore.getMeta(MEMBERS_META);
      this.registry =
        members && members.length > 0
          ? MemberRegistry.fromJSON(packr.unpack(members))
          : MemberRegistry.fromFounders(c.initialCluster);
      return;
    }
    this.registry = MemberRegistry.fromFounders(c.initialCluster);
    const writes: Promise<void>[] = [];
    // Issued in one turn: the log store commits them together, so a crash leaves all or nothing.
    if (!this.logStore.hasGroup(0)) {
      writes.push(this.logStore.bootstrap(0, EMPTY_CONF_STATE));
      if (c.initialClusterState === 'new') {
        const { entries, hardState } = bootstrapLog(c.initialCluster.map((m) => m.name));
        writes.push(this.logStore.persist([{ group: 0, entries, hardState }]));
      }
    }
    writes.push(this.logStore.setMeta(MEMBERS_META, packr.pack(this.registry.toJSON())));
    writes.push(
      this.logStore.setMeta(
        NODE_META,
        packr.pack({ name: c.name, clusterId: c.clusterId, consensus: c.consensus } satisfies NodeIdentity),
      ),
    );
    await Promise.all(writes);
  }

  private onPeerMessage(from: string, raw: unknown): void {
    const message = decodeWireMessage(raw, this.config.consensus, from, this.config.name);
    if (typeof message === 'string') {
      this.metrics.droppedMessages.inc({ reason: 'malformed' });
      this.logger.debug({ from, problem: message }, 'dropped a malformed peer message');
      return;
    }
    switch (message.t) {
      case 'consensus': {
        // Its sender is the peer the transport authenticated (the array form does not carry `from`).
        const m = message.m;
        const malformed = this.config.consensus === 'paxos' ? paxosMalformed(m) : raftMalformed(m);
        if (malformed !== null || m.group !== 0) {
          this.metrics.droppedMessages.inc({ reason: 'malformed' });
          return;
        }
        this.replica.step(from, m);
        return;
      }
      case 'hello':
        if (message.name !== from) return;
        if (message.consensus !== undefined && message.consensus !== this.config.consensus) {
          this.reportEngineMismatch(from, message.consensus);
          return;
        }
        if (this.registry.announce(from, message.http, message.labels)) this.persistRegistry();
        if (Number.isSafeInteger(message.commit) && Number.isSafeInteger(message.applied)) {
          this.progressReports.set(from, { commit: message.commit!, applied: message.applied! });
        }
        return;
      case 'health':
        if (!this.health.onHeartbeat(from, message.hb)) this.metrics.droppedMessages.inc({ reason: 'bad_heartbeat' });
        return;
      case 'snapBegin':
        if (message.group === 0) this.replica.onSnapshotBegin(from, message.id, message.index);
        return;
      case 'snapChunk':
        if (message.group === 0) this.replica.onSnapshotChunk(from, message.id, message.seq, message.data);
        return;
      case 'snapEnd':
        if (message.group === 0) this.replica.onSnapshotEnd(from, message.id, message.chunks);
        return;
    }
  }

  private sendHello(peer: string): void {
    if (this.stopped || !this.httpAddress) return;
    this.transport.send(peer, {
      t: 'hello',
      name: this.config.name,
      http: this.httpAddress,
      labels: this.options.labels ?? {},
      consensus: this.config.consensus,
      commit: this.replica.engine.status().commit,
      applied: this.kv.appliedIndex,
    });
  }

  private sayHelloToAll(): void {
    for (const m of this.registry.list()) if (m.name !== this.config.name) this.sendHello(m.name);
    this.registry.announce(this.config.name, this.httpAddress, this.options.labels ?? {});
  }

  private readonly mismatchReported = new Set<string>();

  /** A peer runs the other engine: a configuration error, said once per peer, loudly. */
  private reportEngineMismatch(peer: string, theirs: string): void {
    if (this.mismatchReported.has(peer)) return;
    this.mismatchReported.add(peer);
    const reason = `${peer} runs consensus engine "${theirs}", this node runs "${this.config.consensus}": every member of a cluster must use the same --consensus`;
    this.logger.error({ peer }, reason);
    this.events.record('engine-mismatch', reason, 'observed', peer);
  }

  private onMembershipChanged(): void {
    this.transport.setPeers(this.registry.peersOf(this.config.name));
    this.health?.membersChanged();
    this.persistRegistry();
  }

  /**
   * Leadership goes to healthy nodes first: a degraded node campaigns two election timeouts late, and pre-votes
   * are refused to an unhealthy candidate while some healthy voter could lead instead (docs/health.md).
   */
  private updateCampaignPolicy(): void {
    this.replica.engine.setCampaignPolicy(
      healthAwareCampaignPolicy({
        self: this.config.name,
        health: this.health,
        voters: () => this.replica.engine.status().confState.voters,
        electionTicks: this.config.electionTicks,
        tickMs: this.config.tickMs,
        leaderlessForMs: () => (this.leaderlessSinceMs === null ? 0 : performance.now() - this.leaderlessSinceMs),
      }),
    );
  }

  /** Persists the registry; writes are chained so an older list never lands after a newer one. */
  private persistRegistry(): void {
    const data = packr.pack(this.registry.toJSON());
    this.persistRegistryRunning = this.persistRegistryRunning
      .then(() => this.logStore.setMeta(MEMBERS_META, data))
      .catch((error) => this.logger.warn({ err: String(error) }, 'could not persist the member list'));
  }

  private updateGauges(): void {
    const s = this.replica.engine.status();
    this.metrics.term.set(s.term);
    this.metrics.commitIndex.set(s.commit);
    this.metrics.applyLag.set(Math.max(0, s.commit - this.kv.appliedIndex));
  }

  /** Peer connection state as this node sees it (for /v1/cluster/status). */
  peerConnected(name: string): boolean {
    return this.transport.peerState(name) === 'connected';
  }

  private fatal(error: unknown): void {
    this.logger.fatal(
      { err: error instanceof Error ? (error.stack ?? error.message) : String(error) },
      'fatal error: stopping',
    );
    void this.stop().finally(() => {
      process.exitCode = 1;
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.health?.stop();
    this.replica?.close();
    await this.api?.close().catch(() => {});
    await this.transport?.close().catch(() => {});
    await this.persistRegistryRunning;
    await this.kv?.close().catch(() => {});
    await this.logStore?.close().catch(() => {});
    this.logger.info('node stopped');
  }
}

export function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '');
  return [host, Number(address.slice(i + 1))];
}
