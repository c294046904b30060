import { createHash } from 'node:crypto';
import { z } from 'zod';

/** A cluster member as addressed on the network. */
export interface MemberAddress {
  readonly name: string;
  /** host:port of the member's peer (Raft) listener. */
  readonly peer: string;
}

/** Everything a node needs to run. Every field's default is documented here and in docs/operations.md. */
export interface NodeConfig {
  /** This node's name, unique in the cluster (e.g. "n1"). */
  readonly name: string;
  /** Where the node keeps its log, snapshots and data. */
  readonly dataDir: string;
  /** host:port for peer (Raft) traffic; outgoing peer connections bind to its host. */
  readonly peerListen: string;
  /** host:port for the HTTP API. */
  readonly httpListen: string;
  /** The founding members (name and peer address), this node included. */
  readonly initialCluster: readonly MemberAddress[];
  /** `new`: found the cluster with `initialCluster`; `existing`: join a running cluster as an added member. */
  readonly initialClusterState: 'new' | 'existing';
  /** Identifies the cluster on the wire; default: derived from the founding members and the engine. */
  readonly clusterId: string;
  /** The consensus engine; every member of a cluster must use the same. Default raft. */
  readonly consensus: 'raft' | 'paxos';
  /** Length of a Raft tick. Default 100 ms. */
  readonly tickMs: number;
  /** Election timeout in ticks (randomized in [1x, 2x)). Default 10. */
  readonly electionTicks: number;
  /** Heartbeat interval in ticks. Default 1. */
  readonly heartbeatTicks: number;
  /**
   * The leader sends no message only to tell followers a new commit index: the next append or heartbeat carries
   * it. If none did within this long, it sends one. 0 = at once (every commit costs a round of messages). Default 10 ms:
   * a timer that must fire costs an idle node a wake-up, and 2 ms cost ~5 % more CPU per put at one write in flight.
   */
  readonly commitAnnounceDelayMs: number;
  /**
   * The writes a leader receives in one event-loop turn are proposed together, as one log entry of up to this many
   * bytes of commands (a larger command still gets an entry of its own); each write is still applied on its own,
   * with its own revision. 0 = every write its own entry. Default 262 144 (256 KiB), at most 1 MiB. See
   * docs/performance.md.
   */
  readonly proposalBatchMaxBytes: number;
  /**
   * A follower applies committed entries in batches of up to this many (one state-machine transaction per batch
   * instead of per entry), and at least once per tick. It applies at once whenever something may read its state:
   * a read on this node (stale ones too), a watcher, a membership change, a snapshot, or a role other than
   * follower. 1 = apply every batch of committed entries as it comes. Default 16, at most 1 024. See
   * docs/performance.md.
   */
  readonly followerApplyBatchEntries: number;
  /**
   * A log commit of at most this many bytes is fsynced on the event loop's thread instead of libuv's thread pool,
   * while the disk's last sync took at most 2 ms: at light load nothing waits for the event loop meanwhile, and the
   * pool's round trip costs two thread wake-ups. 0 = always the pool. Default 4 096. See docs/storage.md.
   */
  readonly syncInlineMaxBytes: number;
  /** Snapshot the state machine after this many applied entries. Default 10 000. */
  readonly snapshotEntries: number;
  /** Entries kept in the log behind a snapshot, for followers a little behind. Default 5 000. */
  readonly snapshotKeepEntries: number;
  /** How long a request may wait for its answer before TIMEOUT. Default 5 000 ms. */
  readonly requestTimeoutMs: number;
  /** Requests served at once; more get TOO_MANY_REQUESTS. Default 10 000. */
  readonly maxConcurrentRequests: number;
  /** Largest value. Default 1 MiB. */
  readonly maxValueBytes: number;
  /** Watch history kept, in revisions. Default 100 000. */
  readonly historyRetentionRevisions: number;
  /** pino log level. Default info. */
  readonly logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** Health heartbeats to every peer, this often. Default 1000 ms. */
  readonly heartbeatIntervalMs: number;
  /** A peer suspect for this long is dead (and may be replaced by a spare). Default 300 000 ms (5 min). */
  readonly timeUntilDeadMs: number;
  /** Phi-accrual threshold: above it a peer is suspect. Default 8. */
  readonly phiThreshold: number;
  /** How long a health rule's condition must hold before a node is degraded (and healthy again). Default 30 000 ms. */
  readonly healthSustainMs: number;
  /** fsync p99 above this (sustained) makes a node degraded. Default 50 ms. */
  readonly slowFsyncMs: number;
  /** CPU use above this percent of the cores (the machine's or this process's, sustained) degrades a node. Default 90. */
  readonly cpuSaturatedPercent: number;
  /**
   * The HTTP/2 (h2c) implementation of the API port: 'cairn', the lean server of src/api/h2 (default), or 'node',
   * Node's http2 module (for comparison). HTTP/1.1 is served by Node's http module either way.
   */
  readonly http2Implementation: 'cairn' | 'node';
  /** TEST ONLY: every log sync is slowed by this much (simulates a slow disk). Default 0. */
  readonly testSyncDelayMs: number;
  /** TEST ONLY: serve test-hook routes (/v1/test/...) such as changing the sync delay at runtime. Default false. */
  readonly enableTestHooks: boolean;
  /**
   * TEST ONLY, UNSAFE: serve "linearizable" reads from local state without ReadIndex. Exists so the torture
   * harness can show it catches stale reads. Default false.
   */
  readonly testUnsafeLocalReads: boolean;
}

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/;

function hostPort(what: string) {
  return z.string().refine((s) => {
    const m = HOST_PORT.exec(s);
    return m !== null && Number(m[2]) <= 65535;
  }, `${what} must be host:port`);
}

/** Parses `n1=127.0.0.1:7101,n2=127.0.0.1:7102`. */
export function parseInitialCluster(text: string): MemberAddress[] {
  const members: MemberAddress[] = [];
  const seen = new Set<string>();
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ConfigError(`--initial-cluster entry "${part}" is not name=host:port`);
    const name = part.slice(0, eq);
    const peer = part.slice(eq + 1);
    if (!HOST_PORT.test(peer)) throw new ConfigError(`--initial-cluster entry "${part}": "${peer}" is not host:port`);
    if (seen.has(name)) throw new ConfigError(`--initial-cluster names ${name} twice`);
    seen.add(name);
    members.push({ name, peer });
  }
  if (members.length === 0) throw new ConfigError('--initial-cluster is empty');
  return members;
}

export class ConfigError extends Error {
  readonly code = 'INVALID_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

const schema = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/, 'name may only use letters, digits, ".", "_" and "-"'),
  dataDir: z.string().min(1),
  peerListen: hostPort('--peer-listen'),
  httpListen: hostPort('--http-listen'),
  initialCluster: z.array(z.object({ name: z.string(), peer: z.string() })).min(1),
  initialClusterState: z.enum(['new', 'existing']),
  clusterId: z.string().min(1).max(128),
  consensus: z.enum(['raft', 'paxos']),
  tickMs: z.number().int().min(1).max(10_000),
  electionTicks: z.number().int().min(2).max(1000),
  heartbeatTicks: z.number().int().min(1).max(1000),
  commitAnnounceDelayMs: z.number().int().min(0).max(10_000),
  proposalBatchMaxBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 * 1024),
  followerApplyBatchEntries: z.number().int().min(1).max(1024),
  syncInlineMaxBytes: z
    .number()
    .int()
    .min(0)
    .max(1024 * 1024),
  snapshotEntries: z.number().int().min(1),
  snapshotKeepEntries: z.number().int().min(0),
  requestTimeoutMs: z.number().int().min(1).max(600_000),
  maxConcurrentRequests: z.number().int().min(1),
  maxValueBytes: z
    .number()
    .int()
    .min(1)
    .max(64 * 1024 * 1024),
  historyRetentionRevisions: z.number().int().min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  heartbeatIntervalMs: z.number().int().min(10).max(60_000),
  timeUntilDeadMs: z.number().int().min(100),
  phiThreshold: z.number().positive().max(100),
  healthSustainMs: z.number().int().min(0),
  slowFsyncMs: z.number().positive(),
  cpuSaturatedPercent: z.number().positive().max(100),
  http2Implementation: z.enum(['cairn', 'node']),
  testSyncDelayMs: z.number().int().min(0).max(60_000),
  enableTestHooks: z.boolean(),
  testUnsafeLocalReads: z.boolean(),
});

export type NodeConfigInput = Partial<NodeConfig> &
  Pick<NodeConfig, 'name' | 'dataDir' | 'peerListen' | 'httpListen' | 'initialCluster'>;

/**
 * A cluster id both sides agree on without coordination: a hash of the sorted founding members, and the engine
 * (so that nodes configured with different engines refuse each other, with both ids in the message).
 */
export function deriveClusterId(members: readonly MemberAddress[], consensus: 'raft' | 'paxos' = 'raft'): string {
  const text = [...members]
    .map((m) => `${m.name}=${m.peer}`)
    .sort()
    .join(',');
  return `${createHash('sha256').update(text).digest('hex').slice(0, 16)}-${consensus}`;
}

/** Fills defaults and validates; throws ConfigError with every problem listed. */
export function resolveNodeConfig(input: NodeConfigInput): NodeConfig {
  if (input.initialClusterState === 'existing' && input.clusterId === undefined) {
    // The id is derived from the founding members, which a joining node does not know.
    throw new ConfigError(
      'joining an existing cluster needs --cluster-id (printed by `cairn member add`, shown by `cairn status`)',
    );
  }
  const config = {
    initialClusterState: 'new' as const,
    clusterId: deriveClusterId(input.initialCluster, input.consensus ?? 'raft'),
    consensus: 'raft' as const,
    tickMs: 100,
    electionTicks: 10,
    heartbeatTicks: 1,
    commitAnnounceDelayMs: 10,
    proposalBatchMaxBytes: 256 * 1024,
    followerApplyBatchEntries: 16,
    syncInlineMaxBytes: 4096,
    snapshotEntries: 10_000,
    snapshotKeepEntries: 5_000,
    requestTimeoutMs: 5_000,
    maxConcurrentRequests: 10_000,
    maxValueBytes: 1024 * 1024,
    historyRetentionRevisions: 100_000,
    logLevel: 'info' as const,
    heartbeatIntervalMs: 1000,
    timeUntilDeadMs: 300_000,
    phiThreshold: 8,
    healthSustainMs: 30_000,
    slowFsyncMs: 50,
    cpuSaturatedPercent: 90,
    http2Implementation: 'cairn' as const,
    testSyncDelayMs: 0,
    enableTestHooks: false,
    testUnsafeLocalReads: false,
    ...stripUndefined(input),
  };
  const parsed = schema.safeParse(config);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => `${i.path.join('.') || 'config'}: ${i.message}`).join('; '));
  }
  const resolved: NodeConfig = parsed.data;
  if (resolved.heartbeatTicks >= resolved.electionTicks) {
    throw new ConfigError('heartbeatTicks must be smaller than electionTicks');
  }
  if (!resolved.initialCluster.some((m) => m.name === resolved.name)) {
    throw new ConfigError(`--initial-cluster must include this node (${resolved.name})`);
  }
  return resolved;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
