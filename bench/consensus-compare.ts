/**
 * Raft and Multi-Paxos side by side in virtual time: the same driver loop as the simulator's nodes (send, persist
 * with a 1 ms fsync, send what depends on it, apply, advance), a network with 0.5-2 ms delays, 100 ms ticks and
 * election timeouts of 10 ticks. It counts what each engine costs per committed entry, and how long a failover takes.
 *
 *   npm run bench:consensus [-- --seeds 20 --nodes 3 --json]
 *
 * - steady: a client proposes at the leader every 2 ms (one proposal per turn, or 16), for 5 s of virtual time;
 *   messages and fsyncs (Readies that must sync, on all nodes) are divided by the entries the leader applied.
 * - failover: the leader crashes; the time (in ticks) until another node leads, and until a new write commits.
 */
import { MemoryLogStorage } from '../src/consensus/memory-log-storage.js';
import type { ConsensusEngine, MessageEnvelope, NodeId } from '../src/consensus/types.js';
import { type EngineFactory, engineFactoryByName } from '../src/sim/engine-factory.js';
import { EventQueue } from '../src/sim/event-queue.js';
import { SeededRandom } from '../src/util/random.js';

interface Args {
  seeds: number;
  nodes: number[];
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seeds: 20, nodes: [3, 5], json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--seeds') args.seeds = Number(argv[++i]);
    else if (a === '--nodes') args.nodes = [Number(argv[++i])];
    else throw new Error(`unknown argument ${a}`);
  }
  if (!Number.isSafeInteger(args.seeds) || args.seeds < 1) throw new Error('--seeds must be a positive integer');
  return args;
}

const TICK_MS = 100;
const FSYNC_MS = 1;

interface Node {
  readonly id: NodeId;
  readonly storage: MemoryLogStorage;
  engine: ConsensusEngine;
  up: boolean;
  busy: boolean;
  applied: number;
  appliedWrites: number;
}

class Cluster {
  readonly queue = new EventQueue();
  readonly nodes = new Map<NodeId, Node>();
  messages = 0;
  fsyncs = 0;
  private readonly random: SeededRandom;

  constructor(factory: EngineFactory, size: number, seed: number) {
    this.random = new SeededRandom(seed);
    const ids = Array.from({ length: size }, (_, i) => `n${i + 1}`);
    const { entries, hardState } = factory.bootstrap(ids);
    const tuning = { maxMessageBytes: 1024 * 1024, maxInflightMessages: 256, electionTicks: 10 };
    for (const id of ids) {
      const storage = new MemoryLogStorage();
      storage.append(entries);
      storage.setHardState(hardState);
      const engine = factory.create(id, storage, this.random.fork(), 0, tuning);
      const node: Node = { id, storage, engine, up: true, busy: false, applied: 0, appliedWrites: 0 };
      this.nodes.set(id, node);
      this.queue.schedule(this.random.next() * TICK_MS, () => this.tickLoop(node));
    }
  }

  private tickLoop(node: Node): void {
    if (!node.up) return;
    node.engine.tick();
    this.pump(node);
    this.queue.schedule(TICK_MS, () => this.tickLoop(node));
  }

  private send(m: MessageEnvelope): void {
    this.messages++;
    const to = this.nodes.get(m.to);
    this.queue.schedule(0.5 + this.random.next() * 1.5, () => {
      if (!to?.up) return;
      to.engine.step(m);
      this.pump(to);
    });
  }

  pump(node: Node): void {
    if (!node.up || node.busy || !node.engine.hasReady()) return;
    const rd = node.engine.ready();
    node.busy = true;
    for (const m of rd.sendNow) this.send(m);
    if (rd.mustSync) this.fsyncs++;
    this.queue.schedule(rd.mustSync ? FSYNC_MS : 0, () => {
      if (!node.up) return;
      node.storage.persistReady(rd);
      for (const m of rd.sendAfterPersist) this.send(m);
      for (const e of rd.committedEntries) {
        node.applied = e.index;
        if (e.type === 'normal' && e.data.length > 0) node.appliedWrites++;
      }
      node.engine.advance(rd);
      node.busy = false;
      this.pump(node);
    });
  }

  leader(): Node | null {
    for (const n of this.nodes.values()) if (n.up && n.engine.status().role === 'leader') return n;
    return null;
  }

  runUntil(ms: number, done?: () => boolean): boolean {
    while (this.queue.runNext(ms)) if (done?.()) return true;
    this.queue.now = Math.max(this.queue.now, ms);
    return done?.() ?? false;
  }

  propose(node: Node, count: number): void {
    for (let i = 0; i < count; i++) {
      try {
        node.engine.propose(new Uint8Array(64).fill(1 + (i % 200)));
      } catch {
        return;
      }
    }
    this.pump(node);
  }
}

interface Steady {
  messagesPerEntry: number;
  fsyncsPerEntry: number;
  entries: number;
}

function steady(factory: EngineFactory, size: number, seed: number, perTurn: number): Steady {
  const c = new Cluster(factory, size, seed);
  c.runUntil(10_000, () => c.leader() !== null);
  c.runUntil(c.queue.now + 1_000);
  const leader = c.leader()!;
  const start = { messages: c.messages, fsyncs: c.fsyncs, writes: leader.appliedWrites };
  const end = c.queue.now + 5_000;
  const client = () => {
    if (c.queue.now >= end) return;
    c.propose(leader, perTurn);
    c.queue.schedule(2, client);
  };
  client();
  c.runUntil(end);
  c.runUntil(end + 200);
  const entries = leader.appliedWrites - start.writes;
  return {
    entries,
    messagesPerEntry: (c.messages - start.messages) / entries,
    fsyncsPerEntry: (c.fsyncs - start.fsyncs) / entries,
  };
}

interface Failover {
  leaderTicks: number;
  commitTicks: number;
}

function failover(factory: EngineFactory, size: number, seed: number): Failover | null {
  const c = new Cluster(factory, size, seed);
  c.runUntil(10_000, () => c.leader() !== null);
  c.runUntil(c.queue.now + 1_000 + new SeededRandom(seed).next() * TICK_MS);
  const old = c.leader();
  if (!old) return null;
  old.up = false;
  const crashedAt = c.queue.now;
  if (!c.runUntil(crashedAt + 60_000, () => c.leader() !== null)) return null;
  const leaderTicks = (c.queue.now - crashedAt) / TICK_MS;
  const leader = c.leader()!;
  const before = leader.appliedWrites;
  c.propose(leader, 1);
  if (!c.runUntil(c.queue.now + 60_000, () => leader.appliedWrites > before)) return null;
  return { leaderTicks, commitTicks: (c.queue.now - crashedAt) / TICK_MS };
}

function quantile(values: number[], q: number): number {
  const sorted = values.slice().sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

const args = parseArgs(process.argv.slice(2));
const rows: Record<string, unknown>[] = [];
for (const engine of ['raft', 'paxos']) {
  const factory = engineFactoryByName(engine);
  for (const nodes of args.nodes) {
    for (const perTurn of [1, 16]) {
      const s = steady(factory, nodes, 1, perTurn);
      rows.push({
        engine,
        nodes,
        mode: `steady, ${perTurn} per turn`,
        entries: s.entries,
        messagesPerEntry: Number(s.messagesPerEntry.toFixed(2)),
        fsyncsPerEntry: Number(s.fsyncsPerEntry.toFixed(2)),
      });
    }
    const leader: number[] = [];
    const commit: number[] = [];
    for (let seed = 1; seed <= args.seeds; seed++) {
      const f = failover(factory, nodes, seed);
      if (!f) continue;
      leader.push(f.leaderTicks);
      commit.push(f.commitTicks);
    }
    rows.push({
      engine,
      nodes,
      mode: `failover (${leader.length} runs)`,
      newLeaderTicksMedian: Number(quantile(leader, 0.5).toFixed(1)),
      newLeaderTicksP90: Number(quantile(leader, 0.9).toFixed(1)),
      firstCommitTicksMedian: Number(quantile(commit, 0.5).toFixed(1)),
      firstCommitTicksP90: Number(quantile(commit, 0.9).toFixed(1)),
    });
  }
}
if (args.json) for (const r of rows) console.log(JSON.stringify(r));
else console.table(rows);
