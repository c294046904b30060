import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { EMPTY_CONF_STATE } from '../../src/consensus/log-storage.js';
import { KvStore } from '../../src/kv/store.js';
import { type NodeConfigInput, resolveNodeConfig } from '../../src/node/config.js';
import { MemberRegistry } from '../../src/node/member-registry.js';
import { NodeMetrics } from '../../src/node/metrics.js';
import { Replica } from '../../src/node/replica.js';
import type { ConsensusMessage, WireMessage } from '../../src/node/wire.js';
import { bootstrapLog } from '../../src/raft/bootstrap.js';
import { type RaftMessage, raftMessage } from '../../src/raft/messages.js';
import { LogStore } from '../../src/storage/log-store.js';
import { SeededRandom } from '../../src/util/random.js';
import { turnFlush } from '../../src/util/turn-flush.js';

export const turn = () => new Promise((resolve) => setImmediate(resolve));

/**
 * A Replica of n1 in a 3-voter group over a real log store and key-value store, with its peers played by the test:
 * messages are queued and written at the turn's peer flush, as the transport does, and every write is logged.
 */
export async function replicaHarness(configOverrides: Partial<NodeConfigInput> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-replica-'));
  const initialCluster = ['n1', 'n2', 'n3'].map((name, i) => ({ name, peer: `127.0.0.${i + 1}:7000` }));
  const config = resolveNodeConfig({
    name: 'n1',
    dataDir: dir,
    peerListen: '127.0.0.1:7000',
    httpListen: '127.0.0.1:7001',
    initialCluster,
    ...configOverrides,
  });
  const logStore = await LogStore.open({ dir: join(dir, 'raft') });
  const kv = await KvStore.open({ path: join(dir, 'kv') });
  const { entries, hardState } = bootstrapLog(['n1', 'n2', 'n3']);
  await Promise.all([logStore.bootstrap(0, EMPTY_CONF_STATE), logStore.persist([{ group: 0, entries, hardState }])]);

  const events: string[] = [];
  const wire: RaftMessage[] = [];
  let queued: RaftMessage[] = [];
  const send = (_to: string, message: WireMessage) => {
    if (message.t !== 'consensus') return;
    if (queued.length === 0) {
      turnFlush.schedule('peers', () => {
        for (const m of queued) events.push(`sent ${m.type} to ${m.to}`);
        wire.push(...queued);
        queued = [];
      });
    }
    queued.push(message.m as RaftMessage);
  };
  const logFlush = logStore.flush.bind(logStore);
  logStore.flush = () => {
    events.push('log write');
    logFlush();
  };
  const clock = { nowMs: 0 };
  const registry = MemberRegistry.fromFounders(initialCluster);
  const replica = new Replica({
    config,
    group: 0,
    logStore,
    kv,
    registry,
    random: new SeededRandom(7),
    logger: pino({ level: 'silent' }),
    metrics: new NodeMetrics({}),
    now: () => clock.nowMs,
    send,
    sendAsync: async (to, message) => send(to, message),
    onMembershipChanged: () => {},
    onFatal: (error) => {
      throw error;
    },
  });
  // The founding configuration is applied first, as a node does when it starts.
  replica.schedulePump();
  await turn();
  const close = async () => {
    replica.close();
    await kv.close();
    await logStore.close();
    rmSync(dir, { recursive: true, force: true });
  };
  return { replica, events, wire, config, clock, kv, registry, close };
}

export type ReplicaHarness = Awaited<ReturnType<typeof replicaHarness>>;

/** Makes n1 the leader, its peers granting every (pre-)vote and accepting every append asked of them. */
export async function electLeader({ replica, wire, config, clock }: ReplicaHarness): Promise<void> {
  const answerPeers = () => {
    for (const m of wire.splice(0)) {
      const answer = (
        { preVote: 'preVoteResp', vote: 'voteResp', app: 'appResp', heartbeat: 'heartbeatResp' } as const
      )[m.type as 'preVote' | 'vote' | 'app' | 'heartbeat'];
      if (answer === undefined) continue;
      const index = m.type === 'app' ? m.index + m.entries.length : 0;
      replica.step(m.to, raftMessage(0, m.to, 'n1', answer, { term: m.term, index }) as ConsensusMessage);
    }
  };
  const replicating = () =>
    replica.isLeader && (replica.engine.status().progress ?? []).every((p) => p.state === 'replicate');
  clock.nowMs += config.electionTicks * config.tickMs * 3;
  replica.tick();
  // Votes go out once the candidate's term is synced to disk, so wait in real time (bounded); then until both
  // followers acknowledged the leader's first entry (it replicates to them without probing).
  const deadline = performance.now() + 5000;
  while (!replicating() && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    answerPeers();
  }
  assert.ok(replicating(), `n1 leads and replicates: ${JSON.stringify(replica.engine.status())}`);
}
