import { MemoryLogStorage } from '../consensus/memory-log-storage.js';
import type {
  ConsensusEngine,
  Entry,
  MessageEnvelope,
  NodeId,
  ReadState,
  Ready,
  SoftState,
} from '../consensus/types.js';
import type { Random } from '../util/random.js';
import { type EngineFactory, type EngineTuning, RAFT_SEMANTICS } from './engine-factory.js';
import type { EventQueue } from './event-queue.js';
import { DigestStateMachine, entryFingerprint, valueFingerprint } from './state-machine.js';

/** What a simulated node tells the rest of the simulation. */
export interface SimNodeHooks<M extends MessageEnvelope> {
  send(m: M): void;
  onApplied(node: SimNode<M>, entry: Entry, digest: number): void;
  onSnapshotInstalled(node: SimNode<M>, index: number, digest: number): void;
  onSoftState(node: SimNode<M>, soft: SoftState, term: number): void;
  /** A read became servable: the state machine reached its index. */
  onReadServed(node: SimNode<M>, read: ReadState, appliedIndex: number): void;
  trace(line: string): void;
}

export interface DiskModel {
  /** fsync latency, uniform in [min, max] ms, with occasional slow syncs. */
  minSyncMs: number;
  maxSyncMs: number;
  slowSyncRate: number;
  slowSyncMs: number;
}

/**
 * One simulated node: an engine, its disk (a MemoryLogStorage that survives crashes), a state machine that does
 * not (it is rebuilt from the disk's snapshot and the log on restart), and the driver loop a real node runs:
 * send what may go now, persist (taking virtual fsync time), send the rest, apply, advance.
 */
export class SimNode<M extends MessageEnvelope> {
  engine: ConsensusEngine<M> | null = null;
  readonly disk = new MemoryLogStorage();
  readonly sm: DigestStateMachine;
  /** Bumped on every crash: callbacks scheduled by an earlier life are ignored. */
  private generation = 0;
  private busy = false;
  private readonly pendingReads: ReadState[] = [];
  private lastSnapshotIndex = 0;
  retired = false;
  crashes = 0;

  constructor(
    readonly id: NodeId,
    private readonly queue: EventQueue,
    private readonly random: Random,
    private readonly factory: EngineFactory<M>,
    private readonly hooks: SimNodeHooks<M>,
    private readonly disk_: DiskModel,
    readonly tickMs: number,
    /** Snapshot the state machine every so many applied entries (randomized per node). */
    private readonly snapshotEvery: number,
    /** Entries kept in the log behind a snapshot for slow followers. */
    private readonly keepBehind: number,
    private readonly tuning: EngineTuning,
    /**
     * Drive the engine with asynchronous storage writes: take the next Ready while earlier ones are still being
     * synced (several in flight, completing in order), as the real node does.
     */
    private readonly asyncStorage: boolean,
  ) {
    const identity = (factory.semantics ?? RAFT_SEMANTICS).entryIdentity;
    this.sm = new DigestStateMachine(identity === 'value' ? valueFingerprint : entryFingerprint);
  }

  /** Readys whose writes are in flight (async mode), and when the last one completes. */
  private inFlight = 0;
  private lastSyncDoneAt = 0;
  /** A commit announcement is scheduled (the driver's `commitAnnounceDelayMs` timer, see Replica). */
  private announcementScheduled = false;

  get up(): boolean {
    return this.engine !== null;
  }

  /** Starts (or restarts) the engine from what the disk holds. */
  start(): void {
    if (this.engine || this.retired) return;
    const snap = this.disk.snapshot();
    this.sm.restore(snap.data);
    this.lastSnapshotIndex = snap.meta.index;
    this.engine = this.factory.create(this.id, this.disk, this.random.fork(), snap.meta.index, this.tuning);
    const gen = this.generation;
    // Nodes tick out of phase, with a little jitter (a margin the lease must absorb).
    this.queue.schedule(this.random.next() * this.tickMs, () => this.tickLoop(gen));
    this.pump();
  }

  /** Loses everything volatile, including a Ready whose fsync had not completed. */
  crash(): void {
    if (!this.engine) return;
    this.engine = null;
    this.generation++;
    this.busy = false;
    this.inFlight = 0;
    this.announcementScheduled = false;
    this.pendingReads.length = 0;
    this.crashes++;
  }

  retire(): void {
    this.crash();
    this.retired = true;
  }

  private tickLoop(gen: number): void {
    if (gen !== this.generation || !this.engine) return;
    this.engine.tick();
    this.pump();
    const jitter = 1 + (this.random.next() - 0.5) * 0.04;
    this.queue.schedule(this.tickMs * jitter, () => this.tickLoop(gen));
  }

  /** Delivers a message; false when the node is down. */
  receive(m: M): boolean {
    if (!this.engine) return false;
    this.engine.step(m);
    this.pump();
    return true;
  }

  /** Runs `action` against the engine and then the driver loop (client requests come through here). */
  withEngine<T>(action: (engine: ConsensusEngine<M>) => T): T {
    if (!this.engine) throw new Error(`${this.id} is down`);
    try {
      return action(this.engine);
    } finally {
      this.pump();
    }
  }

  /** The driver loop: take a Ready if there is one and no other is being persisted. */
  pump(): void {
    this.pumpReadys();
    this.scheduleCommitAnnouncement();
  }

  /**
   * Like the real driver: a leader's new commit index travels with its next append, and when none followed within
   * a short delay (here 2 ms of simulated time), it is announced on its own.
   */
  private scheduleCommitAnnouncement(): void {
    const engine = this.engine;
    if (!engine || this.announcementScheduled || !engine.hasUnannouncedCommit()) return;
    this.announcementScheduled = true;
    const gen = this.generation;
    this.queue.schedule(SimNode.COMMIT_ANNOUNCE_DELAY_MS, () => {
      if (gen !== this.generation) return;
      this.announcementScheduled = false;
      if (!this.engine) return;
      this.engine.announceCommit();
      this.pump();
    });
  }

  private pumpReadys(): void {
    if (this.asyncStorage) {
      this.pumpAsync();
      return;
    }
    const engine = this.engine;
    if (!engine || this.busy || !engine.hasReady()) return;
    const rd = engine.ready();
    this.busy = true;
    if (rd.softState) this.hooks.onSoftState(this, rd.softState, engine.status().term);
    for (const m of rd.sendNow) this.hooks.send(m.type === 'snap' ? this.freshSnapshotMessage(m, engine) : m);
    const gen = this.generation;
    let delay = 0;
    if (rd.mustSync) {
      const d = this.disk_;
      delay = d.minSyncMs + this.random.next() * (d.maxSyncMs - d.minSyncMs);
      if (this.random.chance(d.slowSyncRate)) delay += this.random.next() * d.slowSyncMs;
    }
    this.queue.schedule(delay, () => this.finishReady(gen, rd));
  }

  private static readonly COMMIT_ANNOUNCE_DELAY_MS = 2;

  /** At most this many Readys in flight at once (async mode). */
  private static readonly MAX_IN_FLIGHT = 4;

  private pumpAsync(): void {
    const engine = this.engine;
    while (engine && this.engine === engine && this.inFlight < SimNode.MAX_IN_FLIGHT && engine.hasReady()) {
      const rd = engine.ready();
      engine.accept(rd);
      if (rd.softState) this.hooks.onSoftState(this, rd.softState, engine.status().term);
      for (const m of rd.sendNow) this.hooks.send(m.type === 'snap' ? this.freshSnapshotMessage(m, engine) : m);
      // Committed entries in a Ready are durable already: apply at once, while later writes are in flight.
      for (const e of rd.committedEntries) {
        if (e.index <= this.sm.applied) continue;
        this.sm.apply(e);
        this.hooks.onApplied(this, e, this.sm.digest);
      }
      engine.applied(rd.committedEntries);
      this.pendingReads.push(...rd.readStates);
      this.serveReads();
      // Writes complete in order (one disk): each after the previous one, plus its own latency.
      let delay = 0;
      if (rd.mustSync) {
        const d = this.disk_;
        delay = d.minSyncMs + this.random.next() * (d.maxSyncMs - d.minSyncMs);
        if (this.random.chance(d.slowSyncRate)) delay += this.random.next() * d.slowSyncMs;
      }
      const doneAt = Math.max(this.queue.now, this.lastSyncDoneAt) + delay;
      this.lastSyncDoneAt = doneAt;
      this.inFlight++;
      const gen = this.generation;
      this.queue.schedule(doneAt - this.queue.now, () => this.finishAsync(gen, rd));
    }
  }

  private finishAsync(gen: number, rd: Ready<M>): void {
    if (gen !== this.generation || !this.engine) return; // crashed before the write completed: lost
    this.inFlight--;
    this.disk.persistReady(rd);
    if (rd.snapshot) {
      this.sm.restore(rd.snapshot.data);
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.hooks.onSnapshotInstalled(this, this.sm.applied, this.sm.digest);
    }
    this.engine.persisted(rd);
    for (const m of rd.sendAfterPersist) this.hooks.send(m);
    this.serveReads();
    this.maybeSnapshot();
    this.pump();
  }

  /**
   * Like etcd, a node sends the state it holds now, not an older stored snapshot: a member added after that
   * snapshot was taken would not find itself in its configuration and could not install it.
   */
  private freshSnapshotMessage(m: M, engine: ConsensusEngine<M>): M {
    const stored = this.disk.snapshot();
    if (stored.meta.index >= this.sm.applied) return m;
    const fresh = this.disk.createSnapshot(this.sm.applied, engine.status().confState, this.sm.snapshot());
    this.lastSnapshotIndex = fresh.meta.index;
    return { ...m, snapshot: fresh };
  }

  private finishReady(gen: number, rd: Ready<M>): void {
    if (gen !== this.generation || !this.engine) return; // crashed before the fsync completed: lost
    this.disk.persistReady(rd);
    for (const m of rd.sendAfterPersist) this.hooks.send(m);
    if (rd.snapshot) {
      this.sm.restore(rd.snapshot.data);
      this.lastSnapshotIndex = rd.snapshot.meta.index;
      this.hooks.onSnapshotInstalled(this, this.sm.applied, this.sm.digest);
    }
    for (const e of rd.committedEntries) {
      if (e.index <= this.sm.applied) continue; // already covered by an installed snapshot
      this.sm.apply(e);
      this.hooks.onApplied(this, e, this.sm.digest);
    }
    this.pendingReads.push(...rd.readStates);
    this.engine.advance(rd);
    this.busy = false;
    this.serveReads();
    this.maybeSnapshot();
    this.pump();
  }

  private serveReads(): void {
    for (let i = 0; i < this.pendingReads.length; ) {
      const r = this.pendingReads[i]!;
      if (r.index <= this.sm.applied) {
        this.pendingReads.splice(i, 1);
        this.hooks.onReadServed(this, r, this.sm.applied);
      } else {
        i++;
      }
    }
  }

  private maybeSnapshot(): void {
    const engine = this.engine!;
    if (this.sm.applied - this.lastSnapshotIndex < this.snapshotEvery) return;
    const index = this.sm.applied;
    this.disk.createSnapshot(index, engine.status().confState, this.sm.snapshot());
    this.lastSnapshotIndex = index;
    const compactTo = Math.max(0, index - this.keepBehind);
    if (compactTo >= this.disk.firstIndex()) this.disk.compact(compactTo);
    this.hooks.trace(`${this.id} snapshot@${index} compact≤${compactTo}`);
  }
}
