/**
 * Core throughput: entries committed per second by a 3-node group of pure Raft engines exchanging messages in
 * memory, with no network delay and no disk. It shows what the consensus core costs, apart from I/O.
 *
 *   npm run bench:raft [-- --seconds 3 --payload 256 --json]
 *
 * "batched": 256 proposals per event-loop turn share one Ready per node (how the node drives the engine).
 * "unbatched": every proposal gets its own Ready cycle on every node (the worst case).
 */
import { MemoryLogStorage } from '../src/consensus/memory-log-storage.js';
import type { NodeId } from '../src/consensus/types.js';
import { bootstrapLog } from '../src/raft/bootstrap.js';
import type { RaftMessage } from '../src/raft/messages.js';
import { RaftEngine } from '../src/raft/raft-engine.js';
import { SeededRandom } from '../src/util/random.js';

interface Args {
  seconds: number;
  payload: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { seconds: 3, payload: 256, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--seconds') args.seconds = Number(argv[++i]);
    else if (a === '--payload') args.payload = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(args.seconds > 0) || !(args.payload >= 0)) throw new Error('--seconds must be > 0 and --payload >= 0');
  return args;
}

class Group {
  readonly engines = new Map<NodeId, RaftEngine>();
  readonly storages = new Map<NodeId, MemoryLogStorage>();
  applied = 0;
  messages = 0;

  constructor(ids: NodeId[]) {
    const { entries, hardState } = bootstrapLog(ids);
    const random = new SeededRandom(1);
    for (const id of ids) {
      const storage = new MemoryLogStorage();
      storage.append(entries);
      storage.setHardState(hardState);
      const engine = new RaftEngine({ id, storage, random: random.fork(), maxInflightMessages: 1024 });
      engine.raft.ticks = 100;
      this.engines.set(id, engine);
      this.storages.set(id, storage);
    }
  }

  /** Runs Ready cycles and deliveries until nothing moves. */
  settle(): void {
    for (;;) {
      const outbox: RaftMessage[] = [];
      let busy = false;
      for (const [id, e] of this.engines) {
        if (!e.hasReady()) continue;
        busy = true;
        const rd = e.ready();
        outbox.push(...rd.sendNow);
        this.storages.get(id)!.persistReady(rd);
        outbox.push(...rd.sendAfterPersist);
        if (id === 'n1') this.applied += rd.committedEntries.length;
        e.advance(rd);
      }
      for (const m of outbox) {
        this.messages++;
        this.engines.get(m.to)!.step(m);
      }
      if (!busy && outbox.length === 0) return;
    }
  }

  compact(): void {
    // Keep memory flat over a long run: snapshot and drop the applied log on every node.
    for (const [id, e] of this.engines) {
      const s = this.storages.get(id)!;
      const applied = e.raft.log.applied;
      if (applied - s.firstIndex() < 50_000) continue;
      s.createSnapshot(applied, e.raft.tracker.confState(), new Uint8Array(0));
      s.compact(applied - 1000);
    }
  }
}

function run(batch: number, args: Args) {
  const g = new Group(['n1', 'n2', 'n3']);
  g.settle();
  const leader = g.engines.get('n1')!;
  leader.raft.becomeFollower(leader.raft.term, null);
  leader.raft.electionElapsed = leader.raft.randomizedElectionTimeout;
  leader.tick();
  g.settle();
  if (leader.raft.role !== 'leader') throw new Error('n1 did not become leader');
  const payload = new Uint8Array(args.payload);
  const startApplied = g.applied;
  const startMessages = g.messages;
  const start = performance.now();
  const deadline = start + args.seconds * 1000;
  let rounds = 0;
  while (performance.now() < deadline) {
    for (let i = 0; i < batch; i++) leader.propose(payload);
    g.settle();
    if (++rounds % 64 === 0) g.compact();
  }
  const seconds = (performance.now() - start) / 1000;
  const committed = g.applied - startApplied;
  return {
    mode: batch === 1 ? 'unbatched' : 'batched',
    batch,
    payloadBytes: args.payload,
    seconds: Number(seconds.toFixed(2)),
    entriesPerSec: Math.round(committed / seconds),
    messagesPerEntry: Number(((g.messages - startMessages) / committed).toFixed(2)),
  };
}

const args = parseArgs(process.argv.slice(2));
const results = [run(256, args), run(1, args)];
if (args.json) {
  console.log(JSON.stringify(results));
} else {
  console.log('3-node Raft group, pure engines, in-memory messages, no disk:');
  for (const r of results) {
    console.log(
      `  ${r.mode.padEnd(9)} (batch ${String(r.batch).padStart(3)}, ${r.payloadBytes} B): ${r.entriesPerSec.toLocaleString('en-US')} entries/s committed, ${r.messagesPerEntry} messages per entry`,
    );
  }
}
