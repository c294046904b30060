import type {
  ConfChange,
  ConsensusEngine,
  EngineStatus,
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
 * The Ready/advance face of a Raft engine (etcd-io/raft's RawNode). At most one Ready is outstanding: after
 * `ready()` the driver does its I/O and calls `advance()` before asking again; `hasReady()` is false meanwhile.
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

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const r = this.raft;
    const soft = r.softState();
    return (
      r.hasDeferredWork() ||
      r.msgsNow.length > 0 ||
      r.msgsAfterPersist.length > 0 ||
      r.readStates.length > 0 ||
      r.log.unstable.entries.length > 0 ||
      r.log.hasPendingSnapshot() ||
      r.log.hasNextCommittedEntries() ||
      !sameHardState(r.hardState(), this.prevHardState) ||
      soft.leader !== this.prevSoftState.leader ||
      soft.role !== this.prevSoftState.role
    );
  }

  ready(): Ready<RaftMessage> {
    if (this.outstanding !== null) throw new Error('raft: ready() called before advance() of the previous Ready');
    const r = this.raft;
    r.flushDeferred();
    const hardState = r.hardState();
    const soft = r.softState();
    const entries = r.log.unstableEntries().slice();
    const snapshot = r.log.unstable.snapshot;
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
    this.outstanding = ready;
    return ready;
  }

  advance(ready: Ready<RaftMessage>): void {
    if (ready !== this.outstanding) throw new Error('raft: advance() with a Ready that is not the outstanding one');
    this.outstanding = null;
    const r = this.raft;
    if (ready.hardState) this.prevHardState = ready.hardState;
    if (ready.softState) this.prevSoftState = ready.softState;
    if (ready.snapshot) {
      r.log.unstable.stableSnapTo(ready.snapshot.meta.index);
      if (ready.snapshot.meta.index > r.log.applied) r.log.applied = ready.snapshot.meta.index;
    }
    const last = ready.entries[ready.entries.length - 1];
    if (last) {
      r.log.unstable.stableTo(last.index, last.term);
      r.onPersisted(last.index, last.term);
    }
    const applied = ready.committedEntries;
    if (applied.length > 0) {
      for (const e of applied) if (e.type === 'confChange') r.applyConfChangeEntry(e);
      r.log.appliedTo(applied[applied.length - 1]!.index);
      r.onApplied(applied);
    }
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
