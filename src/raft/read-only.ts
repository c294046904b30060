import type { NodeId } from '../consensus/types.js';

/** A linearizable read waiting for the leader to confirm, by a quorum round, that it still leads. */
export interface PendingRead {
  /** Who asked: this node (served through Ready.readStates) or a follower (answered with readIndexResp). */
  readonly from: NodeId;
  readonly context: number;
  /** The commit index when the read arrived: the read is served from state at least this new. */
  readonly index: number;
  /** The heartbeat round whose quorum acknowledgement proves leadership after the read arrived. */
  readonly round: number;
}

/**
 * ReadIndex bookkeeping (Raft thesis §6.4). Reads arriving in one event-loop turn share one heartbeat round, and
 * an acknowledgement of a later round also confirms earlier ones, so reads are released in arrival order.
 */
export class ReadIndexQueue {
  private queue: PendingRead[] = [];

  constructor(private readonly maxPending: number) {}

  get length(): number {
    return this.queue.length;
  }

  /** Returns false when the queue is full (the read is refused rather than queued without bound). */
  add(read: PendingRead): boolean {
    if (this.queue.length >= this.maxPending) return false;
    this.queue.push(read);
    return true;
  }

  /** Removes and returns every read whose round is <= `round`. */
  releaseUpTo(round: number): PendingRead[] {
    let n = 0;
    while (n < this.queue.length && this.queue[n]!.round <= round) n++;
    if (n === 0) return [];
    const released = this.queue.slice(0, n);
    this.queue = this.queue.slice(n);
    return released;
  }

  clear(): void {
    this.queue = [];
  }
}
