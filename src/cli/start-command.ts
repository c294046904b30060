import type { Command } from 'commander';
import { ConfigError, type NodeConfigInput, parseInitialCluster, resolveNodeConfig } from '../node/config.js';
import { CairnNode } from '../node/node.js';

interface StartOptions {
  name: string;
  dataDir?: string;
  peerListen: string;
  httpListen: string;
  initialCluster: string;
  initialClusterState: string;
  clusterId?: string;
  consensus?: string;
  tickMs?: string;
  electionTicks?: string;
  commitAnnounceDelayMs?: string;
  proposalBatchMaxBytes?: string;
  followerApplyBatchEntries?: string;
  syncInlineMaxBytes?: string;
  snapshotEntries?: string;
  snapshotKeepEntries?: string;
  requestTimeoutMs?: string;
  maxValueBytes?: string;
  historyRetentionRevisions?: string;
  logLevel?: string;
  zone?: string;
  region?: string;
  weight?: string;
  testSyncDelayMs?: string;
  heartbeatIntervalMs?: string;
  timeUntilDeadMs?: string;
  phiThreshold?: string;
  healthSustainMs?: string;
  slowFsyncMs?: string;
  cpuSaturatedPercent?: string;
  http2Implementation?: string;
  standby?: boolean;
  enableTestHooks?: boolean;
  testUnsafeLocalReads?: boolean;
}

function int(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new ConfigError(`${name} must be an integer (got "${value}")`);
  return n;
}

function consensusKind(value: string): 'raft' | 'paxos' {
  if (value !== 'raft' && value !== 'paxos')
    throw new ConfigError(`--consensus must be raft or paxos (got "${value}")`);
  return value;
}

function http2Kind(value: string): 'cairn' | 'node' {
  if (value !== 'cairn' && value !== 'node') {
    throw new ConfigError(`--http2-implementation must be cairn or node (got "${value}")`);
  }
  return value;
}

export function startConfigFromOptions(o: StartOptions): NodeConfigInput {
  const state = o.initialClusterState;
  if (state !== 'new' && state !== 'existing') {
    throw new ConfigError(`--initial-cluster-state must be new or existing (got "${state}")`);
  }
  return {
    name: o.name,
    dataDir: o.dataDir ?? `data/${o.name}`,
    peerListen: o.peerListen,
    httpListen: o.httpListen,
    initialCluster: parseInitialCluster(o.initialCluster),
    initialClusterState: state,
    ...(o.clusterId !== undefined ? { clusterId: o.clusterId } : {}),
    ...(o.consensus !== undefined ? { consensus: consensusKind(o.consensus) } : {}),
    tickMs: int('--tick-ms', o.tickMs),
    electionTicks: int('--election-ticks', o.electionTicks),
    commitAnnounceDelayMs: int('--commit-announce-delay-ms', o.commitAnnounceDelayMs),
    proposalBatchMaxBytes: int('--proposal-batch-max-bytes', o.proposalBatchMaxBytes),
    followerApplyBatchEntries: int('--follower-apply-batch-entries', o.followerApplyBatchEntries),
    syncInlineMaxBytes: int('--sync-inline-max-bytes', o.syncInlineMaxBytes),
    snapshotEntries: int('--snapshot-entries', o.snapshotEntries),
    snapshotKeepEntries: int('--snapshot-keep-entries', o.snapshotKeepEntries),
    requestTimeoutMs: int('--request-timeout-ms', o.requestTimeoutMs),
    maxValueBytes: int('--max-value-bytes', o.maxValueBytes),
    historyRetentionRevisions: int('--history-retention-revisions', o.historyRetentionRevisions),
    testSyncDelayMs: int('--test-sync-delay-ms', o.testSyncDelayMs),
    heartbeatIntervalMs: int('--heartbeat-interval-ms', o.heartbeatIntervalMs),
    timeUntilDeadMs: int('--time-until-dead-ms', o.timeUntilDeadMs),
    ...(o.phiThreshold !== undefined ? { phiThreshold: Number(o.phiThreshold) } : {}),
    healthSustainMs: int('--health-sustain-ms', o.healthSustainMs),
    ...(o.slowFsyncMs !== undefined ? { slowFsyncMs: Number(o.slowFsyncMs) } : {}),
    ...(o.cpuSaturatedPercent !== undefined ? { cpuSaturatedPercent: Number(o.cpuSaturatedPercent) } : {}),
    ...(o.http2Implementation !== undefined ? { http2Implementation: http2Kind(o.http2Implementation) } : {}),
    enableTestHooks: o.enableTestHooks === true,
    testUnsafeLocalReads: o.testUnsafeLocalReads === true,
    ...(o.logLevel !== undefined ? { logLevel: o.logLevel as 'info' } : {}),
  };
}

export function registerStartCommand(program: Command): void {
  program
    .command('start')
    .description('run a Cairn node in the foreground')
    .requiredOption('--name <name>', "this node's name, unique in the cluster (e.g. n1)")
    .option('--data-dir <dir>', 'where the node keeps its data (default: data/<name>)')
    .requiredOption(
      '--peer-listen <host:port>',
      'address for peer (Raft) traffic; outgoing peer connections bind to its host',
    )
    .requiredOption('--http-listen <host:port>', 'address of the HTTP API')
    .requiredOption('--initial-cluster <list>', 'founding members: n1=host:port,n2=host:port,... (peer addresses)')
    .option(
      '--initial-cluster-state <state>',
      'new: found the cluster; existing: join one (after `cairn member add`)',
      'new',
    )
    .option('--cluster-id <id>', 'cluster id (default: derived from --initial-cluster and --consensus)')
    .option('--consensus <engine>', 'raft (default) or paxos; every member of a cluster must use the same')
    .option('--tick-ms <ms>', 'Raft tick length (default 100)')
    .option('--election-ticks <n>', 'election timeout in ticks (default 10)')
    .option(
      '--commit-announce-delay-ms <ms>',
      'tell followers a new commit index with the next append, or after this long (default 10; 0 = at once)',
    )
    .option(
      '--proposal-batch-max-bytes <bytes>',
      "propose one turn's writes as one log entry of up to this many bytes (default 262144; 0 = one entry each)",
    )
    .option(
      '--follower-apply-batch-entries <n>',
      'a follower applies committed entries in batches of up to this many, at least once per tick (default 16; 1 = at once)',
    )
    .option(
      '--sync-inline-max-bytes <bytes>',
      'fsync log commits up to this size on the event loop while the disk is fast (default 4096; 0 = thread pool)',
    )
    .option('--snapshot-entries <n>', 'snapshot every so many applied entries (default 10000)')
    .option('--snapshot-keep-entries <n>', 'log entries kept behind a snapshot (default 5000)')
    .option('--request-timeout-ms <ms>', 'how long a request may wait (default 5000)')
    .option('--max-value-bytes <n>', 'largest value (default 1048576)')
    .option('--history-retention-revisions <n>', 'watch history kept, in revisions (default 100000)')
    .option('--zone <zone>', 'placement label: zone')
    .option('--region <region>', 'placement label: region')
    .option('--weight <n>', 'placement label: relative capacity for weighted balancing')
    .option('--heartbeat-interval-ms <ms>', 'health heartbeats to every peer (default 1000)')
    .option('--time-until-dead-ms <ms>', 'suspect this long means dead (default 300000)')
    .option('--phi-threshold <phi>', 'failure-detector threshold (default 8)')
    .option('--health-sustain-ms <ms>', 'how long a health rule must hold to change a condition (default 30000)')
    .option('--slow-fsync-ms <ms>', 'fsync p99 above this (sustained) degrades a node (default 50)')
    .option(
      '--cpu-saturated-percent <percent>',
      'CPU use above this percent of the cores (sustained) degrades a node; 100 turns the rule off (default 90)',
    )
    .option(
      '--http2-implementation <impl>',
      "h2c on the API port: cairn (the lean server, default) or node (Node's http2 module)",
    )
    .option('--standby', 'label this node a standby (a spare; add it as a learner)')
    .option('--log-level <level>', 'fatal|error|warn|info|debug|trace|silent (default info)')
    .option('--test-sync-delay-ms <ms>', 'TEST ONLY: slow every log sync by this much')
    .option('--enable-test-hooks', 'TEST ONLY: serve /v1/test/* routes (runtime fault hooks)')
    .option('--test-unsafe-local-reads', 'TEST ONLY, UNSAFE: linearizable reads without ReadIndex (stale reads)')
    .action(async (o: StartOptions) => {
      let node: CairnNode;
      try {
        const config = resolveNodeConfig(startConfigFromOptions(o));
        const labels: Record<string, string> = {};
        if (o.zone) labels.zone = o.zone;
        if (o.region) labels.region = o.region;
        if (o.weight) labels.weight = o.weight;
        if (o.standby) labels.standby = 'true';
        node = await CairnNode.start(config, { labels });
      } catch (error) {
        console.error(`cairn start: ${error instanceof Error ? error.message : String(error)}`);
        process.exit(error instanceof ConfigError ? 64 : 1);
      }
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        node.logger.info({ signal }, 'stopping');
        void node.stop().then(() => process.exit(0));
      };
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGTERM', () => stop('SIGTERM'));
    });
}
