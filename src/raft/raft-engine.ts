import type {
  CampaignPolicy,
  ConfChange,
  ConsensusEngine,
  EngineStatus,
  Entry,
  HardState,
  NodeId,
  PeerProgress,
  ProposeResult,
  ReadOptions,
  Ready,
  SoftState,
} from '../consensus/types.js';
import type { RaftMessage } from './messages.js';
import type { RaftOptions } from './options.js';
import { Raft } from './raft.js';

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * The Ready/advance face of a Raft engine (etcd-io/raft's RawNode). A synchronous driver takes a Ready, does its
 * I/O and calls `advance()` before asking again. An asynchronous driver calls `accept()` right after taking a
 * Ready (and may take the next one at once), `persisted()` as each Ready's write becomes durable (in order), and
 * `applied()` after applying committed entries. `hasReady()` is false while a Ready is neither advanced nor
 * accepted. Committed entries are handed out only once durable here, so they may always be applied at once.
 */
export class RaftEngine implements ConsensusEngine<RaftMessage> {
  readonly raft: Raft;
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private outstanding: Ready<RaftMessage> | null = null;

  constructor(options: RaftOptions | Raft) {
    this.raft = options instanceof Raft ? options : new Raft(options);
    this.prevHardState = this.raft.hardState();
    this.prevSoftState = this.raft.softState();
  }

  get id(): NodeId {
    return this.raft.id;
  }

  get group(): number {
    return this.raft.group;
  }

  tick(): void {
    this.raft.tick();
  }

  step(message: RaftMessage): void {
    this.raft.step(message);
  }

  propose(data: Uint8Array): ProposeResult {
    const placed = this.raft.propose(data);
    return placed ? { forwarded: false, ...placed } : { forwarded: true };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const placed = this.raft.proposeConfChange(change);
    return placed ? { forwarded: false, ...placed } : { forwarded: true };
  }

  readIndex(context: number, options?: ReadOptions): void {
    this.raft.readIndex(context, options?.mode === 'lease');
  }

  transferLeadership(to: NodeId): void {
    this.raft.transferLeadership(to);
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    this.raft.reportSnapshot(to, ok);
  }

  reportUnreachable(to: NodeId): void {
    this.raft.reportUnreachable(to);
  }

  reportPeerDown(peer: NodeId): void {
    this.raft.reportPeerDown(peer);
  }

  setCampaignPolicy(policy: CampaignPolicy): void {
    this.raft.campaignPolicy = policy;
  }

  hasUnannouncedCommit(): boolean {
    return this.raft.hasUnannouncedCommit();
  }

  announceCommit(): void {
    this.raft.announceCommit();
  }

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const r = this.raft;
    const soft = r.softState();
    return (
      r.hasDeferredWork() ||
      r.msgsNow.length > 0 ||
      r.msgsAfterPersist.length > 0 ||
      r.readStates.length > 0 ||
      r.log.unstable.hasNextEntries() ||
      r.log.unstable.nextSnapshot() !== null ||
      r.log.hasNextCommittedEntries() ||
      !sameHardState(r.hardState(), this.prevHardState) ||
      soft.leader !== this.prevSoftState.leader ||
      soft.role !== this.prevSoftState.role
    );
  }

  ready(): Ready<RaftMessage> {
    if (this.outstanding !== null) throw new Error('raft: ready() called before the previous Ready was accepted');
    const r = this.raft;
    r.flushDeferred();
    const hardState = r.hardState();
    const soft = r.softState();
    const entries = r.log.unstable.nextEntries();
    const snapshot = r.log.unstable.nextSnapshot();
    const hardChanged = !sameHardState(hardState, this.prevHardState);
    const ready: Ready<RaftMessage> = {
      hardState: hardChanged ? hardState : null,
      entries,
      snapshot,
      sendNow: r.msgsNow,
      sendAfterPersist: r.msgsAfterPersist,
      committedEntries: r.log.nextCommittedEntries(),
      readStates: r.readStates,
      softState: soft.leader !== this.prevSoftState.leader || soft.role !== this.prevSoftState.role ? soft : null,
      mustSync:
        entries.length > 0 ||
        snapshot !== null ||
        hardState.term !== this.prevHardState.term ||
        hardState.vote !== this.prevHardState.vote,
    };
    r.msgsNow = [];
    r.msgsAfterPersist = [];
    r.readStates = [];
    // Handed out now: a message stepped before accept()/advance() that replaces some of these entries must see
    // them as in progress, so that the replacements are handed out again (etcd's RawNode accepts in Ready()).
    if (ready.hardState) this.prevHardState = ready.hardState;
    if (ready.softState) this.prevSoftState = ready.softState;
    const last = entries[entries.length - 1];
    r.log.unstable.acceptInProgress(last ? last.index : -1, snapshot !== null);
    const lastApplying = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplying && lastApplying.index > r.log.applying) r.log.applying = lastApplying.index;
    this.outstanding = ready;
    return ready;
  }

  /**
   * Synchronous driving: the driver persisted, sent and applied everything in `ready`. The same as `accept`, then
   * `persisted`, then `applied`.
   */
  advance(ready: Ready<RaftMessage>): void {
    this.accept(ready);
    this.persisted(ready);
    this.applied(ready.committedEntries);
  }

  /**
   * Asynchronous storage writes (etcd's AsyncStorageWrites): the driver took `ready` — it sent `sendNow`, started
   * persisting, and holds `sendAfterPersist` until then. The next Ready may be taken at once; its entries and
   * committed entries continue where this one's end. Call `persisted` when the write is durable (in order).
   */
  accept(ready: Ready<RaftMessage>): void {
    if (ready !== this.outstanding) throw new Error('raft: accept() of a Ready that is not the outstanding one');
    this.outstanding = null;
  }

  /** The snapshot, entries and hard state of an accepted Ready are durable. */
  persisted(ready: Ready<RaftMessage>): void {
    const r = this.raft;
    if (ready.snapshot) {
      r.log.unstable.stableSnapTo(ready.snapshot.meta.index);
      // The driver restored the state machine from the snapshot as it installed it.
      if (ready.snapshot.meta.index > r.log.applied) r.log.applied = ready.snapshot.meta.index;
      if (ready.snapshot.meta.index > r.log.applying) r.log.applying = ready.snapshot.meta.index;
    }
    const last = ready.entries[ready.entries.length - 1];
    if (last) {
      r.log.unstable.stableTo(last.index, last.term);
      r.onPersisted(last.index, last.term);
    }
  }

  /** The driver applied these committed entries (from accepted Readys, in order). */
  applied(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const r = this.raft;
    for (const e of entries) if (e.type === 'confChange') r.applyConfChangeEntry(e);
    r.log.appliedTo(entries[entries.length - 1]!.index);
    r.onApplied(entries);
  }

  termAt(index: number): number | undefined {
    const t = this.raft.log.termOrZero(index);
    return t === 0 ? undefined : t;
  }

  status(): EngineStatus {
    const r = this.raft;
    const progress: PeerProgress[] = [];
    if (r.role === 'leader') {
      for (const [id, pr] of r.tracker.progress) {
        progress.push({
          id,
          match: pr.match,
          next: pr.next,
          state: pr.state,
          isLearner: pr.isLearner,
          recentActive: pr.recentActive,
        });
      }
      progress.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    }
    return {
      id: r.id,
      group: r.group,
      term: r.term,
      vote: r.vote,
      role: r.role,
      leader: r.lead,
      commit: r.log.committed,
      applied: r.log.applied,
      lastIndex: r.log.lastIndex(),
      confState: r.tracker.confState(),
      progress,
      leadTransferee: r.leadTransferee,
    };
  }
}
