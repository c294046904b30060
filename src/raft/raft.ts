import { decodeConfChange, encodeConfChange } from '../consensus/conf-change-codec.js';
import { ConsensusError, LogCompactedError, SnapshotTemporarilyUnavailableError } from '../consensus/errors.js';
import { entriesSize } from '../consensus/log-storage.js';
import type {
  CampaignPolicy,
  ConfChange,
  Entry,
  EntryType,
  HardState,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SoftState,
} from '../consensus/types.js';
import { ConfChanger, isLeaveJoint } from './conf-changer.js';
import { HeartbeatRounds } from './heartbeat-rounds.js';
import {
  type MessageFields,
  malformedReason,
  type RaftMessage,
  type RaftMessageType,
  raftMessage,
} from './messages.js';
import { type RaftOptions, type ResolvedRaftOptions, resolveRaftOptions } from './options.js';
import type { Progress } from './progress.js';
import { RaftLog } from './raft-log.js';
import { ReadIndexQueue } from './read-only.js';
import { configFromConfState, isJoint, ProgressTracker, voterIds } from './tracker.js';

/** Messages that promise something just persisted (a vote, an append): sent only after the Ready is durable. */
const SEND_AFTER_PERSIST: ReadonlySet<RaftMessageType> = new Set<RaftMessageType>([
  'appResp',
  'vote',
  'voteResp',
  'preVote',
  'preVoteResp',
]);

/** Messages that act like local requests forwarded to the leader: they carry no term (Raft ignores it for them). */
const TERMLESS: ReadonlySet<RaftMessageType> = new Set<RaftMessageType>(['prop', 'readIndex', 'transferLeader']);

/** Reads waiting for a new leader's first commit, and reads waiting for a heartbeat round, are each bounded. */
const MAX_PENDING_READS = 65_536;
/** Heartbeat-round send ticks kept for leases; more than an election timeout's worth is never needed. */
const MAX_TRACKED_ROUND_TICKS = 1024;

type CampaignKind = 'preVote' | 'election' | 'transfer';

interface ProposedEntry {
  readonly type: EntryType;
  readonly data: Uint8Array;
}

export interface RaftCounters {
  /** Peer messages dropped because they were malformed or addressed elsewhere. */
  malformedMessages: number;
  /** Forwarded proposals a leader or follower had to drop. */
  droppedProposals: number;
  /** Same-term messages from a second leader (never expected; counted, not trusted). */
  unexpectedLeaderMessages: number;
}

/**
 * Raft (Ongaro & Ousterhout, and the thesis) as a pure state machine. Everything that happens is a method call:
 * `tick()`, `step(message)`, `propose()`, ... ; the resulting messages, entries and reads are collected here and
 * handed to the driver by RaftEngine as a Ready. No I/O, no clock, no randomness but the injected one.
 */
export class Raft {
  readonly id: NodeId;
  readonly group: number;
  readonly opts: ResolvedRaftOptions;
  readonly log: RaftLog;
  readonly tracker: ProgressTracker;

  term = 0;
  vote: NodeId | null = null;
  role: Role = 'follower';
  lead: NodeId | null = null;
  leadTransferee: NodeId | null = null;
  /** A TimeoutNow was sent in this term: the target may win at any moment, so leases are off for the term. */
  transferAttemptedInTerm = false;
  /** Index of the latest membership change proposed by this leader; another waits until it is applied. */
  pendingConfIndex = 0;
  /** Bytes of entries this leader appended that are not yet applied. */
  uncommittedBytes = 0;

  /** Set by the node's health layer (see CampaignPolicy): campaign later, refuse pre-votes to the unhealthy. */
  campaignPolicy: CampaignPolicy = { deferTicks: 0, acceptCandidate: null };

  /** Ticks since this engine was created: the clock for leases. */
  ticks = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;

  readonly reads = new ReadIndexQueue(MAX_PENDING_READS);
  readonly rounds = new HeartbeatRounds(MAX_TRACKED_ROUND_TICKS);
  private readsUntilCommit: { from: NodeId; context: number; lease: boolean }[] = [];
  /** Work deferred to the next Ready so that one turn's proposals and reads share messages. */
  private appendNeeded = false;
  private roundNeeded = false;

  msgsNow: RaftMessage[] = [];
  msgsAfterPersist: RaftMessage[] = [];
  readStates: ReadState[] = [];
  readonly counters: RaftCounters = { malformedMessages: 0, droppedProposals: 0, unexpectedLeaderMessages: 0 };

  constructor(options: RaftOptions) {
    this.opts = resolveRaftOptions(options);
    this.id = this.opts.id;
    this.group = this.opts.group;
    const storage = this.opts.storage;
    this.log = new RaftLog(storage, this.opts.maxApplyBytes);
    this.tracker = new ProgressTracker(this.opts.maxInflightMessages, this.opts.maxInflightBytes);

    const { hardState, confState } = storage.initialState();
    this.tracker.config = configFromConfState(confState);
    this.resetProgress();
    if (hardState.commit < this.log.committed || hardState.commit > this.log.lastIndex()) {
      throw new Error(
        `raft: stored commit ${hardState.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
    }
    this.term = hardState.term;
    this.vote = hardState.vote;
    this.log.committed = hardState.commit;

    let snapshotIndex = this.log.firstIndex() - 1;
    try {
      snapshotIndex = storage.snapshot().meta.index;
    } catch (error) {
      if (!(error instanceof SnapshotTemporarilyUnavailableError)) throw error;
    }
    const applied = this.opts.applied ?? snapshotIndex;
    if (applied > this.log.committed && applied <= this.log.lastIndex()) {
      // Only committed entries are applied, so the commit index is at least the applied one. Drivers may skip
      // persisting a hard state whose only change is the commit index (it is recovered this way).
      this.log.committed = applied;
    }
    if (applied > this.log.committed || applied < snapshotIndex) {
      throw new Error(`raft: applied ${applied} outside [${snapshotIndex}, ${this.log.committed}]`);
    }
    // The stored configuration is the snapshot's; membership changes applied after it are replayed.
    if (applied > snapshotIndex) {
      for (const e of this.log.slice(snapshotIndex + 1, applied + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type === 'confChange') this.applyConfChangeEntry(e);
      }
    }
    this.log.applied = applied;
    this.log.applying = applied;
    this.becomeFollower(this.term, null);
  }

  // ---- state the driver reads ------------------------------------------------------------------------------

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  /** Whether a deferred broadcast (appends, read round) waits for the next Ready. */
  hasDeferredWork(): boolean {
    return this.appendNeeded || this.roundNeeded;
  }

  /**
   * Sends what was deferred so that one event-loop turn's proposals and reads share messages. A new commit index
   * is not broadcast on its own: the next append or heartbeat carries it, or `announceCommit` (see Progress.commitSent).
   */
  flushDeferred(): void {
    if (this.role === 'leader') {
      if (this.appendNeeded) this.bcastAppend(false);
      if (this.roundNeeded) this.bcastHeartbeat();
    }
    this.appendNeeded = false;
    this.roundNeeded = false;
  }

  /** Leader: whether some follower holds committed entries it has not been told are committed. */
  hasUnannouncedCommit(): boolean {
    if (this.role !== 'leader') return false;
    const committed = this.log.committed;
    for (const [id, pr] of this.tracker.progress) {
      if (id !== this.id && pr.awaitsCommit(committed)) return true;
    }
    return false;
  }

  /** Leader: tells every follower that awaits the commit index (an append, empty if it has nothing to add). */
  announceCommit(): void {
    if (this.role !== 'leader') return;
    const committed = this.log.committed;
    for (const [id, pr] of this.tracker.progress) {
      if (id !== this.id && pr.awaitsCommit(committed)) this.sendAppendsTo(id, true);
    }
  }

  // ---- local requests ----------------------------------------------------------------------------------------

  tick(): void {
    this.ticks++;
    if (this.role === 'leader') this.tickHeartbeat();
    else this.tickElection();
  }

  propose(data: Uint8Array): { index: number; term: number } | null {
    return this.proposeEntry({ type: 'normal', data });
  }

  proposeConfChange(change: ConfChange): { index: number; term: number } | null {
    return this.proposeEntry({ type: 'confChange', data: encodeConfChange(change) });
  }

  /** Returns where the entry landed, or null when forwarded to the leader. Throws ConsensusError when refused. */
  private proposeEntry(entry: ProposedEntry): { index: number; term: number } | null {
    if (this.role !== 'leader') {
      if (this.lead === null) throw new ConsensusError('NO_LEADER', 'no leader is known; retry later');
      if (this.opts.disableProposalForwarding) throw new ConsensusError('NOT_LEADER', `the leader is ${this.lead}`);
      this.send(this.lead, 'prop', { entries: [{ term: 0, index: 0, ...entry }] });
      return null;
    }
    if (this.leadTransferee !== null) {
      throw new ConsensusError('TRANSFER_IN_PROGRESS', `leadership is moving to ${this.leadTransferee}`);
    }
    if (entry.type === 'confChange') this.checkConfChangeAllowed(decodeConfChange(entry.data));
    const index = this.appendEntries([entry]);
    if (index === undefined) {
      throw new ConsensusError(
        'PROPOSALS_OVER_LIMIT',
        `uncommitted entries exceed ${this.opts.maxUncommittedBytes} bytes; retry when they commit`,
      );
    }
    if (entry.type === 'confChange') this.pendingConfIndex = index;
    return { index, term: this.term };
  }

  /** Throws unless `change` may be proposed now (one change at a time, joint configs left before the next). */
  private checkConfChangeAllowed(change: ConfChange): void {
    if (this.pendingConfIndex > this.log.applied) {
      throw new ConsensusError(
        'CONF_CHANGE_PENDING',
        `membership change at ${this.pendingConfIndex} is not applied yet (applied ${this.log.applied})`,
      );
    }
    const joint = isJoint(this.tracker.config);
    if (joint && !isLeaveJoint(change)) {
      throw new ConsensusError('CONF_CHANGE_PENDING', 'the joint configuration must be left first');
    }
    if (!joint && isLeaveJoint(change)) {
      throw new ConsensusError('INVALID_CONF_CHANGE', 'not in a joint configuration: nothing to leave');
    }
    // A dry run on the current configuration rejects changes that would be invalid when applied.
    new ConfChanger(this.tracker, this.log.lastIndex()).apply(change);
  }

  readIndex(context: number, lease: boolean): void {
    if (this.role === 'leader') {
      if (!this.handleReadRequest(this.id, context, lease)) {
        throw new ConsensusError('PROPOSALS_OVER_LIMIT', `more than ${MAX_PENDING_READS} reads are waiting`);
      }
      return;
    }
    if (this.lead === null) throw new ConsensusError('NO_LEADER', 'no leader is known; retry later');
    this.send(this.lead, 'readIndex', { context, lease });
  }

  transferLeadership(to: NodeId): void {
    if (this.role !== 'leader') {
      if (this.lead === null) throw new ConsensusError('NO_LEADER', 'no leader is known; retry later');
      if (to !== this.id) throw new ConsensusError('NOT_LEADER', `ask the leader ${this.lead}`);
      // A follower may ask for leadership itself.
      this.send(this.lead, 'transferLeader', {});
      return;
    }
    const pr = this.tracker.progress.get(to);
    if (!pr || pr.isLearner) {
      throw new ConsensusError('INVALID_ARGUMENT', `${to} is not a voter and cannot lead`);
    }
    this.handleTransferLeader(to);
  }

  /** The driver's report on a snapshot it was asked to send (`snap` message). */
  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.tracker.progress.get(to);
    if (this.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    // Wait for the follower's answer (or its next heartbeat answer) before probing.
    pr.becomeProbe();
    pr.probeSent = true;
  }

  /** See ConsensusEngine.reportPeerDown: our leader's process is gone, so elect a new one soon. */
  reportPeerDown(peer: NodeId): void {
    if (this.role === 'leader' || this.lead !== peer) return;
    this.lead = null;
    // Campaign within 1..electionTicks/2 ticks; the spread keeps the surviving followers from splitting the vote.
    const soon = 1 + this.opts.random.int(Math.max(1, Math.ceil(this.opts.electionTicks / 2)));
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
  }

  /** The driver could not reach `to`: stop pipelining to it until it answers again. */
  reportUnreachable(to: NodeId): void {
    const pr = this.tracker.progress.get(to);
    if (this.role === 'leader' && pr && pr.state === 'replicate') pr.becomeProbe();
  }

  // ---- ticks -------------------------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout + this.campaignPolicy.deferTicks) {
      this.electionElapsed = 0;
      this.hup(this.opts.preVote ? 'preVote' : 'election');
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.opts.electionTicks) {
      this.electionElapsed = 0;
      if (this.opts.checkQuorum) {
        if (!this.tracker.quorumActive(this.id)) {
          this.becomeFollower(this.term, null);
          return;
        }
        for (const [id, pr] of this.tracker.progress) if (id !== this.id) pr.recentActive = false;
      }
      // A transfer that did not finish within an election timeout is abandoned.
      if (this.leadTransferee !== null) this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  // ---- role changes --------------------------------------------------------------------------------------------

  private reset(term: number): void {
    if (term !== this.term) {
      this.term = term;
      this.vote = null;
      this.transferAttemptedInTerm = false;
    }
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.opts.electionTicks + this.opts.random.int(this.opts.electionTicks);
    this.leadTransferee = null;
    this.tracker.resetVotes();
    this.resetProgress();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.reads.clear();
    this.readsUntilCommit = [];
    this.rounds.reset();
    this.appendNeeded = false;
    this.roundNeeded = false;
  }

  private resetProgress(): void {
    const next = this.log.lastIndex() + 1;
    const fresh = new Map<NodeId, Progress>();
    const { config } = this.tracker;
    for (const id of [...config.incoming, ...config.outgoing, ...config.learners, ...config.learnersNext]) {
      if (fresh.has(id)) continue;
      const pr = this.tracker.newProgress(next, config.learners.has(id));
      if (id === this.id) pr.match = this.stableLastIndex();
      fresh.set(id, pr);
    }
    this.tracker.progress = fresh;
  }

  /** The last index known durable here and still part of the log. */
  private stableLastIndex(): number {
    return this.log.stableLastIndex();
  }

  becomeFollower(term: number, lead: NodeId | null): void {
    this.reset(term);
    this.lead = lead;
    this.role = 'follower';
  }

  private becomePreCandidate(): void {
    // Does not touch term or vote: a pre-vote changes nothing until it succeeds.
    this.role = 'preCandidate';
    this.tracker.resetVotes();
    this.lead = null;
  }

  private becomeCandidate(): void {
    this.reset(this.term + 1);
    this.vote = this.id;
    this.role = 'candidate';
  }

  private becomeLeader(): void {
    this.reset(this.term);
    this.lead = this.id;
    this.role = 'leader';
    this.tracker.progress.get(this.id)?.becomeReplicate();
    // Conservatively assume the log holds an unapplied membership change: the next one waits until all applied.
    this.pendingConfIndex = this.log.lastIndex();
    // Raft §5.4.2 / §8: an entry of the new term lets earlier entries commit and proves the leader for ReadIndex.
    this.appendEntries([{ type: 'normal', data: new Uint8Array(0) }], true);
  }

  /** Whether this node may campaign: a voter, not waiting to install a snapshot. */
  promotable(): boolean {
    const pr = this.tracker.progress.get(this.id);
    return pr !== undefined && !pr.isLearner && this.tracker.isVoter(this.id) && !this.log.hasPendingSnapshot();
  }

  private hup(kind: CampaignKind): void {
    if (this.role === 'leader' || !this.promotable()) return;
    // Campaigning under a configuration that a committed change is about to replace could split the cluster.
    if (this.hasUnappliedConfChanges()) return;
    this.campaign(kind);
  }

  private hasUnappliedConfChanges(): boolean {
    if (this.log.committed <= this.log.applied) return false;
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const entries = this.log.slice(lo, this.log.committed + 1, Number.MAX_SAFE_INTEGER);
    return entries.some((e) => e.type === 'confChange');
  }

  private campaign(kind: CampaignKind): void {
    let voteType: RaftMessageType;
    let term: number;
    if (kind === 'preVote') {
      this.becomePreCandidate();
      voteType = 'preVote';
      term = this.term + 1;
    } else {
      this.becomeCandidate();
      voteType = 'vote';
      term = this.term;
    }
    if (this.poll(this.id, true) === 'won') {
      // A single voter wins at once.
      if (kind === 'preVote') this.campaign('election');
      else this.becomeLeader();
      return;
    }
    const lastIndex = this.log.lastIndex();
    const lastTerm = this.log.lastTerm();
    for (const id of [...voterIds(this.tracker.config)].sort()) {
      if (id === this.id) continue;
      this.send(id, voteType, { term, index: lastIndex, logTerm: lastTerm, transfer: kind === 'transfer' });
    }
  }

  private poll(id: NodeId, granted: boolean): 'won' | 'lost' | 'pending' {
    this.tracker.recordVote(id, granted);
    return this.tracker.tallyVotes().result;
  }

  // ---- messages --------------------------------------------------------------------------------------------------

  private send(to: NodeId, type: RaftMessageType, fields: MessageFields): void {
    const term = TERMLESS.has(type) ? 0 : (fields.term ?? this.term);
    const m = raftMessage(this.group, this.id, to, type, fields, term);
    if (SEND_AFTER_PERSIST.has(type)) this.msgsAfterPersist.push(m);
    else this.msgsNow.push(m);
  }

  /** Whether we heard from a leader within an election timeout (or just started): then votes are refused. */
  private inLease(): boolean {
    if (this.ticks < this.opts.electionTicks) return true;
    return this.lead !== null && this.electionElapsed < this.opts.electionTicks;
  }

  step(m: RaftMessage): void {
    const reason = malformedReason(m);
    if (reason !== null || m.group !== this.group || m.to !== this.id || m.from === this.id) {
      this.counters.malformedMessages++;
      return;
    }
    if (!TERMLESS.has(m.type)) {
      if (m.term > this.term) {
        if ((m.type === 'vote' || m.type === 'preVote') && !m.transfer && this.opts.checkQuorum && this.inLease()) {
          // We hear from a live leader: a node campaigning now is partitioned or disruptive (Raft thesis §4.2.3).
          return;
        }
        if (m.type === 'preVote') {
          // A pre-vote never changes our term.
        } else if (m.type === 'preVoteResp' && !m.reject) {
          // A granted pre-vote carries the term we will campaign in; we adopt it only by winning.
        } else {
          const isLeaderMessage = m.type === 'app' || m.type === 'heartbeat' || m.type === 'snap';
          this.becomeFollower(m.term, isLeaderMessage ? m.from : null);
        }
      } else if (m.term < this.term) {
        if ((this.opts.checkQuorum || this.opts.preVote) && (m.type === 'heartbeat' || m.type === 'app')) {
          // A stale leader, or we raised our term alone in a partition: our term makes it (or us) reconverge.
          this.send(m.from, 'appResp', {});
        } else if (m.type === 'preVote') {
          this.send(m.from, 'preVoteResp', { reject: true });
        }
        return;
      }
    }

    if (m.type === 'vote' || m.type === 'preVote') {
      this.handleVoteRequest(m);
      return;
    }
    switch (this.role) {
      case 'leader':
        this.stepLeader(m);
        break;
      case 'candidate':
      case 'preCandidate':
        this.stepCandidate(m);
        break;
      case 'follower':
        this.stepFollower(m);
        break;
    }
  }

  /** Raft §5.2 and §5.4.1: one vote per term, only for a candidate whose log is at least as up to date. */
  protected canGrantVote(m: RaftMessage): boolean {
    const canVote =
      this.vote === m.from ||
      (this.vote === null && this.lead === null) ||
      (m.type === 'preVote' && m.term > this.term);
    return canVote && this.log.isUpToDate(m.index, m.logTerm);
  }

  private handleVoteRequest(m: RaftMessage): void {
    const respType: RaftMessageType = m.type === 'vote' ? 'voteResp' : 'preVoteResp';
    const filter = this.campaignPolicy.acceptCandidate;
    // Only pre-votes are filtered by health: a real vote follows the protocol alone.
    const healthOk = m.type !== 'preVote' || filter === null || filter(m.from);
    if (healthOk && this.canGrantVote(m)) {
      this.send(m.from, respType, { term: m.term });
      if (m.type === 'vote') {
        this.electionElapsed = 0;
        this.vote = m.from;
      }
    } else {
      this.send(m.from, respType, { reject: true });
    }
  }

  private stepLeader(m: RaftMessage): void {
    switch (m.type) {
      case 'prop':
        this.handleForwardedProposal(m);
        return;
      case 'readIndex':
        this.handleReadRequest(m.from, m.context, m.lease);
        return;
      case 'transferLeader': {
        const pr = this.tracker.progress.get(m.from);
        if (pr && !pr.isLearner) this.handleTransferLeader(m.from);
        return;
      }
      case 'appResp':
        this.handleAppendResponse(m);
        return;
      case 'heartbeatResp':
        this.handleHeartbeatResponse(m);
        return;
      case 'app':
      case 'heartbeat':
      case 'snap':
        this.counters.unexpectedLeaderMessages++;
        return;
      default:
        return;
    }
  }

  private stepCandidate(m: RaftMessage): void {
    switch (m.type) {
      case 'prop':
        this.counters.droppedProposals++;
        return;
      case 'app':
        this.becomeFollower(m.term, m.from);
        this.handleAppendEntries(m);
        return;
      case 'heartbeat':
        this.becomeFollower(m.term, m.from);
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.becomeFollower(m.term, m.from);
        this.handleSnapshot(m);
        return;
      case 'voteResp':
      case 'preVoteResp': {
        // A pre-candidate counts only pre-votes, a candidate only votes.
        if ((m.type === 'voteResp') !== (this.role === 'candidate')) return;
        const result = this.poll(m.from, !m.reject);
        if (result === 'won') {
          if (this.role === 'preCandidate') this.campaign('election');
          else {
            this.becomeLeader();
            this.bcastAppend(true);
          }
        } else if (result === 'lost') {
          this.becomeFollower(this.term, null);
        }
        return;
      }
      default:
        return;
    }
  }

  private stepFollower(m: RaftMessage): void {
    switch (m.type) {
      case 'prop':
        if (this.lead === null || this.opts.disableProposalForwarding) {
          this.counters.droppedProposals++;
          return;
        }
        this.send(this.lead, 'prop', { entries: m.entries });
        return;
      case 'app':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleAppendEntries(m);
        return;
      case 'heartbeat':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleHeartbeat(m);
        return;
      case 'snap':
        this.electionElapsed = 0;
        this.lead = m.from;
        this.handleSnapshot(m);
        return;
      case 'timeoutNow':
        // The leader hands us leadership: campaign at once, past other voters' leases.
        this.hup('transfer');
        return;
      case 'readIndexResp':
        this.readStates.push({ index: m.index, context: m.context });
        return;
      default:
        return;
    }
  }

  // ---- follower side of replication -----------------------------------------------------------------------------

  private handleAppendEntries(m: RaftMessage): void {
    if (m.index < this.log.committed) {
      this.send(m.from, 'appResp', { index: this.log.committed });
      return;
    }
    const lastNew = this.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
    if (lastNew !== undefined) {
      this.send(m.from, 'appResp', { index: lastNew });
      return;
    }
    // Fast backtracking: tell the leader the last index that could match given its term at m.index.
    const hint = this.log.findConflictByTerm(Math.min(m.index, this.log.lastIndex()), m.logTerm);
    this.send(m.from, 'appResp', { index: m.index, reject: true, rejectHint: hint.index, logTerm: hint.term });
  }

  private handleHeartbeat(m: RaftMessage): void {
    // The leader caps the commit index at what it knows we hold; the min() guards against an inconsistent peer.
    this.log.commitTo(Math.min(m.commit, this.log.lastIndex()));
    this.send(m.from, 'heartbeatResp', { context: m.context });
  }

  private handleSnapshot(m: RaftMessage): void {
    const snapshot = m.snapshot!;
    if (this.restore(snapshot)) {
      this.send(m.from, 'appResp', { index: this.log.lastIndex() });
    } else {
      this.send(m.from, 'appResp', { index: this.log.committed });
    }
  }

  /** Installs a snapshot from the leader; false when it brings nothing new. */
  private restore(snapshot: Snapshot): boolean {
    const { index, term, confState } = snapshot.meta;
    if (index <= this.log.committed) return false;
    const member =
      confState.voters.includes(this.id) ||
      confState.votersOutgoing.includes(this.id) ||
      confState.learners.includes(this.id) ||
      confState.learnersNext.includes(this.id);
    if (!member) return false;
    if (this.log.matchTerm(index, term)) {
      // We already hold the snapshot's last entry, so by log matching everything before it: just commit.
      this.log.commitTo(index);
      return false;
    }
    this.log.restore(snapshot);
    this.tracker.config = configFromConfState(confState);
    this.resetProgress();
    return true;
  }

  // ---- leader side of replication -------------------------------------------------------------------------------

  /** Appends entries of the current term; returns the last index, or undefined when over the uncommitted limit. */
  private appendEntries(entries: readonly ProposedEntry[], exempt = false): number | undefined {
    let size = 0;
    for (const e of entries) size += e.data.length;
    if (!exempt && this.uncommittedBytes > 0 && this.uncommittedBytes + size > this.opts.maxUncommittedBytes) {
      return undefined;
    }
    const first = this.log.lastIndex() + 1;
    const stamped: Entry[] = entries.map((e, i) => ({ term: this.term, index: first + i, type: e.type, data: e.data }));
    this.log.append(stamped);
    if (!exempt) this.uncommittedBytes += size;
    this.appendNeeded = true;
    // A single voter commits on its own persistence; nothing to send.
    return first + entries.length - 1;
  }

  private handleForwardedProposal(m: RaftMessage): void {
    if (this.leadTransferee !== null) {
      this.counters.droppedProposals++;
      return;
    }
    const accepted: ProposedEntry[] = [];
    for (const e of m.entries) {
      if (e.type === 'confChange') {
        try {
          this.checkConfChangeAllowed(decodeConfChange(e.data));
        } catch {
          this.counters.droppedProposals++;
          continue;
        }
        const index = this.appendEntries([e]);
        if (index === undefined) this.counters.droppedProposals++;
        else this.pendingConfIndex = index;
        continue;
      }
      accepted.push({ type: e.type, data: e.data });
    }
    if (accepted.length > 0 && this.appendEntries(accepted) === undefined) {
      this.counters.droppedProposals += accepted.length;
    }
  }

  /** The driver persisted the log up to (index, term). */
  onPersisted(index: number, term: number): void {
    if (this.role !== 'leader' || !this.log.matchTerm(index, term)) return;
    const self = this.tracker.progress.get(this.id);
    if (self?.maybeUpdate(index)) this.maybeCommitAndNotify();
  }

  private maybeCommitAndNotify(): void {
    if (!this.maybeCommit()) return;
    if (this.readsUntilCommit.length > 0 && this.committedEntryInCurrentTerm()) {
      const waiting = this.readsUntilCommit;
      this.readsUntilCommit = [];
      for (const r of waiting) this.handleReadRequest(r.from, r.context, r.lease);
    }
  }

  /** Raft §5.4.2: advance the commit index to what a quorum holds, if that entry is of the current term. */
  protected maybeCommit(): boolean {
    return this.log.maybeCommit(this.tracker.committed(), this.term);
  }

  committedEntryInCurrentTerm(): boolean {
    return this.log.termOrZero(this.log.committed) === this.term;
  }

  private bcastAppend(sendIfEmpty: boolean): void {
    for (const id of this.tracker.progress.keys()) {
      if (id === this.id) continue;
      this.sendAppendsTo(id, sendIfEmpty);
    }
  }

  /** Sends as many appends to `to` as flow control allows (pipelining in replicate state). */
  private sendAppendsTo(to: NodeId, sendIfEmpty: boolean): void {
    if (!this.sendAppend(to, sendIfEmpty)) return;
    const pr = this.tracker.progress.get(to)!;
    while (pr.state === 'replicate' && this.sendAppend(to, false)) {
      // keep filling the pipeline
    }
  }

  private sendAppend(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.tracker.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const lastIndex = this.log.lastIndex();
    if (pr.next > lastIndex + 1) pr.next = lastIndex + 1;
    const prevIndex = pr.next - 1;
    let prevTerm: number;
    let entries: Entry[];
    try {
      prevTerm = this.log.term(prevIndex);
      entries = this.log.entriesFrom(pr.next, this.opts.maxMessageBytes);
    } catch (error) {
      if (error instanceof LogCompactedError) return this.sendSnapshot(to, pr);
      throw error;
    }
    // In probe state an empty append is the probe itself (and probeSent limits it to one per heartbeat).
    if (entries.length === 0 && !sendIfEmpty && pr.state !== 'probe') return false;
    this.send(to, 'app', { index: prevIndex, logTerm: prevTerm, entries, commit: this.log.committed });
    pr.sentCommit(this.log.committed);
    const last = entries.length > 0 ? entries[entries.length - 1]!.index : prevIndex;
    pr.sentEntries(entries.length, entriesSize(entries), last);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
    // Snapshots are expensive: only for a follower we recently heard from.
    if (!pr.recentActive) return false;
    let snapshot: Snapshot;
    try {
      snapshot = this.log.unstable.snapshot ?? this.log.storage.snapshot();
    } catch (error) {
      if (error instanceof SnapshotTemporarilyUnavailableError) return false;
      throw error;
    }
    if (snapshot.meta.index === 0) return false;
    pr.becomeSnapshot(snapshot.meta.index);
    this.send(to, 'snap', { snapshot });
    return true;
  }

  private handleAppendResponse(m: RaftMessage): void {
    const pr = this.tracker.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.reject) {
      let nextProbe = m.rejectHint;
      if (m.logTerm > 0) nextProbe = this.log.findConflictByTerm(m.rejectHint, m.logTerm).index;
      if (pr.maybeDecrTo(m.index, nextProbe)) {
        if (pr.state === 'replicate') pr.becomeProbe();
        this.sendAppendsTo(m.from, false);
      }
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) return;
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      // The snapshot (or a later append) caught the follower up to where the log can take over.
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    this.maybeCommitAndNotify();
    if (wasPaused || pr.state === 'replicate') this.sendAppendsTo(m.from, false);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  private handleHeartbeatResponse(m: RaftMessage): void {
    const pr = this.tracker.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    pr.probeSent = false;
    // Appends may have been lost: free a slot of a full window, and send even an empty append, which the
    // follower rejects if it misses entries, so that the leader falls back to probing from its match.
    if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
    if (pr.match < this.log.lastIndex()) this.sendAppendsTo(m.from, true);
    this.rounds.ack(m.from, m.context);
    this.releaseConfirmedReads();
  }

  private bcastHeartbeat(): void {
    const round = this.rounds.start(this.ticks);
    this.roundNeeded = false;
    for (const [id, pr] of this.tracker.progress) {
      if (id === this.id) continue;
      const commit = Math.min(pr.match, this.log.committed);
      this.send(id, 'heartbeat', { commit, context: round });
      pr.sentCommit(commit);
    }
  }

  private handleTransferLeader(target: NodeId): void {
    if (this.leadTransferee !== null) {
      if (this.leadTransferee === target) return;
      this.leadTransferee = null;
    }
    if (target === this.id) return;
    // The transfer must finish within an election timeout, or it is abandoned.
    this.electionElapsed = 0;
    this.leadTransferee = target;
    const pr = this.tracker.progress.get(target)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAppendsTo(target, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.transferAttemptedInTerm = true;
    this.send(to, 'timeoutNow', {});
  }

  // ---- linearizable reads ---------------------------------------------------------------------------------------

  /** Returns false when the read had to be refused (too many waiting). */
  private handleReadRequest(from: NodeId, context: number, lease: boolean): boolean {
    if (!this.committedEntryInCurrentTerm()) {
      // Our commit index may lag the previous leader's until an entry of our own term commits (thesis §6.4).
      if (this.readsUntilCommit.length >= MAX_PENDING_READS) return false;
      this.readsUntilCommit.push({ from, context, lease });
      return true;
    }
    if (this.tracker.isSingleton(this.id) || (lease && this.leaseValid())) {
      this.respondRead(from, context, this.log.committed);
      return true;
    }
    if (!this.reads.add({ from, context, index: this.log.committed, round: this.rounds.current + 1 })) return false;
    this.roundNeeded = true;
    return true;
  }

  private respondRead(from: NodeId, context: number, index: number): void {
    if (from === this.id) this.readStates.push({ index, context });
    else this.send(from, 'readIndexResp', { index, context });
  }

  private releaseConfirmedReads(): void {
    const round = this.rounds.quorumRound(this.tracker, this.id);
    for (const r of this.reads.releaseUpTo(round)) this.respondRead(r.from, r.context, r.index);
  }

  /**
   * Whether the leader may serve a read without a round trip: a quorum acknowledged a heartbeat sent less than
   * `leaseTicks` ago, and each of them refuses votes for an election timeout after receiving it.
   */
  protected leaseValid(): boolean {
    if (this.opts.leaseTicks === 0 || this.leadTransferee !== null || this.transferAttemptedInTerm) return false;
    const round = this.rounds.quorumRound(this.tracker, this.id);
    const sentAt = this.rounds.sentTick(round);
    if (sentAt === undefined) return false;
    this.rounds.prune(round);
    return this.ticks < sentAt + this.opts.leaseTicks;
  }

  // ---- membership ---------------------------------------------------------------------------------------------

  /** Applies a committed membership change (called as the driver applies it). */
  applyConfChangeEntry(entry: Entry): void {
    let change: ConfChange;
    try {
      change = decodeConfChange(entry.data);
    } catch {
      return; // Every replica skips the same undecodable entry.
    }
    let transition: ReturnType<ConfChanger['apply']>;
    try {
      transition = new ConfChanger(this.tracker, this.log.lastIndex()).apply(change);
    } catch (error) {
      if (error instanceof ConsensusError) return; // Deterministically invalid everywhere: a no-op.
      throw error;
    }
    this.tracker.config = transition.config;
    this.tracker.progress = transition.progress;
    if (this.role !== 'leader') return;
    if (!this.tracker.isVoter(this.id)) {
      // Removed (or demoted): hand leadership to the most caught-up voter rather than wait for a timeout.
      let best: NodeId | null = null;
      let bestMatch = -1;
      for (const id of [...voterIds(this.tracker.config)].sort()) {
        const match = this.tracker.progress.get(id)?.match ?? 0;
        if (match > bestMatch) {
          best = id;
          bestMatch = match;
        }
      }
      if (best !== null) this.sendTimeoutNow(best);
      this.becomeFollower(this.term, null);
      return;
    }
    if (this.leadTransferee !== null && !this.tracker.isVoter(this.leadTransferee)) this.leadTransferee = null;
    this.maybeCommitAndNotify();
    this.releaseConfirmedReads();
    this.appendNeeded = true;
  }

  /** After applying: reduce the uncommitted budget and leave an automatic joint configuration. */
  onApplied(applied: readonly Entry[]): void {
    if (this.role !== 'leader') return;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - entriesPayload(applied));
    const config = this.tracker.config;
    if (config.autoLeave && isJoint(config) && this.log.applied >= this.pendingConfIndex) {
      try {
        this.proposeConfChange({ changes: [] });
      } catch (error) {
        // Over the uncommitted limit or mid-transfer: try again after the next apply.
        if (!(error instanceof ConsensusError)) throw error;
      }
    }
  }
}

function entriesPayload(entries: readonly Entry[]): number {
  let size = 0;
  for (const e of entries) size += e.data.length;
  return size;
}
