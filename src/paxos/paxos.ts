import { decodeConfChange, encodeConfChange } from '../consensus/conf-change-codec.js';
import { ConsensusError, LogCompactedError, SnapshotTemporarilyUnavailableError } from '../consensus/errors.js';
import { entriesSize } from '../consensus/log-storage.js';
import type {
  CampaignPolicy,
  ConfChange,
  ConfState,
  Entry,
  EntryType,
  HardState,
  NodeId,
  ReadState,
  Role,
  Snapshot,
  SoftState,
} from '../consensus/types.js';
import { HeartbeatRounds } from '../raft/heartbeat-rounds.js';
import { Progress } from '../raft/progress.js';
import { RaftLog } from '../raft/raft-log.js';
import { ReadIndexQueue } from '../raft/read-only.js';
import { formatBallot, nextBallot } from './ballot.js';
import {
  applyMembershipChange,
  applyMembershipEntry,
  buildWindow,
  type ConfigWindow,
  isSoleVoter,
  windowQuorumMin,
  windowVoteResult,
} from './membership.js';
import {
  malformedReason,
  type PaxosMessage,
  type PaxosMessageFields,
  type PaxosMessageType,
  paxosMessage,
} from './messages.js';
import { type PaxosOptions, type ResolvedPaxosOptions, resolvePaxosOptions } from './options.js';
import { type MergedLog, mergePromisedValues } from './promise-merge.js';

/** Answers that vouch for what was just persisted (a promise, an acceptance): sent only once the Ready is durable. */
const SEND_AFTER_PERSIST: ReadonlySet<PaxosMessageType> = new Set<PaxosMessageType>([
  // prepare: our promise to ourselves must be durable before anyone else's counts with it.
  'prepare',
  'promise',
  'accepted',
  'heartbeatResp',
]);

/** Reads waiting for a new leader's first commit, and reads waiting for a heartbeat round, are each bounded. */
const MAX_PENDING_READS = 65_536;
/** Heartbeat-round send ticks kept for leases; more than an election timeout's worth is never needed. */
const MAX_TRACKED_ROUND_TICKS = 1024;
const EMPTY: Uint8Array = new Uint8Array(0);

interface ProposedEntry {
  readonly type: EntryType;
  readonly data: Uint8Array;
}

/** What one acceptor told a candidate in phase 1. */
export interface PromiseReport {
  readonly commit: number;
  readonly entries: readonly Entry[];
}

export interface PaxosCounters {
  /** Peer messages dropped because they were malformed or addressed elsewhere. */
  malformedMessages: number;
  /** Forwarded proposals a leader or follower had to drop. */
  droppedProposals: number;
  /** Messages at our promised ballot from a node that does not own it (never expected; counted, not trusted). */
  unexpectedLeaderMessages: number;
  /** Phase 1 rounds started. */
  phase1Rounds: number;
  /** Values re-proposed by new leaders because a promise reported them. */
  reproposedValues: number;
  /** Gaps new leaders filled with no-ops. */
  noopFills: number;
}

/**
 * Multi-Paxos as a pure state machine, behind the same Ready contract as Raft (see docs/consensus.md):
 *
 * - HardState.term is the promised ballot, HardState.vote the proposer it was promised to, HardState.commit the
 *   highest instance such that it and every instance before it are chosen; Entry.term is the ballot the value
 *   was accepted in.
 * - A proposer taking over runs phase 1 once for every instance after its commit index, re-proposes the value of
 *   the highest ballot each promise reports, fills gaps with no-ops, and appends a no-op of its own.
 * - Phase 2 is pipelined per acceptor in batches; the chosen prefix travels piggybacked on accepts and heartbeats.
 *
 * Acceptors keep their log contiguous: an accept is taken only when it starts inside the prefix the acceptor knows
 * to hold the current leader's values (else it answers with where that prefix ends), and values accepted in
 * earlier ballots beyond an accepted batch are kept (rewritten after it), never truncated: an acceptor must not
 * forget what it accepted.
 */
export class Paxos {
  readonly id: NodeId;
  readonly group: number;
  readonly opts: ResolvedPaxosOptions;
  readonly log: RaftLog;

  /** The highest ballot promised (or accepted in), and who owns it. */
  promised = 0;
  promisedTo: NodeId | null = null;
  role: Role = 'follower';
  lead: NodeId | null = null;
  /** The configuration as of the applied index. */
  appliedConf: ConfState;
  /** Indexes of membership entries after the applied index, in log order (the window's pending changes). */
  private pendingConfIndexes: number[] = [];
  private windowCache: { version: number; window: ConfigWindow } | null = null;
  private logVersion = 0;
  /**
   * The lowest index written since the last Ready was taken. Raft's unstable log marks entries stable by (index,
   * term), trusting log matching; a Paxos acceptor may rewrite an index with the same (index, term) tail after it
   * while a Ready is being persisted, so `advance` never marks stable at or past this index.
   */
  lowestWriteSinceReady = Number.POSITIVE_INFINITY;

  /** The highest ballot seen in a refusal: the next campaign goes above it. */
  maxSeenBallot = 0;

  // Acceptor (follower) state: the prefix known to hold the leader's values.
  private followedBallot = 0;
  /** Every instance up to here holds a chosen value or the value the leader of `followedBallot` proposed. */
  matched = 0;

  // Candidate state.
  private readonly votes = new Map<NodeId, boolean>();
  private readonly promises = new Map<NodeId, PromiseReport>();
  private readonly prepared = new Set<NodeId>();
  private forcedCampaign = false;
  /** The ballot a pre-candidate asks about. */
  private preBallot = 0;

  // Leader state.
  progress = new Map<NodeId, Progress>();
  leadTransferee: NodeId | null = null;
  /** A TimeoutNow was sent in this ballot: the target may take over at any moment, so leases are off. */
  transferAttemptedInBallot = false;
  /** Index of the latest membership change proposed by this leader; another waits until it is applied. */
  pendingConfIndex = 0;
  /** Bytes of entries this leader appended that are not yet applied. */
  uncommittedBytes = 0;
  /** Reads wait until the commit index reaches the new leader's own no-op (then it knows every chosen value). */
  readBarrier = 0;

  ticks = 0;
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Set by the node's health layer (see CampaignPolicy): take over later, refuse pre-prepares to the unhealthy. */
  campaignPolicy: CampaignPolicy = { deferTicks: 0, acceptCandidate: null };

  readonly reads = new ReadIndexQueue(MAX_PENDING_READS);
  readonly rounds = new HeartbeatRounds(MAX_TRACKED_ROUND_TICKS);
  private readsUntilBarrier: { from: NodeId; context: number; lease: boolean }[] = [];
  private appendNeeded = false;
  private roundNeeded = false;

  msgsNow: PaxosMessage[] = [];
  msgsAfterPersist: PaxosMessage[] = [];
  readStates: ReadState[] = [];
  readonly counters: PaxosCounters = {
    malformedMessages: 0,
    droppedProposals: 0,
    unexpectedLeaderMessages: 0,
    phase1Rounds: 0,
    reproposedValues: 0,
    noopFills: 0,
  };

  constructor(options: PaxosOptions) {
    this.opts = resolvePaxosOptions(options);
    this.id = this.opts.id;
    this.group = this.opts.group;
    const storage = this.opts.storage;
    this.log = new RaftLog(storage, this.opts.maxApplyBytes);
    const { hardState, confState } = storage.initialState();
    this.appliedConf = confState;
    if (hardState.commit < this.log.committed || hardState.commit > this.log.lastIndex()) {
      throw new Error(
        `paxos: stored commit ${hardState.commit} outside [${this.log.committed}, ${this.log.lastIndex()}]`,
      );
    }
    this.promised = hardState.term;
    this.promisedTo = hardState.vote;
    this.log.committed = hardState.commit;
    let snapshotIndex = this.log.firstIndex() - 1;
    try {
      snapshotIndex = storage.snapshot().meta.index;
    } catch (error) {
      if (!(error instanceof SnapshotTemporarilyUnavailableError)) throw error;
    }
    const applied = this.opts.applied ?? snapshotIndex;
    if (applied > this.log.committed && applied <= this.log.lastIndex()) this.log.committed = applied;
    if (applied > this.log.committed || applied < snapshotIndex) {
      throw new Error(`paxos: applied ${applied} outside [${snapshotIndex}, ${this.log.committed}]`);
    }
    // The stored configuration is the snapshot's; membership changes applied after it are replayed.
    if (applied > snapshotIndex) {
      for (const e of this.log.slice(snapshotIndex + 1, applied + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type === 'confChange') this.appliedConf = applyMembershipEntry(this.appliedConf, e);
      }
    }
    this.log.applied = applied;
    this.log.applying = applied;
    this.rebuildPendingConfIndexes();
    this.becomeFollower(null);
  }

  // ---- state the driver reads ------------------------------------------------------------------------------

  hardState(): HardState {
    return { term: this.promised, vote: this.promisedTo, commit: this.log.committed };
  }

  softState(): SoftState {
    return { leader: this.lead, role: this.role };
  }

  hasDeferredWork(): boolean {
    return this.appendNeeded || this.roundNeeded;
  }

  /**
   * Sends what was deferred so that one event-loop turn's proposals and reads share messages. A new commit index
   * is not broadcast on its own: the next accept or heartbeat carries it, or `announceCommit` (as in Raft).
   */
  flushDeferred(): void {
    if (this.role === 'leader') {
      if (this.appendNeeded) this.bcastAccept(false);
      if (this.roundNeeded) this.bcastHeartbeat();
    }
    this.appendNeeded = false;
    this.roundNeeded = false;
  }

  /** Leader: whether some acceptor holds chosen instances it has not been told are chosen. */
  hasUnannouncedCommit(): boolean {
    if (this.role !== 'leader') return false;
    const committed = this.log.committed;
    for (const [id, pr] of this.progress) {
      if (id !== this.id && pr.awaitsCommit(committed)) return true;
    }
    return false;
  }

  /** Leader: tells every acceptor that awaits the commit index (an accept, empty if it has nothing to add). */
  announceCommit(): void {
    if (this.role !== 'leader') return;
    const committed = this.log.committed;
    for (const [id, pr] of this.progress) {
      if (id !== this.id && pr.awaitsCommit(committed)) this.sendAcceptsTo(id, true);
    }
  }

  // ---- the configuration window ------------------------------------------------------------------------------

  /** The configurations from the applied one through every membership entry in the log (see membership.ts). */
  window(): ConfigWindow {
    if (this.windowCache?.version === this.logVersion) return this.windowCache.window;
    const pending: Entry[] = [];
    for (const i of this.pendingConfIndexes) pending.push(this.log.slice(i, i + 1, Number.MAX_SAFE_INTEGER)[0]!);
    const window = buildWindow(this.appliedConf, pending);
    this.windowCache = { version: this.logVersion, window };
    return window;
  }

  private rebuildPendingConfIndexes(): void {
    this.pendingConfIndexes = [];
    const lo = Math.max(this.log.applied + 1, this.log.firstIndex());
    const hi = this.log.lastIndex();
    if (lo <= hi) {
      for (const e of this.log.slice(lo, hi + 1, Number.MAX_SAFE_INTEGER)) {
        if (e.type === 'confChange') this.pendingConfIndexes.push(e.index);
      }
    }
    this.logVersion++;
  }

  /** Every log write goes through here, so that the window follows the membership entries. */
  private writeLog(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const first = entries[0]!.index;
    this.pendingConfIndexes = this.pendingConfIndexes.filter((i) => i < first);
    for (const e of entries) if (e.type === 'confChange') this.pendingConfIndexes.push(e.index);
    if (first < this.lowestWriteSinceReady) this.lowestWriteSinceReady = first;
    this.log.append(entries);
    this.logVersion++;
    if (this.role === 'leader') this.syncProgress();
  }

  isVoterInWindow(id: NodeId): boolean {
    return this.window().voters.has(id);
  }

  /** Whether this node may run phase 1: a voter of its applied configuration, not waiting for a snapshot. */
  promotable(): boolean {
    return this.appliedConf.voters.includes(this.id) && !this.log.hasPendingSnapshot();
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

  private proposeEntry(entry: ProposedEntry): { index: number; term: number } | null {
    if (this.role !== 'leader') {
      if (this.lead === null) throw new ConsensusError('NO_LEADER', 'no leader is known; retry later');
      if (this.opts.disableProposalForwarding) throw new ConsensusError('NOT_LEADER', `the leader is ${this.lead}`);
      if (entry.type === 'confChange') this.checkConfChangeShape(decodeConfChange(entry.data));
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
        `unchosen entries exceed ${this.opts.maxUncommittedBytes} bytes; retry when they are chosen`,
      );
    }
    if (entry.type === 'confChange') this.pendingConfIndex = index;
    return { index, term: this.promised };
  }

  /** Refuses what this engine never supports (explicit joint transitions), wherever it is proposed. */
  private checkConfChangeShape(change: ConfChange): void {
    if (change.transition === 'joint' || change.transition === 'explicit' || change.changes.length === 0) {
      applyMembershipChange(this.appliedConf, change); // throws INVALID_CONF_CHANGE with the reason
    }
  }

  /** Throws unless `change` may be proposed now: one change at a time, valid on the latest configuration. */
  private checkConfChangeAllowed(change: ConfChange): void {
    if (this.pendingConfIndex > this.log.applied) {
      throw new ConsensusError(
        'CONF_CHANGE_PENDING',
        `membership change at ${this.pendingConfIndex} is not applied yet (applied ${this.log.applied})`,
      );
    }
    const configs = this.window().configs;
    applyMembershipChange(configs[configs.length - 1]!.confState, change);
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
      this.send(this.lead, 'transferLeader', {});
      return;
    }
    if (!this.appliedConf.voters.includes(to) || !this.progress.has(to)) {
      throw new ConsensusError('INVALID_ARGUMENT', `${to} is not a voter and cannot lead`);
    }
    this.handleTransferLeader(to);
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    const pr = this.progress.get(to);
    if (this.role !== 'leader' || !pr || pr.state !== 'snapshot') return;
    if (!ok) pr.pendingSnapshot = 0;
    pr.becomeProbe();
    pr.probeSent = true;
  }

  reportUnreachable(to: NodeId): void {
    const pr = this.progress.get(to);
    if (this.role === 'leader' && pr && pr.state === 'replicate') pr.becomeProbe();
  }

  // ---- ticks -------------------------------------------------------------------------------------------------

  private tickElection(): void {
    this.electionElapsed++;
    if (this.promotable() && this.electionElapsed >= this.randomizedElectionTimeout + this.campaignPolicy.deferTicks) {
      this.electionElapsed = 0;
      if (this.opts.preVote) this.preCampaign();
      else this.campaign(false);
    }
  }

  private tickHeartbeat(): void {
    this.heartbeatElapsed++;
    this.electionElapsed++;
    if (this.electionElapsed >= this.opts.electionTicks) {
      this.electionElapsed = 0;
      if (this.opts.checkQuorum) {
        if (!this.quorumActive()) {
          this.becomeFollower(null);
          return;
        }
        for (const [id, pr] of this.progress) if (id !== this.id) pr.recentActive = false;
      }
      if (this.leadTransferee !== null) this.leadTransferee = null;
    }
    if (this.heartbeatElapsed >= this.opts.heartbeatTicks) {
      this.heartbeatElapsed = 0;
      this.bcastHeartbeat();
    }
  }

  private quorumActive(): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) active.set(id, id === this.id || pr.recentActive);
    return windowVoteResult(this.window(), active) === 'won';
  }

  // ---- role changes --------------------------------------------------------------------------------------------

  private resetVolatile(): void {
    this.lead = null;
    this.electionElapsed = 0;
    this.heartbeatElapsed = 0;
    this.randomizedElectionTimeout = this.opts.electionTicks + this.opts.random.int(this.opts.electionTicks);
    this.leadTransferee = null;
    this.transferAttemptedInBallot = false;
    this.votes.clear();
    this.promises.clear();
    this.prepared.clear();
    this.progress = new Map();
    this.pendingConfIndex = 0;
    this.uncommittedBytes = 0;
    this.readBarrier = 0;
    this.reads.clear();
    this.readsUntilBarrier = [];
    this.rounds.reset();
    this.appendNeeded = false;
    this.roundNeeded = false;
  }

  becomeFollower(lead: NodeId | null): void {
    this.resetVolatile();
    this.lead = lead;
    this.role = 'follower';
  }

  /**
   * Adopts a higher ballot (promise or acceptance) owned by `owner`. Like a new term in Raft, it re-randomizes the
   * election timeout: a follower that kept its old draw would keep a timeout biased high (the low draws are the ones
   * that already fired), and failovers would wait for it.
   */
  private adoptBallot(ballot: number, owner: NodeId | null): void {
    this.promised = ballot;
    this.promisedTo = owner;
    this.becomeFollower(null);
  }

  /** The ballot the next campaign will use. */
  private candidateBallot(): number {
    return nextBallot(Math.max(this.promised, this.maxSeenBallot), this.id);
  }

  /** Asks every voter whether it would promise our next ballot; nothing changes anywhere until a quorum would. */
  private preCampaign(): void {
    if (this.role === 'leader' || !this.promotable()) return;
    const ballot = this.candidateBallot();
    this.resetVolatile();
    this.role = 'preCandidate';
    this.preBallot = ballot;
    this.votes.set(this.id, true);
    for (const id of [...this.window().voters].sort()) {
      if (id === this.id) continue;
      this.send(id, 'prePrepare', { ballot, index: this.log.committed });
    }
    if (windowVoteResult(this.window(), this.votes) === 'won') this.campaign(false);
  }

  private handlePrePromise(m: PaxosMessage): void {
    if (m.hint > this.maxSeenBallot) this.maxSeenBallot = m.hint;
    if (this.role !== 'preCandidate' || m.ballot !== this.preBallot || this.votes.has(m.from)) return;
    this.votes.set(m.from, !m.reject);
    const result = windowVoteResult(this.window(), this.votes);
    if (result === 'won') this.campaign(false);
    else if (result === 'lost') this.becomeFollower(null);
  }

  /**
   * Would we promise this prepare? The same checks as a real prepare, without changing anything; and, as Raft's
   * pre-vote prefers up-to-date logs, we prefer proposers that know at least as much to be chosen as we do. That is
   * only a liveness rule (phase 1 itself has none): a member removed while it was away, and still unaware of it,
   * cannot keep raising its ballot with the help of another lagging member. The proposer with the highest commit
   * index among the voters is never refused for it. One exception: a node outside its own applied configuration
   * cannot lead, and when it knows more to be chosen than every voter (it applied the change that removed it, and
   * none of those who stay did), refusing them all would leave the group without a leader forever (simulator seed
   * 7489, Multi-Paxos, 3 nodes). So such a node does not hold a less-informed candidate's commit index against it
   * when that candidate is a voter of the configuration the node applied. A candidate that configuration removed is
   * still refused (seed 344: a removed node campaigning with the help of another removed one).
   */
  private handlePrePrepare(m: PaxosMessage): void {
    const wouldIgnore = this.opts.checkQuorum && this.inLease();
    const filter = this.campaignPolicy.acceptCandidate;
    const voters = this.appliedConf.voters;
    const helpsLessInformed = !voters.includes(this.id) && voters.includes(m.from);
    const grant =
      !wouldIgnore &&
      (filter === null || filter(m.from)) &&
      m.ballot > this.promised &&
      (m.index >= this.log.committed || helpsLessInformed) &&
      m.index + 1 >= this.log.firstIndex() &&
      !this.log.hasPendingSnapshot();
    this.send(m.from, 'prePromise', { ballot: m.ballot, reject: !grant, hint: this.promised });
  }

  /** Phase 1: a new ballot above everything seen, promised to ourselves, then prepares to every voter of the window. */
  private campaign(force: boolean): void {
    if (this.role === 'leader' || !this.promotable()) return;
    const ballot = this.candidateBallot();
    this.resetVolatile();
    this.role = 'candidate';
    this.promised = ballot;
    this.promisedTo = this.id;
    this.forcedCampaign = force;
    this.counters.phase1Rounds++;
    this.votes.set(this.id, true);
    this.promises.set(this.id, { commit: this.log.committed, entries: this.acceptedAfter(this.log.committed) });
    this.prepared.add(this.id);
    this.evaluateCampaign();
  }

  /** Every value this acceptor holds after `index` (the log is contiguous, so entries from index + 1 to the end). */
  private acceptedAfter(index: number): Entry[] {
    const last = this.log.lastIndex();
    if (index + 1 > last) return [];
    return this.log.slice(index + 1, last + 1, Number.MAX_SAFE_INTEGER);
  }

  /** The window a candidate must satisfy: its applied configuration through every membership entry it now knows. */
  private candidateWindow(merged: MergedLog): ConfigWindow {
    const pending: Entry[] = [];
    for (const i of this.pendingConfIndexes) {
      if (i <= this.log.committed) pending.push(this.log.slice(i, i + 1, Number.MAX_SAFE_INTEGER)[0]!);
    }
    const from = this.log.committed + 1;
    merged.values.forEach((v, k) => {
      if (v.type === 'confChange') pending.push({ term: v.fromBallot, index: from + k, type: v.type, data: v.data });
    });
    return buildWindow(this.appliedConf, pending);
  }

  private evaluateCampaign(): void {
    const merged = this.mergePromises();
    const window = this.candidateWindow(merged);
    // Promises may reveal membership changes, and with them voters whose majority we also need: ask them too.
    for (const id of [...window.voters].sort()) {
      if (this.prepared.has(id)) continue;
      this.prepared.add(id);
      this.send(id, 'prepare', { ballot: this.promised, index: this.log.committed, force: this.forcedCampaign });
    }
    const result = windowVoteResult(window, this.votes);
    if (result === 'won') this.becomeLeader(merged);
    else if (result === 'lost') this.becomeFollower(null);
  }

  /** Phase 1's value rule over the promises received (overridable by tests that break it on purpose). */
  protected mergePromises(): MergedLog {
    return mergePromisedValues(
      this.log.committed + 1,
      [...this.promises.values()].map((p) => p.entries),
    );
  }

  private becomeLeader(merged: MergedLog): void {
    const from = this.log.committed + 1;
    const promisedCommits = new Map<NodeId, number>();
    for (const [id, p] of this.promises) promisedCommits.set(id, p.commit);
    this.resetVolatile();
    this.role = 'leader';
    this.lead = this.id;
    const ballot = this.promised;
    const entries: Entry[] = merged.values.map((v, k) => ({
      term: ballot,
      index: from + k,
      type: v.type,
      data: v.data,
    }));
    // Our own no-op: once it is chosen, every instance before it is too, and reads may be served.
    entries.push({ term: ballot, index: from + entries.length, type: 'normal', data: EMPTY });
    for (const v of merged.values) if (v.fromBallot > 0) this.counters.reproposedValues++;
    this.counters.noopFills += merged.gaps;
    this.readBarrier = from + entries.length - 1;
    this.writeLog(entries);
    // Conservatively assume the log holds an unapplied membership change: the next one waits until all applied.
    this.pendingConfIndex = this.log.lastIndex();
    this.syncProgress();
    // An acceptor that promised told us its commit index: its verified prefix for our ballot starts there.
    for (const [id, commit] of promisedCommits) {
      const pr = this.progress.get(id);
      if (pr && id !== this.id) pr.next = Math.min(Math.max(commit, this.log.committed) + 1, this.log.lastIndex() + 1);
    }
    this.appendNeeded = true;
  }

  /** Keeps one Progress per member of the window (leader only); new members start probing at the log's end. */
  private syncProgress(): void {
    const members = this.window().members;
    const voters = this.window().voters;
    for (const id of [...this.progress.keys()]) if (!members.has(id)) this.progress.delete(id);
    for (const id of members) {
      let pr = this.progress.get(id);
      if (!pr) {
        const next = id === this.id ? this.log.lastIndex() + 1 : this.log.committed + 1;
        pr = new Progress(next, !voters.has(id), this.opts.maxInflightMessages, this.opts.maxInflightBytes);
        if (id === this.id) {
          pr.match = this.stableLastIndex();
          pr.becomeReplicate();
          pr.match = this.stableLastIndex();
        }
        this.progress.set(id, pr);
      }
      pr.isLearner = !voters.has(id);
    }
  }

  /** The last index known durable here and still part of the log. */
  private stableLastIndex(): number {
    return Math.min(this.log.storage.lastIndex(), this.log.unstable.offset - 1);
  }

  // ---- messages --------------------------------------------------------------------------------------------------

  private send(to: NodeId, type: PaxosMessageType, fields: PaxosMessageFields): void {
    const m = paxosMessage(this.group, this.id, to, type, { ballot: this.promised, ...fields });
    if (SEND_AFTER_PERSIST.has(type)) this.msgsAfterPersist.push(m);
    else this.msgsNow.push(m);
  }

  /** See ConsensusEngine.reportPeerDown: our leader's process is gone, so take over soon. */
  reportPeerDown(peer: NodeId): void {
    if (this.role === 'leader' || this.lead !== peer) return;
    this.lead = null;
    const soon = 1 + this.opts.random.int(Math.max(1, Math.ceil(this.opts.electionTicks / 2)));
    this.electionElapsed = Math.max(this.electionElapsed, this.randomizedElectionTimeout - soon);
  }

  /** Whether we heard from a leader within an election timeout (or just started): prepares are then ignored. */
  private inLease(): boolean {
    if (this.ticks < this.opts.electionTicks) return true;
    return this.lead !== null && this.electionElapsed < this.opts.electionTicks;
  }

  step(m: PaxosMessage): void {
    const reason = malformedReason(m);
    if (reason !== null || m.group !== this.group || m.to !== this.id || m.from === this.id) {
      this.counters.malformedMessages++;
      return;
    }
    switch (m.type) {
      case 'prePrepare':
        this.handlePrePrepare(m);
        return;
      case 'prePromise':
        this.handlePrePromise(m);
        return;
      case 'prepare':
        this.handlePrepare(m);
        return;
      case 'promise':
        this.handlePromise(m);
        return;
      case 'accept':
      case 'heartbeat':
      case 'snap':
        this.handleLeaderMessage(m);
        return;
      case 'accepted':
      case 'heartbeatResp':
        this.handleAcceptorAnswer(m);
        return;
      case 'timeoutNow':
        // Only the owner of our promised ballot (the leader we follow) may hand leadership over.
        if (m.ballot === this.promised && m.from === this.promisedTo && this.role !== 'leader') this.campaign(true);
        return;
      case 'readIndexResp':
        if (this.role !== 'leader') this.readStates.push({ index: m.index, context: m.context });
        return;
      case 'prop':
        this.handleForwardedProposal(m);
        return;
      case 'readIndex':
        if (this.role === 'leader') this.handleReadRequest(m.from, m.context, m.lease);
        return;
      case 'transferLeader':
        if (this.role === 'leader' && this.appliedConf.voters.includes(m.from) && this.progress.has(m.from)) {
          this.handleTransferLeader(m.from);
        }
        return;
    }
  }

  // ---- phase 1, acceptor side -------------------------------------------------------------------------------------

  /** Paxos's promise rule: only a higher ballot, or the same ballot from its owner (a retransmission). */
  protected canPromise(m: PaxosMessage): boolean {
    return m.ballot > this.promised || (m.ballot === this.promised && this.promisedTo === m.from);
  }

  private handlePrepare(m: PaxosMessage): void {
    const retransmission = m.ballot === this.promised && this.promisedTo === m.from;
    if (!retransmission && !m.force && this.opts.checkQuorum && this.inLease()) {
      // We hear from a live leader: a proposer taking over now is partitioned or disruptive. Leases rely on this.
      return;
    }
    if (!this.canPromise(m)) {
      this.send(m.from, 'promise', { reject: true, index: m.index });
      return;
    }
    const from = m.index + 1;
    const behind = m.index < this.log.committed;
    if (from < this.log.firstIndex() || this.log.hasPendingSnapshot()) {
      // We compacted instances the candidate does not know to be chosen; we cannot report them, so we cannot
      // promise. A node at least as up to date as our snapshot can lead instead.
      this.send(m.from, 'promise', { ballot: m.ballot, reject: true, index: m.index });
      return;
    }
    const entries = this.acceptedAfter(m.index);
    if (behind && entriesSize(entries) > this.opts.maxPromiseBytes) {
      this.send(m.from, 'promise', { ballot: m.ballot, reject: true, index: m.index });
      return;
    }
    if (m.ballot !== this.promised) this.adoptBallot(m.ballot, m.from);
    this.promisedTo = m.from;
    this.electionElapsed = 0;
    this.send(m.from, 'promise', { ballot: m.ballot, index: m.index, commit: this.log.committed, entries });
  }

  // ---- phase 1, proposer side -------------------------------------------------------------------------------------

  private handlePromise(m: PaxosMessage): void {
    if (m.ballot > this.promised) {
      this.maxSeenBallot = Math.max(this.maxSeenBallot, m.ballot);
      if (this.role === 'candidate') this.becomeFollower(null);
      return;
    }
    if (this.role !== 'candidate' || m.ballot !== this.promised || m.index !== this.log.committed) return;
    if (this.votes.has(m.from)) return;
    if (m.reject) {
      this.votes.set(m.from, false);
    } else {
      this.votes.set(m.from, true);
      this.promises.set(m.from, { commit: m.commit, entries: m.entries });
    }
    this.evaluateCampaign();
  }

  // ---- phase 2, acceptor side -------------------------------------------------------------------------------------

  private handleLeaderMessage(m: PaxosMessage): void {
    if (m.ballot < this.promised) {
      // A superseded leader: our answer carries the higher ballot and makes it step down.
      this.send(m.from, m.type === 'heartbeat' ? 'heartbeatResp' : 'accepted', { reject: true, context: m.context });
      return;
    }
    if (m.ballot > this.promised) {
      this.adoptBallot(m.ballot, m.from);
    } else if (this.promisedTo === null) {
      this.promisedTo = m.from;
    } else if (this.promisedTo !== m.from) {
      this.counters.unexpectedLeaderMessages++;
      return;
    }
    if (this.role !== 'follower') this.becomeFollower(m.from);
    this.lead = m.from;
    this.electionElapsed = 0;
    if (this.followedBallot !== m.ballot) {
      // A new leader: only the chosen prefix is known to agree with its log, plus whatever it already sent us.
      this.followedBallot = m.ballot;
      this.matched = this.log.committed;
      this.extendMatched();
    }
    switch (m.type) {
      case 'accept':
        this.handleAccept(m);
        return;
      case 'heartbeat':
        this.log.commitTo(Math.min(m.commit, this.matched));
        this.send(m.from, 'heartbeatResp', { context: m.context, index: this.matched });
        return;
      default:
        this.handleSnapshot(m);
    }
  }

  /** Entries of the followed ballot are the leader's values (one value per instance per ballot). */
  private extendMatched(): void {
    const last = this.log.lastIndex();
    while (this.matched < last && this.log.termOrZero(this.matched + 1) === this.followedBallot) this.matched++;
  }

  private handleAccept(m: PaxosMessage): void {
    if (m.index > this.matched) {
      // A gap (lost or reordered accepts): say where our verified prefix ends; the leader resends from there.
      this.send(m.from, 'accepted', { reject: true, index: m.index, hint: this.matched });
      return;
    }
    const last = m.index + m.entries.length;
    let firstNew = -1;
    for (let k = 0; k < m.entries.length; k++) {
      const e = m.entries[k]!;
      if (e.index <= this.log.committed) continue;
      if (this.log.termOrZero(e.index) !== e.term) {
        firstNew = k;
        break;
      }
    }
    if (firstNew >= 0) {
      const tail =
        last < this.log.lastIndex() ? this.log.slice(last + 1, this.log.lastIndex() + 1, Number.MAX_SAFE_INTEGER) : [];
      // Values accepted after this batch stay: the log is rewritten from the first new value, then the old tail.
      this.writeLog(tail.length > 0 ? m.entries.slice(firstNew).concat(tail) : m.entries.slice(firstNew));
    }
    if (last > this.matched) this.matched = last;
    this.extendMatched();
    this.log.commitTo(Math.min(m.commit, this.matched));
    this.send(m.from, 'accepted', { index: this.matched });
  }

  private handleSnapshot(m: PaxosMessage): void {
    const snapshot = m.snapshot!;
    const index = snapshot.meta.index;
    if (index > this.log.committed) {
      // Keep what we accepted after the snapshot: an acceptor must not forget accepted values.
      const last = this.log.lastIndex();
      const tail =
        index < last
          ? this.log.slice(Math.max(index + 1, this.log.firstIndex()), last + 1, Number.MAX_SAFE_INTEGER)
          : [];
      this.log.restore(snapshot);
      if (index + 1 < this.lowestWriteSinceReady) this.lowestWriteSinceReady = index + 1;
      this.appliedConf = snapshot.meta.confState;
      this.pendingConfIndexes = [];
      this.logVersion++;
      if (tail.length > 0 && tail[0]!.index === index + 1) this.writeLog(tail);
      this.matched = index;
      this.extendMatched();
    }
    this.send(m.from, 'accepted', { index: this.matched });
  }

  // ---- phase 2, leader side ---------------------------------------------------------------------------------------

  private handleAcceptorAnswer(m: PaxosMessage): void {
    if (m.ballot > this.promised) {
      // An acceptor promised a higher ballot: we no longer lead.
      this.maxSeenBallot = Math.max(this.maxSeenBallot, m.ballot);
      if (this.role === 'leader') this.becomeFollower(null);
      return;
    }
    if (this.role !== 'leader' || m.ballot !== this.promised) return;
    const pr = this.progress.get(m.from);
    if (!pr) return;
    pr.recentActive = true;
    if (m.type === 'heartbeatResp') {
      pr.probeSent = false;
      if (pr.state === 'replicate' && pr.inflights.full()) pr.inflights.freeFirstOne();
      if (pr.match < this.log.lastIndex() || m.index < this.log.lastIndex()) this.sendAcceptsTo(m.from, true);
      this.rounds.ack(m.from, m.context);
      this.releaseConfirmedReads();
      return;
    }
    if (m.reject) {
      if (pr.state === 'snapshot') return;
      // Stale: an answer to an accept before the one we probe with, or (pipelining) to one the acceptor has since
      // covered. An acceptor that restarted may know less than it acknowledged (its prefix is volatile): resend.
      if (pr.state === 'probe' && m.index !== pr.next - 1) return;
      if (pr.state === 'replicate' && m.index <= pr.match && m.hint >= pr.match) return;
      pr.becomeProbe();
      pr.next = Math.max(1, Math.min(m.hint + 1, this.log.lastIndex() + 1));
      this.sendAcceptsTo(m.from, false);
      return;
    }
    const wasPaused = pr.isPaused();
    if (!pr.maybeUpdate(m.index)) {
      if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
        pr.becomeProbe();
        pr.becomeReplicate();
        this.sendAcceptsTo(m.from, false);
      }
      return;
    }
    if (pr.state === 'probe') {
      pr.becomeReplicate();
    } else if (pr.state === 'snapshot' && pr.match + 1 >= this.log.firstIndex()) {
      pr.becomeProbe();
      pr.becomeReplicate();
    } else if (pr.state === 'replicate') {
      pr.inflights.freeLE(m.index);
    }
    this.maybeCommit();
    if (wasPaused || pr.state === 'replicate') this.sendAcceptsTo(m.from, false);
    if (m.from === this.leadTransferee && pr.match === this.log.lastIndex()) this.sendTimeoutNow(m.from);
  }

  /** Appends proposals at this ballot; returns the last index, or undefined when over the unchosen-bytes limit. */
  private appendEntries(entries: readonly ProposedEntry[]): number | undefined {
    let size = 0;
    for (const e of entries) size += e.data.length;
    if (this.uncommittedBytes > 0 && this.uncommittedBytes + size > this.opts.maxUncommittedBytes) return undefined;
    const first = this.log.lastIndex() + 1;
    this.writeLog(entries.map((e, i) => ({ term: this.promised, index: first + i, type: e.type, data: e.data })));
    this.uncommittedBytes += size;
    this.appendNeeded = true;
    return first + entries.length - 1;
  }

  private handleForwardedProposal(m: PaxosMessage): void {
    if (this.role !== 'leader') {
      if (this.role === 'follower' && this.lead !== null && !this.opts.disableProposalForwarding) {
        this.send(this.lead, 'prop', { entries: m.entries });
      } else {
        this.counters.droppedProposals++;
      }
      return;
    }
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
    const self = this.progress.get(this.id);
    if (self?.maybeUpdate(index)) this.maybeCommit();
  }

  /**
   * An instance is chosen once a majority of every configuration of the window accepted it in this ballot. Every
   * instance after the commit index at takeover holds a value of this ballot, and every acceptor's acknowledged
   * prefix holds chosen values or ours, so the quorum's common prefix is chosen.
   */
  protected quorumChosenIndex(): number {
    return windowQuorumMin(this.window(), (id) => this.progress.get(id)?.match ?? 0);
  }

  private maybeCommit(): void {
    const index = Math.min(this.quorumChosenIndex(), this.log.lastIndex());
    if (!Number.isFinite(index) || index <= this.log.committed) return;
    this.log.commitTo(index);
    if (this.readsUntilBarrier.length > 0 && this.log.committed >= this.readBarrier) {
      const waiting = this.readsUntilBarrier;
      this.readsUntilBarrier = [];
      for (const r of waiting) this.handleReadRequest(r.from, r.context, r.lease);
    }
  }

  private bcastAccept(sendIfEmpty: boolean): void {
    for (const id of this.progress.keys()) {
      if (id === this.id) continue;
      this.sendAcceptsTo(id, sendIfEmpty);
    }
  }

  private sendAcceptsTo(to: NodeId, sendIfEmpty: boolean): void {
    if (!this.sendAccept(to, sendIfEmpty)) return;
    const pr = this.progress.get(to)!;
    while (pr.state === 'replicate' && this.sendAccept(to, false)) {
      // keep filling the pipeline
    }
  }

  private sendAccept(to: NodeId, sendIfEmpty: boolean): boolean {
    const pr = this.progress.get(to);
    if (!pr || pr.isPaused()) return false;
    const lastIndex = this.log.lastIndex();
    if (pr.next > lastIndex + 1) pr.next = lastIndex + 1;
    if (pr.next < this.log.firstIndex()) return this.sendSnapshot(to, pr);
    let entries: Entry[];
    try {
      entries = this.log.entriesFrom(pr.next, this.opts.maxMessageBytes);
    } catch (error) {
      if (error instanceof LogCompactedError) return this.sendSnapshot(to, pr);
      throw error;
    }
    if (entries.length === 0 && !sendIfEmpty && pr.state !== 'probe') return false;
    const prev = pr.next - 1;
    this.send(to, 'accept', { index: prev, entries, commit: this.log.committed });
    pr.sentCommit(this.log.committed);
    const last = entries.length > 0 ? entries[entries.length - 1]!.index : prev;
    pr.sentEntries(entries.length, entriesSize(entries), last);
    return true;
  }

  private sendSnapshot(to: NodeId, pr: Progress): boolean {
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

  private bcastHeartbeat(): void {
    const round = this.rounds.start(this.ticks);
    this.roundNeeded = false;
    for (const [id, pr] of this.progress) {
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
    this.electionElapsed = 0;
    this.leadTransferee = target;
    const pr = this.progress.get(target)!;
    if (pr.match === this.log.lastIndex()) this.sendTimeoutNow(target);
    else this.sendAcceptsTo(target, true);
  }

  private sendTimeoutNow(to: NodeId): void {
    this.transferAttemptedInBallot = true;
    this.send(to, 'timeoutNow', {});
  }

  // ---- linearizable reads ---------------------------------------------------------------------------------------

  private handleReadRequest(from: NodeId, context: number, lease: boolean): boolean {
    if (this.log.committed < this.readBarrier) {
      // Until our own no-op is chosen, a value chosen under an earlier ballot may lie above our commit index.
      if (this.readsUntilBarrier.length >= MAX_PENDING_READS) return false;
      this.readsUntilBarrier.push({ from, context, lease });
      return true;
    }
    if (isSoleVoter(this.window(), this.id) || (lease && this.leaseValid())) {
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

  private quorumRound(): number {
    const r = windowQuorumMin(this.window(), (id) => this.rounds.ackedBy(id, this.id));
    return Number.isFinite(r) ? r : this.rounds.current;
  }

  private releaseConfirmedReads(): void {
    const round = this.quorumRound();
    for (const r of this.reads.releaseUpTo(round)) this.respondRead(r.from, r.context, r.index);
  }

  /**
   * Whether the leader may serve a read without a round trip: a quorum answered a heartbeat sent less than
   * `leaseTicks` ago, and each of them ignores prepares for an election timeout after receiving it, so no other
   * proposer can complete phase 1 (let alone choose a value) before the lease ends.
   */
  protected leaseValid(): boolean {
    if (this.opts.leaseTicks === 0 || this.leadTransferee !== null || this.transferAttemptedInBallot) return false;
    const round = this.quorumRound();
    const sentAt = this.rounds.sentTick(round);
    if (sentAt === undefined) return false;
    this.rounds.prune(round);
    return this.ticks < sentAt + this.opts.leaseTicks;
  }

  // ---- applying -------------------------------------------------------------------------------------------------

  /** The driver applied `applied` (in order): membership entries take effect, the window moves on. */
  onApplied(applied: readonly Entry[]): void {
    let confChanged = false;
    for (const e of applied) {
      if (e.type !== 'confChange') continue;
      this.appliedConf = applyMembershipEntry(this.appliedConf, e);
      confChanged = true;
    }
    const appliedIndex = applied[applied.length - 1]?.index ?? this.log.applied;
    this.pendingConfIndexes = this.pendingConfIndexes.filter((i) => i > appliedIndex);
    if (confChanged) this.logVersion++;
    if (this.role !== 'leader') return;
    this.uncommittedBytes = Math.max(0, this.uncommittedBytes - payloadBytes(applied));
    if (!confChanged) return;
    if (!this.appliedConf.voters.includes(this.id)) {
      // Removed (or demoted): hand leadership to the most caught-up voter rather than wait for a timeout.
      let best: NodeId | null = null;
      let bestMatch = -1;
      for (const id of [...this.appliedConf.voters].sort()) {
        const match = this.progress.get(id)?.match ?? 0;
        if (match > bestMatch) {
          best = id;
          bestMatch = match;
        }
      }
      if (best !== null) this.sendTimeoutNow(best);
      this.becomeFollower(null);
      return;
    }
    this.syncProgress();
    if (this.leadTransferee !== null && !this.appliedConf.voters.includes(this.leadTransferee)) {
      this.leadTransferee = null;
    }
    this.maybeCommit();
    this.releaseConfirmedReads();
    this.appendNeeded = true;
  }

  describe(): string {
    return `${this.id} ${this.role} ballot ${formatBallot(this.promised)} commit ${this.log.committed}`;
  }
}

function payloadBytes(entries: readonly Entry[]): number {
  let size = 0;
  for (const e of entries) size += e.data.length;
  return size;
}
