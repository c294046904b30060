import type { NodeId } from '../consensus/types.js';

/**
 * The leader's numbered heartbeat rounds. Acceptors echo the number back; an answer means "I had promised no higher
 * ballot when I answered". The highest round a quorum answered therefore proves that no other proposer could have
 * finished phase 1 before that round was sent: it releases waiting reads and starts the leader's lease.
 */
export class ReadRounds {
  /** The last round started. */
  current = 0;
  private readonly acked = new Map<NodeId, number>();
  /** The first round started at each tick, oldest first; a round's send tick is that of the last start <= it. */
  private starts: { round: number; tick: number }[] = [];

  constructor(private readonly maxTrackedTicks: number) {}

  start(tick: number): number {
    this.current++;
    const last = this.starts[this.starts.length - 1];
    if (!last || last.tick !== tick) {
      this.starts.push({ round: this.current, tick });
      // Forgetting the oldest start only shortens a lease (its lookup then fails), never extends it.
      if (this.starts.length > this.maxTrackedTicks) this.starts.shift();
    }
    return this.current;
  }

  ack(id: NodeId, round: number): void {
    if (round > this.current) return;
    if ((this.acked.get(id) ?? 0) < round) this.acked.set(id, round);
  }

  /** The round `id` acknowledged last (the leader itself counts as acknowledging every round). */
  ackedBy(id: NodeId, self: NodeId): number {
    return id === self ? this.current : (this.acked.get(id) ?? 0);
  }

  /** The tick at which `round` was sent, or undefined when no longer known. */
  sentTick(round: number): number | undefined {
    let tick: number | undefined;
    for (const s of this.starts) {
      if (s.round > round) break;
      tick = s.tick;
    }
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
