/**
 * End-of-turn flushing shared by the process's buffered writers: the lean HTTP/2 server's connections and the
 * peer transport's links queue what one event-loop turn produces and write it in one syscall per socket, from
 * one `setImmediate` (so a whole burst of socket reads and timers is coalesced, not only one callback's output).
 *
 * Why one shared queue and not one `setImmediate` per writer: immediates run in the order they were scheduled,
 * and when a write commits, the Raft leader may schedule its peer flush (then commit-index updates to the
 * followers; now the messages of the same turn's other work) before the client's response exists. With separate immediates the response waited behind two peer socket
 * writes — on loopback in a VM each costs the sender tens of microseconds, because it also runs the receiver's
 * TCP processing and wake-up — which was ~0.15 ms of a put's 1.1 ms at 1 request in flight. Here every
 * response flush of the turn runs first, then the peer flushes: a client waits for nothing it does not need,
 * and appends carrying new entries still leave in the same turn as before.
 */
export type FlushOrder = 'responses' | 'peers';

export class TurnFlush {
  private responses: (() => void)[] = [];
  private peers: (() => void)[] = [];
  private scheduled = false;

  /** `defer` runs the flush at the end of the turn: setImmediate (tests pass their own). */
  constructor(private readonly defer: (run: () => void) => void = setImmediate) {}

  /**
   * Runs `flush` once at the end of this turn, responses before peers, each group in the order scheduled. The
   * caller schedules once per turn (it keeps its own "already scheduled" flag). A flush scheduled while the
   * flushes run goes to the next turn.
   */
  schedule(order: FlushOrder, flush: () => void): void {
    (order === 'responses' ? this.responses : this.peers).push(flush);
    if (this.scheduled) return;
    this.scheduled = true;
    this.defer(this.run);
  }

  /**
   * Runs the flushes scheduled so far now, instead of at their `setImmediate`. For work that itself runs from a
   * `setImmediate` (the leader's pump of a turn's requests): a flush it schedules would otherwise wait for the next
   * event-loop iteration — behind a whole poll phase of requests, acknowledgements and fsync completions — whenever
   * this turn's flush had already run before it.
   */
  flushNow(): void {
    if (this.scheduled) this.run();
  }

  /** Every flush runs even if one throws; the first error is rethrown afterwards (a bug, as before: fatal). */
  private readonly run = (): void => {
    this.scheduled = false;
    const batch = this.responses.concat(this.peers);
    this.responses = [];
    this.peers = [];
    let failure: { error: unknown } | null = null;
    for (const flush of batch) {
      try {
        flush();
      } catch (error) {
        failure ??= { error };
      }
    }
    if (failure !== null) throw failure.error;
  };
}

/** The process's one end-of-turn flush queue. */
export const turnFlush = new TurnFlush();
