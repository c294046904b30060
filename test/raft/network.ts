import { MemoryLogStorage } from '../../src/consensus/memory-log-storage.js';
import type { Entry, NodeId, ReadState } from '../../src/consensus/types.js';
import { bootstrapLog } from '../../src/raft/bootstrap.js';
import type { RaftMessage, RaftMessageType } from '../../src/raft/messages.js';
import type { RaftOptions } from '../../src/raft/options.js';
import { Raft } from '../../src/raft/raft.js';
import { RaftEngine } from '../../src/raft/raft-engine.js';
import { SeededRandom } from '../../src/util/random.js';
import { announceCommits } from '../consensus/announce-commits.js';

export type EngineOptions = Partial<Omit<RaftOptions, 'id' | 'storage' | 'random'>>;

/**
 * A synchronous in-memory network of Raft engines for interaction tests (etcd-io/raft's `network` in raft_test.go):
 * `stabilize()` runs every Ready loop and delivers every message until nothing moves. Links can be cut, and
 * message types dropped, to script a scenario step by step.
 */
export class TestNetwork {
  readonly engines = new Map<NodeId, RaftEngine>();
  readonly storages = new Map<NodeId, MemoryLogStorage>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Every message delivered or dropped, for assertions about traffic. */
  readonly sent: RaftMessage[] = [];
  private readonly cut = new Set<string>();
  private readonly droppedTypes = new Set<RaftMessageType>();
  private readonly random = new SeededRandom(1);
  /** Whether a quiet network runs the commit-announcement timer (tests of that timer switch it off). */
  autoAnnounceCommits = true;

  constructor(
    voters: readonly NodeId[],
    private readonly options: EngineOptions = {},
  ) {
    const { entries, hardState } = bootstrapLog(voters);
    for (const id of voters) {
      const storage = new MemoryLogStorage();
      storage.append(entries);
      storage.setHardState(hardState);
      this.addEngine(id, storage);
    }
    this.stabilize();
  }

  /** Starts (or restarts, from its storage) an engine. */
  addEngine(id: NodeId, storage = new MemoryLogStorage(), extra: EngineOptions = {}): RaftEngine {
    const engine = new RaftEngine(new Raft({ id, storage, random: this.random.fork(), ...this.options, ...extra }));
    // Tests start past the boot lease, so that votes are not refused for the first election timeout.
    engine.raft.ticks = engine.raft.opts.electionTicks;
    this.engines.set(id, engine);
    this.storages.set(id, storage);
    if (!this.applied.has(id)) this.applied.set(id, []);
    if (!this.readStates.has(id)) this.readStates.set(id, []);
    return engine;
  }

  engine(id: NodeId): RaftEngine {
    const e = this.engines.get(id);
    if (!e) throw new Error(`no engine ${id}`);
    return e;
  }

  raft(id: NodeId): Raft {
    return this.engine(id).raft;
  }

  /** Stops an engine, keeping its storage (a crash after everything was persisted). */
  crash(id: NodeId): MemoryLogStorage {
    const storage = this.storages.get(id)!;
    this.engines.delete(id);
    return storage;
  }

  isolate(id: NodeId): void {
    for (const other of this.storages.keys()) {
      if (other === id) continue;
      this.cut.add(`${id}->${other}`);
      this.cut.add(`${other}->${id}`);
    }
  }

  cutLink(from: NodeId, to: NodeId): void {
    this.cut.add(`${from}->${to}`);
  }

  dropType(type: RaftMessageType): void {
    this.droppedTypes.add(type);
  }

  heal(): void {
    this.cut.clear();
    this.droppedTypes.clear();
  }

  /** Makes `id` campaign now (as if its election timeout fired), then runs the network until quiet. */
  campaign(id: NodeId): void {
    const r = this.raft(id);
    r.electionElapsed = r.randomizedElectionTimeout - 1;
    r.tick();
    this.stabilize();
  }

  tick(id: NodeId, times = 1): void {
    for (let i = 0; i < times; i++) this.raft(id).tick();
  }

  /** Ticks only `ids` (the others are frozen in time), running the network after each tick. */
  tickNodes(ids: readonly NodeId[], times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) this.raft(id).tick();
      this.stabilize();
    }
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const e of this.engines.values()) e.tick();
      this.stabilize();
    }
  }

  leader(): NodeId | null {
    for (const [id, e] of this.engines) if (e.raft.role === 'leader') return id;
    return null;
  }

  /** Runs every Ready and delivers every message until nothing is left; returns the number of messages moved. */
  stabilize(maxRounds = 10_000): number {
    let moved = 0;
    for (let i = 0; i < maxRounds; i++) {
      const r = this.round();
      if (r === null) return moved;
      moved += r;
    }
    throw new Error('network did not stabilize');
  }

  /** One round: every engine's Ready handled, its messages delivered. Null when nothing happened. */
  round(): number | null {
    let moved = 0;
    {
      const outbox: RaftMessage[] = [];
      let progressed = false;
      for (const [id, engine] of this.engines) {
        if (!engine.hasReady()) continue;
        progressed = true;
        const rd = engine.ready();
        outbox.push(...rd.sendNow);
        this.storages.get(id)!.persistReady(rd);
        outbox.push(...rd.sendAfterPersist);
        this.applied.get(id)!.push(...rd.committedEntries);
        this.readStates.get(id)!.push(...rd.readStates);
        engine.advance(rd);
      }
      for (const m of outbox) {
        this.sent.push(m);
        const target = this.engines.get(m.to);
        const delivered = target !== undefined && !this.cut.has(`${m.from}->${m.to}`) && !this.droppedTypes.has(m.type);
        if (delivered) {
          target.step(m);
          moved++;
        }
        // A transport reports whether a snapshot stream got through.
        if (m.type === 'snap') this.engines.get(m.from)?.reportSnapshot(m.to, delivered);
      }
      if (!progressed && outbox.length === 0) return this.announceCommits() ? 0 : null;
    }
    return moved;
  }

  /** The driver's commit-announcement timer, once the network is quiet (unless a test plays it itself). */
  announceCommits(): boolean {
    return this.autoAnnounceCommits && announceCommits(this.engines.values());
  }

  /** Proposes `text` on `id` and runs the network; returns the entry's index when `id` leads. */
  propose(id: NodeId, text: string): number | undefined {
    const result = this.engine(id).propose(new TextEncoder().encode(text));
    this.stabilize();
    return result.forwarded ? undefined : result.index;
  }

  /** The payloads of normal, non-empty entries `id` applied, as text. */
  appliedTexts(id: NodeId): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => new TextDecoder().decode(e.data));
  }

  clearSent(): void {
    this.sent.length = 0;
  }

  sentOfType(type: RaftMessageType): RaftMessage[] {
    return this.sent.filter((m) => m.type === type);
  }
}
