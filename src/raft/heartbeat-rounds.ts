import type { NodeId } from '../consensus/types.js';
import type { ProgressTracker } from './tracker.js';

/**
 * The leader's heartbeat rounds: each broadcast is numbered and followers echo the number back. The highest
 * round a quorum acknowledged proves leadership as of when it was sent — which releases ReadIndex reads and
 * starts the leader's lease (a follower that acknowledged refuses votes for an election timeout after that).
 * Multi-Paxos uses the same rounds: an acceptor's answer means it had promised no higher ballot when it answered,
 * so no other proposer could have finished phase 1 before the round a quorum answered.
 */
export class HeartbeatRounds {
  /** The last round started. */
  current = 0;
  private readonly acked = new Map<NodeId, number>();
  /** The first round started at each tick, oldest first; a round's send tick is that of the last entry <= it. */
  private starts: { round: number; tick: number }[] = [];

  constructor(private readonly maxTrackedTicks: number) {}

  start(tick: number): number {
    this.current++;
    const last = this.starts[this.starts.length - 1];
    if (!last || last.tick !== tick) {
      this.starts.push({ round: this.current, tick });
      // Forgetting the oldest start only shortens a lease (the lookup then fails), never extends it.
      if (this.starts.length > this.maxTrackedTicks) this.starts.shift();
    }
    return this.current;
  }

  ack(id: NodeId, round: number): void {
    if (round > this.current) return;
    if ((this.acked.get(id) ?? 0) < round) this.acked.set(id, round);
  }

  /** The round `id` acknowledged last (this node counts as acknowledging every round). */
  ackedBy(id: NodeId, self: NodeId): number {
    return id === self ? this.current : (this.acked.get(id) ?? 0);
  }

  /** The highest round acknowledged by a quorum of the tracker's configuration. */
  quorumRound(tracker: ProgressTracker, self: NodeId): number {
    const r = tracker.quorumMin((id) => this.ackedBy(id, self));
    return Number.isFinite(r) ? r : this.current;
  }

  /** The tick at which `round` was sent, or undefined when no longer known. */
  sentTick(round: number): number | undefined {
    let tick: number | undefined;
    for (const s of this.starts) {
      if (s.round > round) break;
      tick = s.tick;
    }
    // Undefined too when the round is older than the oldest start kept.
    return tick;
  }

  /** Forget send ticks of rounds older than `round` (they can no longer matter). */
  prune(round: number): void {
    let n = 0;
    while (n + 1 < this.starts.length && this.starts[n + 1]!.round <= round) n++;
    if (n > 0) this.starts = this.starts.slice(n);
  }

  reset(): void {
    this.current = 0;
    this.acked.clear();
    this.starts = [];
  }
}
