import { Inflights } from './inflights.js';

/**
 * What a leader knows of one follower's log (Raft §5.3, and etcd-io/raft's tracker.Progress).
 *
 * - `probe`: the leader does not know where the follower's log ends; it sends one append at a time (per heartbeat)
 *   and backs off on rejections until it finds the match point.
 * - `replicate`: the follower is known to match; appends are pipelined optimistically, bounded by `inflights`.
 * - `snapshot`: the follower needs a snapshot; nothing else is sent until it is installed or reported failed.
 */
export type ProgressState = 'probe' | 'replicate' | 'snapshot';

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = 'probe';
  /** Index of the snapshot being sent while in `snapshot` state. */
  pendingSnapshot = 0;
  /** Heard from since the last check-quorum round. */
  recentActive = false;
  /** In `probe` state: an append was sent and we wait for its answer (or the next heartbeat) before the next. */
  probeSent = false;
  isLearner: boolean;
  readonly inflights: Inflights;
  /**
   * The highest commit index this leader has told the follower (in an append or a heartbeat). The leader does
   * not send a message only to announce a new commit index: the next append carries it, and the driver calls
   * `announceCommit` when none followed soon enough (see docs/raft.md, "Commit announcements").
   */
  commitSent = 0;

  constructor(next: number, isLearner: boolean, maxInflightMessages: number, maxInflightBytes: number) {
    this.next = next;
    this.isLearner = isLearner;
    this.inflights = new Inflights(maxInflightMessages, maxInflightBytes);
  }

  private resetState(state: ProgressState): void {
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.state = state;
    this.inflights.reset();
  }

  becomeProbe(): void {
    // After a snapshot, the follower has at least the snapshot's entries: probe right after them.
    if (this.state === 'snapshot') {
      const pending = this.pendingSnapshot;
      this.resetState('probe');
      this.next = Math.max(this.match + 1, pending + 1);
    } else {
      this.resetState('probe');
      this.next = this.match + 1;
    }
  }

  becomeReplicate(): void {
    this.resetState('replicate');
    this.next = this.match + 1;
  }

  becomeSnapshot(snapshotIndex: number): void {
    this.resetState('snapshot');
    this.pendingSnapshot = snapshotIndex;
  }

  /** An acknowledgement up to `index`; returns false when it is stale (brings nothing new). */
  maybeUpdate(index: number): boolean {
    let updated = false;
    if (this.match < index) {
      this.match = index;
      updated = true;
      this.probeSent = false;
    }
    this.next = Math.max(this.next, index + 1);
    return updated;
  }

  /** Records an append just sent with `entries` entries totalling `bytes`, ending at `lastIndex`. */
  sentEntries(entries: number, bytes: number, lastIndex: number): void {
    if (this.state === 'replicate') {
      if (entries > 0) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else if (this.state === 'probe') {
      this.probeSent = true;
    }
  }

  /**
   * A rejection of the append whose previous index was `rejected`; `matchHint` is the highest index that may
   * match (from the follower's hint). Returns false when the rejection is stale.
   */
  maybeDecrTo(rejected: number, matchHint: number): boolean {
    if (this.state === 'replicate') {
      // Stale if we already know the follower matches at or past the rejected index.
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    // In probe state only the answer to the probe we sent (at next - 1) counts.
    if (this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, matchHint + 1), 1);
    this.probeSent = false;
    return true;
  }

  /** Records that a message carrying commit index `commit` was sent to the follower. */
  sentCommit(commit: number): void {
    if (commit > this.commitSent) this.commitSent = commit;
  }

  /**
   * Whether the follower holds entries committed (up to `committed`) that it has not been told are committed, and
   * an empty append could tell it now. A follower that lags (its match is below the commit index) learns the
   * commit index with the entries it still needs; a paused one with the next heartbeat.
   */
  awaitsCommit(committed: number): boolean {
    return !this.isPaused() && Math.min(this.match, committed) > this.commitSent;
  }

  /** Whether the leader must hold back appends to this follower for now. */
  isPaused(): boolean {
    switch (this.state) {
      case 'probe':
        return this.probeSent;
      case 'replicate':
        return this.inflights.full();
      case 'snapshot':
        return true;
    }
  }
}
