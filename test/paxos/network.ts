import { MemoryLogStorage } from '../../src/consensus/memory-log-storage.js';
import type { Entry, NodeId, ReadState } from '../../src/consensus/types.js';
import type { PaxosMessage, PaxosMessageType } from '../../src/paxos/messages.js';
import type { PaxosOptions } from '../../src/paxos/options.js';
import { Paxos } from '../../src/paxos/paxos.js';
import { PaxosEngine } from '../../src/paxos/paxos-engine.js';
import { bootstrapLog } from '../../src/raft/bootstrap.js';
import { SeededRandom } from '../../src/util/random.js';
import { announceCommits } from '../consensus/announce-commits.js';

export type EngineOptions = Partial<Omit<PaxosOptions, 'id' | 'storage' | 'random'>>;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A synchronous in-memory network of Multi-Paxos engines for interaction tests: `stabilize()` runs every Ready loop
 * and delivers every message until nothing moves. Links can be cut and message types dropped or held back, to script
 * a scenario step by step.
 */
export class PaxosNetwork {
  readonly engines = new Map<NodeId, PaxosEngine>();
  readonly storages = new Map<NodeId, MemoryLogStorage>();
  readonly applied = new Map<NodeId, Entry[]>();
  readonly readStates = new Map<NodeId, ReadState[]>();
  /** Every message delivered or dropped, for assertions about traffic. */
  readonly sent: PaxosMessage[] = [];
  /** Messages held back by `hold`, in order; `release` delivers them. */
  held: PaxosMessage[] = [];
  private readonly cut = new Set<string>();
  private readonly droppedTypes = new Set<PaxosMessageType>();
  private readonly heldTypes = new Set<PaxosMessageType>();
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
  addEngine(id: NodeId, storage = new MemoryLogStorage(), extra: EngineOptions = {}): PaxosEngine {
    const applied = storage.snapshot().meta.index;
    const engine = new PaxosEngine(
      new Paxos({ id, storage, random: this.random.fork(), applied, ...this.options, ...extra }),
    );
    // Tests start past the boot lease, so that prepares are not ignored for the first election timeout.
    engine.paxos.ticks = engine.paxos.opts.electionTicks;
    this.engines.set(id, engine);
    this.storages.set(id, storage);
    if (!this.applied.has(id)) this.applied.set(id, []);
    if (!this.readStates.has(id)) this.readStates.set(id, []);
    return engine;
  }

  engine(id: NodeId): PaxosEngine {
    const e = this.engines.get(id);
    if (!e) throw new Error(`no engine ${id}`);
    return e;
  }

  paxos(id: NodeId): Paxos {
    return this.engine(id).paxos;
  }

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

  dropType(type: PaxosMessageType): void {
    this.droppedTypes.add(type);
  }

  /** Holds back messages of `type` (they are not lost): `release()` delivers them later. */
  hold(type: PaxosMessageType): void {
    this.heldTypes.add(type);
  }

  release(filter: (m: PaxosMessage) => boolean = () => true): void {
    const now = this.held.filter(filter);
    this.held = this.held.filter((m) => !filter(m));
    this.heldTypes.clear();
    for (const m of now) this.deliver(m);
    this.stabilize();
  }

  heal(): void {
    this.cut.clear();
    this.droppedTypes.clear();
  }

  /**
   * Makes `id` take over now (as if its election timeout fired), then runs the network until quiet. Unless
   * `sticky`, the others first forget the current leader (as if an election timeout passed without hearing from it).
   */
  campaign(id: NodeId, sticky = false): void {
    if (!sticky) {
      for (const [other, e] of this.engines) {
        if (other !== id && e.paxos.role !== 'leader') e.paxos.electionElapsed = e.paxos.opts.electionTicks;
      }
    }
    const p = this.paxos(id);
    p.electionElapsed = p.randomizedElectionTimeout - 1;
    p.tick();
    this.stabilize();
  }

  tickAll(times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const e of this.engines.values()) e.tick();
      this.stabilize();
    }
  }

  tickNodes(ids: readonly NodeId[], times = 1): void {
    for (let i = 0; i < times; i++) {
      for (const id of ids) this.paxos(id).tick();
      this.stabilize();
    }
  }

  leader(): NodeId | null {
    for (const [id, e] of this.engines) if (e.paxos.role === 'leader') return id;
    return null;
  }

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
    const outbox: PaxosMessage[] = [];
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
    for (const m of outbox) this.deliver(m);
    if (progressed) return outbox.length;
    return this.announceCommits() ? 0 : null;
  }

  /** The driver's commit-announcement timer, once the network is quiet (unless a test plays it itself). */
  announceCommits(): boolean {
    return this.autoAnnounceCommits && announceCommits(this.engines.values());
  }

  deliver(m: PaxosMessage): void {
    this.sent.push(m);
    if (this.heldTypes.has(m.type)) {
      this.held.push(m);
      return;
    }
    if (this.cut.has(`${m.from}->${m.to}`) || this.droppedTypes.has(m.type)) return;
    this.engines.get(m.to)?.step(m);
  }

  propose(id: NodeId, text: string): void {
    this.engine(id).propose(encoder.encode(text));
    this.stabilize();
  }

  appliedTexts(id: NodeId): string[] {
    return this.applied
      .get(id)!
      .filter((e) => e.type === 'normal' && e.data.length > 0)
      .map((e) => decoder.decode(e.data));
  }

  clearSent(): void {
    this.sent.length = 0;
  }
}

export function text(e: Entry | undefined): string {
  return e ? decoder.decode(e.data) : '<none>';
}

export function encode(s: string): Uint8Array {
  return encoder.encode(s);
}
