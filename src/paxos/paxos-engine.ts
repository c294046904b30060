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
import type { PaxosMessage } from './messages.js';
import type { PaxosOptions } from './options.js';
import { Paxos } from './paxos.js';

function sameHardState(a: HardState, b: HardState): boolean {
  return a.term === b.term && a.vote === b.vote && a.commit === b.commit;
}

/**
 * The Ready/advance face of a Multi-Paxos engine: the same contract as RaftEngine, so the node, the simulator and
 * the torture harness drive either one. At most one Ready is outstanding.
 */
export class PaxosEngine implements ConsensusEngine<PaxosMessage> {
  readonly paxos: Paxos;
  private prevHardState: HardState;
  private prevSoftState: SoftState;
  private outstanding: Ready<PaxosMessage> | null = null;

  constructor(options: PaxosOptions | Paxos) {
    this.paxos = options instanceof Paxos ? options : new Paxos(options);
    this.prevHardState = this.paxos.hardState();
    this.prevSoftState = this.paxos.softState();
  }

  get id(): NodeId {
    return this.paxos.id;
  }

  get group(): number {
    return this.paxos.group;
  }

  tick(): void {
    this.paxos.tick();
  }

  step(message: PaxosMessage): void {
    this.paxos.step(message);
  }

  propose(data: Uint8Array): ProposeResult {
    const placed = this.paxos.propose(data);
    return placed ? { forwarded: false, ...placed } : { forwarded: true };
  }

  proposeConfChange(change: ConfChange): ProposeResult {
    const placed = this.paxos.proposeConfChange(change);
    return placed ? { forwarded: false, ...placed } : { forwarded: true };
  }

  readIndex(context: number, options?: ReadOptions): void {
    this.paxos.readIndex(context, options?.mode === 'lease');
  }

  transferLeadership(to: NodeId): void {
    this.paxos.transferLeadership(to);
  }

  reportSnapshot(to: NodeId, ok: boolean): void {
    this.paxos.reportSnapshot(to, ok);
  }

  reportUnreachable(to: NodeId): void {
    this.paxos.reportUnreachable(to);
  }

  hasUnannouncedCommit(): boolean {
    return this.paxos.hasUnannouncedCommit();
  }

  announceCommit(): void {
    this.paxos.announceCommit();
  }

  hasReady(): boolean {
    if (this.outstanding !== null) return false;
    const p = this.paxos;
    const soft = p.softState();
    return (
      p.hasDeferredWork() ||
      p.msgsNow.length > 0 ||
      p.msgsAfterPersist.length > 0 ||
      p.readStates.length > 0 ||
      p.log.unstable.hasNextEntries() ||
      p.log.unstable.nextSnapshot() !== null ||
      p.log.hasNextCommittedEntries() ||
      !sameHardState(p.hardState(), this.prevHardState) ||
      soft.leader !== this.prevSoftState.leader ||
      soft.role !== this.prevSoftState.role
    );
  }

  /**
   * Writes since each in-flight Ready was taken: an acceptor may rewrite entries below the last one it handed out
   * (Paxos has no log matching: the same index and ballot elsewhere says nothing about earlier entries), so a
   * Ready's write counts as durable only below the lowest index rewritten since that Ready was taken.
   */
  private readonly writesSince = new Map<Ready<PaxosMessage>, { lowest: number }>();

  private foldWrites(): void {
    const w = this.paxos.lowestWriteSinceReady;
    if (w === Number.POSITIVE_INFINITY) return;
    for (const t of this.writesSince.values()) if (w < t.lowest) t.lowest = w;
    this.paxos.lowestWriteSinceReady = Number.POSITIVE_INFINITY;
  }

  ready(): Ready<PaxosMessage> {
    if (this.outstanding !== null) throw new Error('paxos: ready() called before the previous Ready was accepted');
    const p = this.paxos;
    p.flushDeferred();
    this.foldWrites();
    const hardState = p.hardState();
    const soft = p.softState();
    const entries = p.log.unstable.nextEntries();
    const snapshot = p.log.unstable.nextSnapshot();
    const ready: Ready<PaxosMessage> = {
      hardState: sameHardState(hardState, this.prevHardState) ? null : hardState,
      entries,
      snapshot,
      sendNow: p.msgsNow,
      sendAfterPersist: p.msgsAfterPersist,
      committedEntries: p.log.nextCommittedEntries(),
      readStates: p.readStates,
      softState: soft.leader !== this.prevSoftState.leader || soft.role !== this.prevSoftState.role ? soft : null,
      mustSync:
        entries.length > 0 ||
        snapshot !== null ||
        hardState.term !== this.prevHardState.term ||
        hardState.vote !== this.prevHardState.vote,
    };
    p.msgsNow = [];
    p.msgsAfterPersist = [];
    p.readStates = [];
    // Handed out now (as RaftEngine does): a rewrite before accept() must be handed out again.
    if (ready.hardState) this.prevHardState = ready.hardState;
    if (ready.softState) this.prevSoftState = ready.softState;
    const last = entries[entries.length - 1];
    p.log.unstable.acceptInProgress(last ? last.index : -1, snapshot !== null);
    const lastApplying = ready.committedEntries[ready.committedEntries.length - 1];
    if (lastApplying && lastApplying.index > p.log.applying) p.log.applying = lastApplying.index;
    this.writesSince.set(ready, { lowest: Number.POSITIVE_INFINITY });
    this.outstanding = ready;
    return ready;
  }

  advance(ready: Ready<PaxosMessage>): void {
    this.accept(ready);
    this.persisted(ready);
    this.applied(ready.committedEntries);
  }

  accept(ready: Ready<PaxosMessage>): void {
    if (ready !== this.outstanding) throw new Error('paxos: accept() of a Ready that is not the outstanding one');
    this.outstanding = null;
  }

  persisted(ready: Ready<PaxosMessage>): void {
    const p = this.paxos;
    this.foldWrites();
    const lowest = this.writesSince.get(ready)?.lowest ?? Number.POSITIVE_INFINITY;
    this.writesSince.delete(ready);
    if (ready.snapshot) {
      p.log.unstable.stableSnapTo(ready.snapshot.meta.index);
      if (ready.snapshot.meta.index > p.log.applied) p.log.applied = ready.snapshot.meta.index;
      if (ready.snapshot.meta.index > p.log.applying) p.log.applying = ready.snapshot.meta.index;
    }
    if (ready.entries.length > 0) {
      // Entries rewritten since ready() stay unstable (a later Ready persists them again).
      const first = ready.entries[0]!.index;
      const stableIndex = Math.min(ready.entries[ready.entries.length - 1]!.index, lowest - 1);
      if (stableIndex >= first) {
        const term = ready.entries[stableIndex - first]!.term;
        p.log.unstable.stableTo(stableIndex, term);
        p.onPersisted(stableIndex, term);
      }
    }
  }

  applied(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    const p = this.paxos;
    p.log.appliedTo(entries[entries.length - 1]!.index);
    p.onApplied(entries);
  }

  reportPeerDown(peer: NodeId): void {
    this.paxos.reportPeerDown(peer);
  }

  setCampaignPolicy(policy: CampaignPolicy): void {
    this.paxos.campaignPolicy = policy;
  }

  termAt(index: number): number | undefined {
    const t = this.paxos.log.termOrZero(index);
    return t === 0 ? undefined : t;
  }

  /** The entry at `index` in this engine's log (stable or not), or undefined: for checkers, not the data path. */
  entryAt(index: number): Entry | undefined {
    const log = this.paxos.log;
    if (index < log.firstIndex() || index > log.lastIndex()) return undefined;
    return log.slice(index, index + 1, Number.MAX_SAFE_INTEGER)[0];
  }

  status(): EngineStatus {
    const p = this.paxos;
    const progress: PeerProgress[] = [];
    if (p.role === 'leader') {
      for (const [id, pr] of p.progress) {
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
      id: p.id,
      group: p.group,
      term: p.promised,
      vote: p.promisedTo,
      role: p.role,
      leader: p.lead,
      commit: p.log.committed,
      applied: p.log.applied,
      lastIndex: p.log.lastIndex(),
      confState: p.appliedConf,
      progress,
      leadTransferee: p.leadTransferee,
    };
  }
}
