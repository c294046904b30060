import { randomBytes } from 'node:crypto';
import { Packr } from 'msgpackr';
import type { Logger } from 'pino';
import { ApiError } from '../api/errors.js';
import { decodeConfChange, encodeConfChange } from '../consensus/conf-change-codec.js';
import { createEngine } from '../consensus/create-engine.js';
import { ConsensusError } from '../consensus/errors.js';
import type { ConfChange, ConsensusEngine, Entry, Ready, Snapshot, SoftState } from '../consensus/types.js';
import { encodeValidated, validateCommand } from '../kv/command-codec.js';
import { isKvError } from '../kv/errors.js';
import { Lessor } from '../kv/lessor.js';
import type { KvSnapshotWriter } from '../kv/snapshot.js';
import type { KvStore } from '../kv/store.js';
import type { ApplyItem, KvCommand } from '../kv/types.js';
import type { LogStore } from '../storage/log-store.js';
import type { Random } from '../util/random.js';
import { turnFlush } from '../util/turn-flush.js';
import type { NodeConfig } from './config.js';
import { decodeMemberContext, MemberRegistry } from './member-registry.js';
import type { NodeMetrics } from './metrics.js';
import { type AckMode, PendingProposals, type ProposalOutcome, type ProposalWaiter } from './pending-proposals.js';
import {
  MAX_BATCH_COMMANDS,
  ProposalIds,
  type UnwrappedProposal,
  unwrapProposal,
  wrapBatch,
  wrapProposal,
} from './proposal-envelope.js';
import { ReadBatcher } from './read-batcher.js';
import type { ConsensusMessage, WireMessage } from './wire.js';

const packr = new Packr({ useRecords: false });
/** Readys whose writes may be in flight at once (their entries are group-committed as the log store sees fit). */
const MAX_WRITES_IN_FLIGHT = 8;
/**
 * A follower applies the entries it set aside once they hold this much data, whatever their number: under load an
 * entry carries a turn's writes (~30 KB at 256 in flight), and one long apply would hold up the acknowledgements
 * that wait for the event loop behind it.
 */
const DEFERRED_APPLY_MAX_BYTES = 64 * 1024;
const NO_ENTRIES: readonly Entry[] = [];

/** What a Raft snapshot's data holds for a Cairn node: the state itself travels separately (a KV stream). */
interface SnapshotDescriptor {
  readonly members: unknown;
}

/** This node is not the group's leader; the API forwards to `leader` (null when none is known). */
export class NotLeaderError extends Error {
  readonly code = 'NOT_LEADER';
  constructor(readonly leader: string | null) {
    super(leader ? `the leader is ${leader}` : 'no leader is known');
    this.name = 'NotLeaderError';
  }
}

export interface ReplicaDeps {
  readonly config: NodeConfig;
  readonly group: number;
  readonly logStore: LogStore;
  readonly kv: KvStore;
  readonly registry: MemberRegistry;
  readonly random: Random;
  readonly logger: Logger;
  readonly metrics: NodeMetrics;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  readonly send: (to: string, message: WireMessage) => void;
  readonly sendAsync: (to: string, message: WireMessage) => Promise<void>;
  /** The membership (and so the registry) changed: update peers, persist. */
  readonly onMembershipChanged: () => void;
  /** Storage failed: the node cannot go on safely. */
  readonly onFatal: (error: unknown) => void;
  /** Leadership changed (for the event log). */
  readonly onLeaderChange?: (leader: string | null, role: string) => void;
}

/** A write accepted by proposeCommand, proposed to the engine at the next pump (with the others of the turn). */
interface QueuedWrite {
  readonly command: Uint8Array;
  /** The command the bytes encode, to apply without decoding them (encodeValidated), or null. */
  readonly applicable: KvCommand | null;
  readonly ack: AckMode;
  readonly waiter: ProposalWaiter;
}

interface IncomingSnapshot {
  readonly id: string;
  readonly from: string;
  readonly index: number;
  readonly writer: KvSnapshotWriter;
  nextSeq: number;
  complete: boolean;
  /** Handed to the engine: must not be replaced until installed or refused. */
  stepped: boolean;
}

/**
 * One consensus group on this node: its Raft engine over the durable log, its key-value state machine, and the
 * loop that drives them (send, persist, send, apply, advance), plus the writes and reads waiting on it.
 */
export class Replica {
  readonly engine: ConsensusEngine<ConsensusMessage>;
  readonly proposals: PendingProposals;
  private readonly proposalIds: ProposalIds;
  private readonly linearizableReads: ReadBatcher;
  private readonly leaseReads: ReadBatcher;
  readonly lessor: Lessor;
  private soft: SoftState = { leader: null, role: 'follower' };
  private pumpScheduled = false;
  private pumpSoonScheduled = false;
  /** Armed while the leader holds a commit index some follower was not told (see armCommitAnnouncement). */
  private commitAnnounceTimer: NodeJS.Timeout | null = null;
  /** Readys whose writes are in flight, chained in order. */
  private inFlight = 0;
  private writes: Promise<unknown> = Promise.resolve();
  /** A snapshot Ready is being installed: no further Ready until it is durable (later entries follow it). */
  private installingSnapshot = false;
  private closed = false;
  private lastSnapshotIndex: number;
  private compacting = false;
  private incoming: IncomingSnapshot | null = null;
  private readonly outgoing = new Set<string>();
  private lastTickAt: number;
  /** When each write this leader proposed was placed, by index (for the commit latency metric). */
  private readonly proposedAt = new Map<number, number>();
  /**
   * The commands of this leader's proposals by log index, with the proposal id: when the entry applied at the
   * index carries that id, its commands are applied from these objects instead of being decoded again (at 256
   * writes in flight, decoding and validating them was 6 % of the leader's CPU). Cleared with proposedAt.
   */
  private readonly proposedCommands = new Map<
    number,
    { readonly id: number; readonly commands: (KvCommand | null)[] }
  >();
  /** Writes accepted since the last pump, proposed by it (see flushWrites). */
  private queuedWrites: QueuedWrite[] = [];
  /**
   * Committed entries this follower has not applied yet, in order (see mayDeferApply): applied together, in one
   * state-machine transaction, once there are config.followerApplyBatchEntries of them or
   * DEFERRED_APPLY_MAX_BYTES of data, at the next tick, or as soon as something may read this node's state.
   */
  private deferredApply: Entry[] = [];
  private deferredApplyBytes = 0;

  constructor(private readonly d: ReplicaDeps) {
    const storage = d.logStore.group(d.group);
    this.engine = createEngine(d.config.consensus, {
      id: d.config.name,
      group: d.group,
      storage,
      random: d.random,
      electionTicks: d.config.electionTicks,
      heartbeatTicks: d.config.heartbeatTicks,
      applied: Math.max(d.kv.appliedIndex, storage.snapshotMeta().index),
      // The API forwards writes to the leader itself (over HTTP) and must know whether a write was proposed.
      // With forwarding inside the engine, a node that just stepped down (its engine a follower, its soft state
      // not yet updated) would pass the proposal to the new leader *and* report NotLeader, so the write could be
      // applied although the client was told UNAVAILABLE, or applied twice (found by the torture harness).
      disableProposalForwarding: true,
    }) as ConsensusEngine<ConsensusMessage>;
    this.lastSnapshotIndex = storage.snapshotMeta().index;
    this.proposals = new PendingProposals(d.config.requestTimeoutMs, d.now);
    this.proposalIds = new ProposalIds(() => d.random.next());
    this.linearizableReads = new ReadBatcher(d.config.requestTimeoutMs, (ctx) => this.engine.readIndex(ctx * 2));
    this.leaseReads = new ReadBatcher(d.config.requestTimeoutMs, (ctx) =>
      this.engine.readIndex(ctx * 2 + 1, { mode: 'lease' }),
    );
    this.lessor = new Lessor({ nowMs: d.now });
    for (const l of d.kv.leases()) this.lessor.grant(l.id, l.ttlSeconds);
    this.lastTickAt = d.now();
  }

  get role(): SoftState['role'] {
    return this.soft.role;
  }

  get leader(): string | null {
    return this.soft.leader;
  }

  get isLeader(): boolean {
    return this.soft.role === 'leader';
  }

  // ---- time --------------------------------------------------------------------------------------------------

  /**
   * Delivers the ticks due since the last one (bounded). After the process was paused, the engine must see the
   * time that passed before it serves a lease read, or a deposed leader would believe its lease still holds.
   */
  catchUpTicks(): void {
    const now = this.d.now();
    const due = Math.floor((now - this.lastTickAt) / this.d.config.tickMs);
    if (due <= 0) return;
    const ticks = Math.min(due, this.d.config.electionTicks * 4);
    this.lastTickAt += due * this.d.config.tickMs;
    for (let i = 0; i < ticks; i++) this.engine.tick();
    if (this.isLeader) this.expireLeases();
    this.schedulePump();
  }

  private expireLeases(): void {
    for (const id of this.lessor.expired()) {
      try {
        this.proposeCommand({ type: 'leaseRevoke', id }, 'quorum').catch(() => {});
      } catch {
        // Not leader any more: the next leader expires it.
      }
    }
  }

  // ---- messages ----------------------------------------------------------------------------------------------

  step(from: string, m: ConsensusMessage): void {
    if (m.type === 'snap' && m.snapshot) {
      // A snapshot is stepped only once its state has fully arrived (see the snapshot stream handlers).
      const incoming = this.incoming;
      if (!incoming?.complete || incoming.from !== from || incoming.index !== m.snapshot.meta.index) {
        this.d.metrics.droppedMessages.inc({ reason: 'snapshot_incomplete' });
        return;
      }
      incoming.stepped = true;
    }
    this.engine.step(m);
    this.schedulePumpSoon();
  }

  // ---- writes ----------------------------------------------------------------------------------------------------

  /**
   * Proposes a command (leader only); resolves with its outcome per the acknowledgement mode. The command is
   * checked and encoded now; it reaches the engine at the next pump, with every other write of this event-loop
   * turn (see flushWrites).
   */
  proposeCommand(command: KvCommand, ack: AckMode): Promise<ProposalOutcome> {
    if (this.closed) throw new ApiError('UNAVAILABLE', 'the node is shutting down');
    if (!this.isLeader) throw new NotLeaderError(this.soft.leader);
    let encoded: Uint8Array;
    let applicable: KvCommand | null;
    try {
      ({ encoded, applicable } = encodeValidated(validateCommand(command, this.d.kv.limits)));
    } catch (error) {
      if (isKvError(error)) throw kvToApiError(error.code, error.message);
      throw error;
    }
    const outcome = new Promise<ProposalOutcome>((resolve, reject) => {
      this.queuedWrites.push({ command: encoded, applicable, ack, waiter: { resolve, reject } });
    });
    this.schedulePump();
    return outcome;
  }

  /**
   * Proposes the queued writes: those with the same acknowledgement mode as one log entry each, up to
   * `proposalBatchMaxBytes` of commands per entry (TiKV batches a turn's proposals the same way). What a write
   * costs per log entry — its place in the Raft log and the entry cache, the log record, the encoding of each
   * follower's append, the pending-write bookkeeping and its timer — is then paid once per turn, not once per
   * write; the commands are still applied one by one, each with its own revision and result.
   */
  private flushWrites(): void {
    const queued = this.queuedWrites;
    if (queued.length === 0) return;
    this.queuedWrites = [];
    const mode = queued[0]!.ack;
    if (queued.every((w) => w.ack === mode)) {
      this.proposeWrites(queued, mode);
      return;
    }
    for (const m of ['quorum', 'leader', 'all'] as const) {
      const same = queued.filter((w) => w.ack === m);
      if (same.length > 0) this.proposeWrites(same, m);
    }
  }

  private proposeWrites(writes: readonly QueuedWrite[], mode: AckMode): void {
    const maxBytes = this.d.config.proposalBatchMaxBytes;
    let start = 0;
    while (start < writes.length) {
      let end = start + 1;
      let bytes = writes[start]!.command.length;
      while (end < writes.length && end - start < MAX_BATCH_COMMANDS) {
        const next = writes[end]!.command.length;
        if (bytes + next > maxBytes) break;
        bytes += next;
        end++;
      }
      this.proposeEntry(writes, start, end, mode);
      start = end;
    }
  }

  /** Proposes writes[start..end) as one entry (a plain envelope for one write, a batch for more). */
  private proposeEntry(writes: readonly QueuedWrite[], start: number, end: number, mode: AckMode): void {
    const count = end - start;
    const firstId = this.proposalIds.takeMany(count);
    const waiters: ProposalWaiter[] = [];
    for (let i = start; i < end; i++) waiters.push(writes[i]!.waiter);
    let placed: { index: number; term: number };
    try {
      const data =
        count === 1
          ? wrapProposal(firstId, writes[start]!.command)
          : wrapBatch(
              firstId,
              writes.slice(start, end).map((w) => w.command),
            );
      const r = this.engine.propose(data);
      if (r.forwarded) throw new NotLeaderError(this.soft.leader);
      placed = r;
    } catch (error) {
      let refusal = error as Error;
      if (error instanceof ConsensusError) {
        // The engine's view: the soft state may still name this node until the next Ready is handled.
        refusal =
          error.code === 'NOT_LEADER' || error.code === 'NO_LEADER'
            ? new NotLeaderError(this.engine.status().leader)
            : new ApiError('UNAVAILABLE', `the write was refused (${error.code}): ${error.message}`);
      }
      for (const w of waiters) w.reject(refusal);
      return;
    }
    this.d.metrics.proposals.inc(count);
    this.d.metrics.proposalEntries.inc();
    this.proposedAt.set(placed.index, this.d.now());
    const commands: (KvCommand | null)[] = [];
    for (let i = start; i < end; i++) commands.push(writes[i]!.applicable);
    this.proposedCommands.set(placed.index, { id: firstId, commands });
    this.proposals.wait(placed.index, placed.term, mode, (_entry, id) => id === firstId, waiters);
  }

  proposeConfChange(change: ConfChange): Promise<ProposalOutcome> {
    if (!this.isLeader) throw new NotLeaderError(this.soft.leader);
    let placed: { index: number; term: number };
    try {
      const r = this.engine.proposeConfChange(change);
      if (r.forwarded) throw new NotLeaderError(this.soft.leader);
      placed = r;
    } catch (error) {
      if (error instanceof ConsensusError) {
        if (error.code === 'CONF_CHANGE_PENDING') throw new ApiError('CONF_CHANGE_PENDING', error.message);
        if (error.code === 'INVALID_CONF_CHANGE') throw new ApiError('INVALID_MEMBER', error.message);
        throw new ApiError('UNAVAILABLE', `the membership change was refused (${error.code}): ${error.message}`);
      }
      throw error;
    }
    // A membership change is told apart by its bytes (it names the change and the member: no two are alike).
    const bytes = Buffer.from(encodeConfChange(change));
    const outcome = this.proposals.waitOne(
      placed.index,
      placed.term,
      'quorum',
      (e) => e.type === 'confChange' && bytes.equals(e.data),
    );
    this.schedulePump();
    return outcome;
  }

  // ---- reads -----------------------------------------------------------------------------------------------------

  /** Resolves when a linearizable (ReadIndex) or lease read may be served from the local state machine. */
  readBarrier(mode: 'linearizable' | 'lease'): Promise<void> {
    if (this.closed) throw new ApiError('UNAVAILABLE', 'the node is shutting down');
    if (mode === 'lease') this.catchUpTicks();
    const batcher = mode === 'lease' ? this.leaseReads : this.linearizableReads;
    const p = batcher.wait();
    this.schedulePump();
    return p;
  }

  // ---- the loop ------------------------------------------------------------------------------------------------

  /**
   * Runs the driver loop once the current callback returns (a microtask), not at the end of the event-loop turn:
   * for peer messages, which arrive already batched (one frame per peer per turn), waiting for the turn's end only
   * delays the next step of a replication round — a follower's log write, a leader's commit and its answers, a read
   * round's release. Client requests keep `schedulePump`, so that one turn's requests from every connection share
   * one Ready and one append per follower. Measured: put latency at 1 in flight −7 %, linearizable get latency at 1
   * in flight −14 % (docs/performance.md).
   */
  private schedulePumpSoon(): void {
    // With client work queued for the end of this turn (pumpScheduled), the turn's pump takes this step too: a Ready
    // taken now would carry only the requests parsed so far, and the rest would need a second append and fsync.
    if (this.pumpSoonScheduled || this.pumpScheduled || this.closed) return;
    this.pumpSoonScheduled = true;
    queueMicrotask(() => {
      this.pumpSoonScheduled = false;
      this.pump();
    });
  }

  schedulePump(): void {
    if (this.pumpScheduled || this.closed) return;
    this.pumpScheduled = true;
    setImmediate(() => {
      this.pumpScheduled = false;
      this.linearizableReads.flush();
      this.leaseReads.flush();
      this.pump();
      // The appends of the writes just proposed leave now, not after the next poll phase (see TurnFlush.flushNow).
      turnFlush.flushNow();
    });
  }

  /**
   * The driver loop, with asynchronous storage writes: each Ready is taken, its messages sent, its (already
   * durable) committed entries applied, and its write started — then the next Ready is taken at once, while the
   * earlier writes are still syncing. Writes complete in order; each Ready's `sendAfterPersist` messages go out
   * when its write is durable. So request parsing, applying and fsyncs overlap instead of taking turns.
   */
  private pump(): void {
    try {
      this.flushWrites();
      while (
        !this.closed &&
        !this.installingSnapshot &&
        this.inFlight < MAX_WRITES_IN_FLIGHT &&
        this.engine.hasReady()
      ) {
        this.takeReady(this.engine.ready());
      }
    } catch (error) {
      this.d.onFatal(error);
      return;
    }
    this.dropRefusedSnapshot();
    this.armCommitAnnouncement();
    if (this.linearizableReads.hasQueued || this.leaseReads.hasQueued) this.schedulePump();
  }

  /**
   * The leader tells followers a new commit index with its next append; a message only for that would cost every
   * node a socket write and a read per commit (at one write in flight, two of the leader's five socket writes per
   * put). When no append followed within `commitAnnounceDelayMs` (the cluster went idle), it is sent on its own,
   * so followers apply (and serve serializable reads and watches) at most that much later.
   */
  private armCommitAnnouncement(): void {
    if (this.closed) return;
    if (!this.engine.hasUnannouncedCommit()) {
      // An append carried it: disarm, so that a node under steady load is not woken for nothing.
      if (this.commitAnnounceTimer !== null) clearTimeout(this.commitAnnounceTimer);
      this.commitAnnounceTimer = null;
      return;
    }
    if (this.commitAnnounceTimer !== null) return;
    const delayMs = this.d.config.commitAnnounceDelayMs;
    if (delayMs === 0) {
      this.engine.announceCommit();
      this.schedulePumpSoon();
      return;
    }
    this.commitAnnounceTimer = setTimeout(() => {
      this.commitAnnounceTimer = null;
      if (this.closed) return;
      this.engine.announceCommit();
      this.pump();
    }, delayMs);
    this.commitAnnounceTimer.unref();
  }

  private takeReady(rd: Ready<ConsensusMessage>): void {
    this.engine.accept(rd);
    if (rd.softState) this.onSoftState(rd.softState);
    for (const m of rd.sendNow) {
      if (m.type === 'snap') this.sendSnapshot(m);
      else this.d.send(m.to, { t: 'consensus', m });
    }
    // A leader's appends of new entries go on the sockets before its own log write and fdatasync hand-off: a
    // write commits when a follower has synced it too, and the follower's round trip is the longer one.
    if (this.isLeader && rd.entries.length > 0) turnFlush.flushNow();
    if (rd.snapshot) {
      // The state machine is replaced by the install: whatever this Ready applies goes first, as it always did.
      this.applyReady(rd);
      this.startWrite(rd);
      return;
    }
    this.startWrite(rd);
    // The log write and its fdatasync start now, and the apply runs while the disk syncs. On a follower, whose
    // acknowledgement waits for the sync, the apply of the entries the leader has just announced as committed (an
    // lmdb transaction, ~0.1 ms at one write in flight) used to come first (docs/performance.md).
    this.d.logStore.flush();
    this.applyReady(rd);
  }

  /** Applies a Ready's committed entries and serves what they make possible (reads, acknowledgements). */
  private applyReady(rd: Ready<ConsensusMessage>): void {
    for (const rs of rd.readStates) {
      const batcher = rs.context % 2 === 0 ? this.linearizableReads : this.leaseReads;
      batcher.readState(Math.floor(rs.context / 2), rs.index);
    }
    if (!this.mayDeferApply(rd)) {
      this.applyCommitted(this.takeDeferred(rd.committedEntries));
      return;
    }
    for (const e of rd.committedEntries) {
      this.deferredApply.push(e);
      this.deferredApplyBytes += e.data.length;
    }
    const full =
      this.deferredApply.length >= this.d.config.followerApplyBatchEntries ||
      this.deferredApplyBytes >= DEFERRED_APPLY_MAX_BYTES;
    if (full) this.applyCommitted(this.takeDeferred(NO_ENTRIES));
  }

  private applyCommitted(entries: readonly Entry[]): void {
    this.apply(entries);
    this.engine.applied(entries);
    if (entries.some((e) => e.type === 'confChange')) this.d.onMembershipChanged();
    this.linearizableReads.applied(this.d.kv.appliedIndex);
    this.leaseReads.applied(this.d.kv.appliedIndex);
    if (this.isLeader && this.proposals.hasAckAll) this.checkAllVoters();
    this.maybeCompact();
  }

  /**
   * A follower applies committed entries in batches: at one write in flight each append carries the commit of the
   * previous write, and applying it alone cost each follower a state-machine transaction per write (a fifth of
   * its CPU). False when this Ready's committed entries (and any set aside before) must be applied now, because
   * something may read this node's state: a read waiting here, a watcher, a snapshot, a membership change, or a
   * role other than follower (a candidate that wins must hold everything before it serves).
   */
  private mayDeferApply(rd: Ready<ConsensusMessage>): boolean {
    return (
      this.d.config.followerApplyBatchEntries > 1 &&
      this.soft.role === 'follower' &&
      rd.snapshot === null &&
      rd.readStates.length === 0 &&
      !this.linearizableReads.waiting &&
      !this.leaseReads.waiting &&
      this.d.kv.watcherCount === 0 &&
      !rd.committedEntries.some((e) => e.type === 'confChange')
    );
  }

  /** The entries set aside (see mayDeferApply), then `more`, in order; clears the set-aside ones. */
  private takeDeferred(more: readonly Entry[]): readonly Entry[] {
    if (this.deferredApply.length === 0) return more;
    const entries = this.deferredApply;
    for (const e of more) entries.push(e);
    this.deferredApply = [];
    this.deferredApplyBytes = 0;
    return entries;
  }

  /**
   * Applies the committed entries this follower set aside (see mayDeferApply) now: every tick, so that its state is
   * at most a tick behind what it knows is committed, and before a read or a watch that the API serves from it
   * without asking the leader (`consistency=stale`).
   */
  applyDeferred(): void {
    if (this.deferredApply.length === 0 || this.closed) return;
    try {
      this.applyCommitted(this.takeDeferred(NO_ENTRIES));
    } catch (error) {
      this.d.onFatal(error);
    }
  }

  /** Starts making the Ready durable; its completion (afterWrite) keeps the order of the Readys. */
  private startWrite(rd: Ready<ConsensusMessage>): void {
    this.inFlight++;
    if (rd.snapshot) this.installingSnapshot = true;
    const started = this.d.now();
    const write = async () => {
      if (rd.snapshot) await this.installSnapshot(rd.snapshot);
      // A hard state whose only change is the commit index need not be synced: Raft recovers it on restart.
      if (rd.mustSync || rd.snapshot) {
        await this.d.logStore.persist([
          { group: this.d.group, hardState: rd.hardState, entries: rd.entries, snapshot: rd.snapshot },
        ]);
        this.d.metrics.persistSeconds.observe((this.d.now() - started) / 1000);
      }
      if (rd.snapshot) await this.d.logStore.setMeta(pendingSnapshotKey(this.d.group), new Uint8Array(0));
    };
    // Chained, so completions (and the messages they release) keep the order of the Readys.
    const previous = this.writes;
    const current = write();
    this.writes = Promise.all([previous, current]).then(() => this.afterWrite(rd));
    this.writes.catch((error) => this.d.onFatal(error));
  }

  private afterWrite(rd: Ready<ConsensusMessage>): void {
    this.inFlight--;
    if (rd.snapshot) this.installingSnapshot = false;
    if (this.closed) return;
    this.engine.persisted(rd);
    for (const m of rd.sendAfterPersist) this.d.send(m.to, { t: 'consensus', m });
    const last = rd.entries[rd.entries.length - 1];
    if (last && this.isLeader) this.proposals.persistedLocally(last.index, (i) => this.engine.termAt(i));
    // What became durable may be committed already (a quorum of followers acknowledged first): apply it now.
    this.pump();
  }

  private apply(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const items: ApplyItem[] = [];
    const applying: Entry[] = [];
    const proposalIds: (number | null)[] = [];
    for (const e of entries) {
      if (e.index <= this.d.kv.appliedIndex) continue; // covered by an installed snapshot
      let proposal: UnwrappedProposal | null = null;
      if (e.type === 'normal') proposal = unwrapProposal(e.data);
      // Our own proposal (the same id, so the same bytes): apply the command objects they were encoded from.
      const mine = this.proposedCommands.get(e.index);
      if (mine !== undefined) this.proposedCommands.delete(e.index);
      const commands = proposal?.commands ?? undefined;
      const count = commands ? commands.length : 1;
      const decoded =
        mine !== undefined && mine.id === proposal?.id && mine.commands.length === count ? mine.commands : undefined;
      items.push({ index: e.index, data: commands ? null : (proposal?.command ?? null), commands, decoded });
      applying.push(e);
      proposalIds.push(proposal === null ? null : proposal.id);
      if (e.type === 'confChange') this.applyMembership(e);
    }
    if (items.length === 0) return;
    // One result per entry, or per command for a batch entry, in order.
    const results = this.d.kv.applyBatch(items);
    const now = this.d.now();
    let from = 0;
    for (let i = 0; i < items.length; i++) {
      const e = applying[i]!;
      const count = items[i]!.commands?.length ?? 1;
      for (let j = from; j < from + count; j++) {
        const r = results[j]!;
        if (r.ok && r.type === 'leaseGrant') this.lessor.grant(r.id, r.ttlSeconds);
        else if (r.ok && r.type === 'leaseRevoke') this.lessor.revoke(r.id);
      }
      const at = this.proposedAt.get(e.index);
      if (at !== undefined) {
        this.proposedAt.delete(e.index);
        this.d.metrics.commitSeconds.observe((now - at) / 1000);
      }
      this.proposals.applied(e, proposalIds[i] ?? null, results, from, count);
      from += count;
    }
    this.d.metrics.applied.set(this.d.kv.appliedIndex);
  }

  private applyMembership(e: Entry): void {
    let change: ConfChange;
    try {
      change = decodeConfChange(e.data);
    } catch {
      return;
    }
    const context = decodeMemberContext(change.context);
    if (context) this.d.registry.upsert(context);
    for (const c of change.changes) {
      if (c.type === 'removeVoter' && c.node !== context?.name) this.d.registry.remove(c.node);
    }
  }

  private checkAllVoters(): void {
    const status = this.engine.status();
    const voters = new Set([...status.confState.voters, ...status.confState.votersOutgoing]);
    let min = Number.POSITIVE_INFINITY;
    for (const p of status.progress) if (voters.has(p.id)) min = Math.min(min, p.match);
    if (Number.isFinite(min)) this.proposals.allVotersHold(min);
  }

  private onSoftState(soft: SoftState): void {
    const wasLeader = this.soft.role === 'leader';
    const leaderChanged = soft.leader !== this.soft.leader;
    this.soft = soft;
    if (leaderChanged) {
      this.d.metrics.leaderChanges.inc();
      this.linearizableReads.leaderChanged();
      this.leaseReads.leaderChanged();
      this.d.logger.info({ group: this.d.group, leader: soft.leader, role: soft.role }, 'leader changed');
      this.d.onLeaderChange?.(soft.leader, soft.role);
    }
    this.d.metrics.isLeader.set(soft.role === 'leader' ? 1 : 0);
    if (soft.role === 'leader' && !wasLeader) this.lessor.promote(this.d.kv.leases());
    if (soft.role !== 'leader' && wasLeader) {
      this.lessor.demote();
      this.proposedAt.clear();
      this.proposedCommands.clear();
    }
  }

  // ---- snapshots -------------------------------------------------------------------------------------------------

  private descriptor(): Uint8Array {
    const d: SnapshotDescriptor = { members: this.d.registry.toJSON() };
    return packr.pack(d);
  }

  /**
   * Streams the state as it is now (not an older stored snapshot: a member added since would not find itself
   * in that one's configuration) in bounded chunks, paced by the transport, then the Raft snapshot message.
   */
  private sendSnapshot(m: ConsensusMessage): void {
    const to = m.to;
    if (this.outgoing.has(to)) return;
    const index = this.d.kv.appliedIndex;
    const term = this.engine.termAt(index);
    if (term === undefined) {
      this.engine.reportSnapshot(to, false);
      return;
    }
    const snapshot: Snapshot = {
      meta: { index, term, confState: this.engine.status().confState },
      data: this.descriptor(),
    };
    const reader = this.d.kv.createSnapshotReader();
    const id = randomBytes(8).toString('hex');
    this.outgoing.add(to);
    const started = this.d.now();
    const stream = async () => {
      await this.d.sendAsync(to, { t: 'snapBegin', group: this.d.group, id, index });
      let seq = 0;
      for (let chunk = reader.nextChunk(); chunk !== null; chunk = reader.nextChunk()) {
        await this.d.sendAsync(to, { t: 'snapChunk', group: this.d.group, id, seq: seq++, data: chunk });
      }
      await this.d.sendAsync(to, { t: 'snapEnd', group: this.d.group, id, chunks: seq });
      await this.d.sendAsync(to, { t: 'consensus', m: { ...m, snapshot } });
      return seq;
    };
    stream()
      .then((chunks) => {
        this.d.logger.info({ to, index, chunks, ms: Math.round(this.d.now() - started) }, 'snapshot sent');
        this.engine.reportSnapshot(to, true);
      })
      .catch((error) => {
        this.d.logger.warn({ to, index, err: String(error) }, 'snapshot send failed');
        this.engine.reportSnapshot(to, false);
      })
      .finally(() => {
        reader.close();
        this.outgoing.delete(to);
        this.schedulePump();
      });
  }

  onSnapshotBegin(from: string, id: string, index: number): void {
    if (this.incoming?.stepped) return; // one handed to the engine is being installed
    if (this.incoming) void this.incoming.writer.abort();
    let writer: KvSnapshotWriter;
    try {
      writer = this.d.kv.createSnapshotWriter();
    } catch (error) {
      this.d.logger.warn({ from, err: String(error) }, 'cannot start receiving a snapshot');
      this.incoming = null;
      return;
    }
    this.incoming = { id, from, index, writer, nextSeq: 0, complete: false, stepped: false };
  }

  onSnapshotChunk(from: string, id: string, seq: number, data: Uint8Array): void {
    const inc = this.incoming;
    if (!inc || inc.id !== id || inc.from !== from || inc.complete) return;
    if (seq !== inc.nextSeq) {
      this.abandonIncoming('chunk out of order');
      return;
    }
    try {
      inc.writer.write(data);
      inc.nextSeq++;
    } catch (error) {
      this.abandonIncoming(`bad chunk: ${String(error)}`);
    }
  }

  onSnapshotEnd(from: string, id: string, chunks: number): void {
    const inc = this.incoming;
    if (!inc || inc.id !== id || inc.from !== from) return;
    if (chunks !== inc.nextSeq) {
      this.abandonIncoming('chunks missing');
      return;
    }
    inc.complete = true;
  }

  /**
   * A snapshot stepped into the engine that no Ready carried is one the engine refused (from a deposed leader, or
   * already covered by the log): its stream is dropped. Kept, it made this node ignore every later snapshot stream
   * while waiting for an install that never came: a Multi-Paxos acceptor (torture seed 1704) stayed 2,000 entries
   * behind for 80 s while the leader streamed it ~300 snapshots.
   */
  private dropRefusedSnapshot(): void {
    const inc = this.incoming;
    if (inc === null || !inc.stepped || this.installingSnapshot || this.engine.hasReady()) return;
    inc.stepped = false;
    this.abandonIncoming('the consensus engine did not take the snapshot');
  }

  private abandonIncoming(reason: string): void {
    const inc = this.incoming;
    if (!inc || inc.stepped) return;
    this.d.logger.warn({ from: inc.from, reason }, 'snapshot stream abandoned');
    void inc.writer.abort();
    this.incoming = null;
  }

  /** The engine accepted a snapshot: switch the state machine to the received state, then the registry. */
  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    const inc = this.incoming;
    if (!inc?.complete || inc.index !== snapshot.meta.index) {
      throw new Error(`snapshot ${snapshot.meta.index} accepted without its state (this is a bug)`);
    }
    // Crash safety: the state machine switches first, then the log records the snapshot. The intent is written
    // before either, so a restart between the two completes the log's side (see recoverSnapshotInstall).
    await this.d.logStore.setMeta(pendingSnapshotKey(this.d.group), encodePendingSnapshot(snapshot));
    const info = await inc.writer.finish();
    this.incoming = null;
    if (info.appliedIndex !== snapshot.meta.index) {
      throw new Error(`snapshot state is at ${info.appliedIndex}, expected ${snapshot.meta.index}`);
    }
    try {
      const desc = packr.unpack(snapshot.data) as SnapshotDescriptor;
      const members = MemberRegistry.fromJSON(desc.members);
      for (const m of members.list())
        this.d.registry.upsert({ name: m.name, peer: m.peer, ...(m.http ? { http: m.http } : {}) });
      for (const m of this.d.registry.list()) if (!members.get(m.name)) this.d.registry.remove(m.name);
    } catch {
      // A descriptor we cannot read leaves the registry as it is; membership changes will correct it.
    }
    this.proposals.coveredBySnapshot(snapshot.meta.index);
    this.proposedCommands.clear();
    this.lessor.demote();
    for (const l of this.d.kv.leases()) this.lessor.grant(l.id, l.ttlSeconds);
    this.lastSnapshotIndex = snapshot.meta.index;
    this.d.onMembershipChanged();
    this.d.logger.info({ index: snapshot.meta.index }, 'installed snapshot');
  }

  /** Every `snapshotEntries` applied entries: make the state durable, record a snapshot, drop the old log. */
  private maybeCompact(): void {
    const applied = this.d.kv.appliedIndex;
    if (this.compacting || applied - this.lastSnapshotIndex < this.d.config.snapshotEntries) return;
    this.compacting = true;
    const confState = this.engine.status().confState;
    const data = this.descriptor();
    const run = async () => {
      await this.d.kv.flush();
      await this.d.logStore.createSnapshot(this.d.group, applied, confState, data);
      const keepFrom = applied - this.d.config.snapshotKeepEntries;
      const firstIndex = this.d.logStore.group(this.d.group).firstIndex();
      if (keepFrom >= firstIndex) await this.d.logStore.compact(this.d.group, keepFrom);
      this.lastSnapshotIndex = applied;
      this.d.logger.debug({ applied, compactedTo: keepFrom }, 'snapshot and compaction');
    };
    run()
      .catch((error) => this.d.logger.error({ err: String(error) }, 'snapshot or compaction failed'))
      .finally(() => {
        this.compacting = false;
      });
  }

  // ---- lifecycle ---------------------------------------------------------------------------------------------------

  tick(): void {
    this.catchUpTicks();
    this.applyDeferred();
  }

  close(): void {
    this.closed = true;
    if (this.commitAnnounceTimer !== null) clearTimeout(this.commitAnnounceTimer);
    this.commitAnnounceTimer = null;
    const error = new ApiError('UNAVAILABLE', 'the node is shutting down');
    this.proposals.failAll(error);
    for (const w of this.queuedWrites) w.waiter.reject(error);
    this.queuedWrites = [];
    this.linearizableReads.failAll(error);
    this.leaseReads.failAll(error);
    if (this.incoming) void this.incoming.writer.abort();
  }
}

export function kvToApiError(code: string, message: string): ApiError {
  switch (code) {
    case 'KEY_TOO_LARGE':
    case 'VALUE_TOO_LARGE':
    case 'TXN_TOO_LARGE':
    case 'COMPARE_FAILED':
    case 'LEASE_NOT_FOUND':
    case 'INVALID_LEASE_TTL':
    case 'COMPACTED':
    case 'INVALID_KEY':
      return new ApiError(code, message);
    case 'LEASE_EXPIRED':
      return new ApiError('LEASE_NOT_FOUND', message);
    default:
      return new ApiError('INVALID_ARGUMENT', `${code}: ${message}`);
  }
}

export function pendingSnapshotKey(group: number): string {
  return `pendingSnapshot/${group}`;
}

export function encodePendingSnapshot(snapshot: Snapshot): Uint8Array {
  return packr.pack({
    index: snapshot.meta.index,
    term: snapshot.meta.term,
    confState: snapshot.meta.confState,
    data: snapshot.data,
  });
}

/**
 * Completes a snapshot install that a crash interrupted after the state machine switched but before the log
 * recorded the snapshot. Returns true when it had something to complete.
 */
export async function recoverSnapshotInstall(logStore: LogStore, kv: KvStore, group: number): Promise<boolean> {
  const raw = logStore.getMeta(pendingSnapshotKey(group));
  if (!raw || raw.length === 0) return false;
  const pending = packr.unpack(raw) as {
    index: number;
    term: number;
    confState: Snapshot['meta']['confState'];
    data: Uint8Array;
  };
  const view = logStore.group(group);
  if (kv.appliedIndex === pending.index && view.snapshotMeta().index < pending.index) {
    const snapshot: Snapshot = {
      meta: { index: pending.index, term: pending.term, confState: pending.confState },
      data: new Uint8Array(pending.data),
    };
    // The hard state the interrupted Ready would have written goes with it: a snapshot holds only committed
    // entries, so the commit index is at least its index (and the term at least its term). Without it, the engine
    // refused to start — "stored commit 1403 outside [2651, 2651]" (torture, Raft seed 1805).
    const stored = view.initialState().hardState;
    const hardState =
      pending.term > stored.term
        ? { term: pending.term, vote: null, commit: Math.max(stored.commit, pending.index) }
        : { ...stored, commit: Math.max(stored.commit, pending.index) };
    await logStore.persist([{ group, snapshot, hardState }]);
  }
  await logStore.setMeta(pendingSnapshotKey(group), new Uint8Array(0));
  return true;
}
