import { ApiError } from '../api/errors.js';
import type { Entry } from '../consensus/types.js';
import type { ApplyResult } from '../kv/types.js';

/** How a write is acknowledged (`?ack=`). */
export type AckMode = 'quorum' | 'all' | 'leader';

/** What a write's caller gets: the state machine's result, or (ack=leader) only where it landed. */
export type ProposalOutcome =
  | { readonly kind: 'applied'; readonly result: ApplyResult }
  | { readonly kind: 'durableOnLeader'; readonly index: number; readonly term: number };

/** One write waiting for its outcome. */
export interface ProposalWaiter {
  readonly resolve: (outcome: ProposalOutcome) => void;
  readonly reject: (error: Error) => void;
}

/**
 * Whether the entry applied at a proposal's index is that proposal: `id` is the entry's (first) proposal id from
 * its envelope (null if it has none), see proposal-envelope.ts.
 */
export type IsMine = (entry: Entry, id: number | null) => boolean;

/** One log entry this leader proposed: one write, or a batch of writes (one waiter per command, in order). */
interface Pending {
  readonly term: number;
  readonly isMine: IsMine;
  readonly mode: AckMode;
  readonly waiters: readonly ProposalWaiter[];
  /** When it times out (the clock's ms). */
  readonly deadlineMs: number;
  /** ack=all: the results, held until every voter holds the entry. */
  applied?: ApplyResult[];
}

/**
 * Writes this leader proposed, by log index, waiting for their outcome. The entry applied at the index is the
 * proposal when it carries the proposal's identity (its proposal id; for a membership change, its bytes) —
 * whatever its term: Multi-Paxos re-proposes accepted values under a new ballot. Another entry at that index
 * proves the proposal was replaced, so it surely did not take effect. No answer in time means the outcome is
 * unknown (TIMEOUT). A batch entry's writes share its fate and its deadline.
 *
 * One timer serves every deadline. All proposals get the same timeout, so the map's insertion order is deadline
 * order, and the timer only ever needs to fire at the first pending proposal's deadline. A timer per proposal
 * cost a setTimeout and a clearTimeout per write (~5 µs of the leader's CPU per put at 1 in flight, in the
 * profile of 2026-11-28); this one is re-armed once per timeout period.
 */
export class PendingProposals {
  private readonly byIndex = new Map<number, Pending>();
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Entries (not writes) waiting. */
  get size(): number {
    return this.byIndex.size;
  }

  /** Writes waiting for every voter (ack=all), so the driver checks voters' progress only when needed. */
  private waitingForAll = 0;

  get hasAckAll(): boolean {
    return this.waitingForAll > 0;
  }

  /** One write at `index`: its outcome. */
  waitOne(index: number, term: number, mode: AckMode, isMine: IsMine): Promise<ProposalOutcome> {
    return new Promise((resolve, reject) => this.wait(index, term, mode, isMine, [{ resolve, reject }]));
  }

  /** The writes of the entry at `index` (one waiter per command, in the entry's order). */
  wait(index: number, term: number, mode: AckMode, isMine: IsMine, waiters: readonly ProposalWaiter[]): void {
    // A new proposal at an index someone still waits on: this node's log was rewritten there (it lost leadership
    // and won it back), so the earlier proposal was never committed at that index — it surely did not take
    // effect. Answer it now instead of leaving it to its timeout.
    const earlier = this.byIndex.get(index);
    if (earlier) {
      this.settle(index, earlier);
      rejectAll(earlier, replaced());
    }
    this.byIndex.set(index, { term, isMine, mode, waiters, deadlineMs: this.now() + this.timeoutMs });
    if (mode === 'all') this.waitingForAll++;
    if (this.timer === null) this.armTimer(this.timeoutMs);
    else this.timer.ref();
  }

  private armTimer(delayMs: number): void {
    this.timer = setTimeout(this.expire, Math.max(1, Math.ceil(delayMs)));
  }

  /** Times out every proposal whose deadline has passed, then waits for the next deadline. */
  private readonly expire = (): void => {
    this.timer = null;
    const now = this.now();
    for (const [index, p] of this.byIndex) {
      if (p.deadlineMs > now) {
        this.armTimer(p.deadlineMs - now);
        return;
      }
      this.settle(index, p);
      const detail = p.mode === 'all' ? ' (not every voter confirmed it)' : '';
      rejectAll(
        p,
        new ApiError(
          'TIMEOUT',
          `no answer within ${this.timeoutMs} ms${detail}: the write may or may not have taken effect`,
        ),
      );
    }
  };

  /** The leader made entries up to (index, term) durable locally: ack=leader writes are answered. */
  persistedLocally(lastIndex: number, termAt: (index: number) => number | undefined): void {
    for (const [index, p] of this.byIndex) {
      if (p.mode !== 'leader' || index > lastIndex) continue;
      if (termAt(index) !== p.term) continue;
      this.settle(index, p);
      const outcome: ProposalOutcome = { kind: 'durableOnLeader', index, term: p.term };
      for (const w of p.waiters) w.resolve(outcome);
    }
  }

  /**
   * The entry at `entry.index` was applied; `results[from .. from + count)` are its commands' results. `id` is
   * the entry's proposal id (null if it has none).
   */
  applied(entry: Entry, id: number | null, results: readonly ApplyResult[], from: number, count: number): void {
    const index = entry.index;
    const p = this.byIndex.get(index);
    if (!p) return;
    if (!p.isMine(entry, id) || count !== p.waiters.length) {
      this.settle(index, p);
      rejectAll(p, replaced());
      return;
    }
    if (p.mode === 'all') {
      p.applied = results.slice(from, from + count);
      return;
    }
    this.settle(index, p);
    if (p.mode !== 'quorum') return;
    for (let i = 0; i < count; i++) p.waiters[i]!.resolve({ kind: 'applied', result: results[from + i]! });
  }

  /** ack=all: answer the applied writes every voter now holds (`minMatch` = the lowest match of the voters). */
  allVotersHold(minMatch: number): void {
    for (const [index, p] of this.byIndex) {
      const results = p.applied;
      if (p.mode !== 'all' || !results || index > minMatch) continue;
      this.settle(index, p);
      for (let i = 0; i < p.waiters.length; i++) p.waiters[i]!.resolve({ kind: 'applied', result: results[i]! });
    }
  }

  /** A snapshot replaced the log up to `index`: whether those writes applied is unknown here. */
  coveredBySnapshot(index: number): void {
    for (const [i, p] of this.byIndex) {
      if (i > index) continue;
      this.settle(i, p);
      rejectAll(p, new ApiError('TIMEOUT', 'a snapshot replaced the log; the write may or may not have taken effect'));
    }
  }

  failAll(error: ApiError): void {
    for (const [i, p] of this.byIndex) {
      this.settle(i, p);
      rejectAll(p, error);
    }
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /**
   * Removes a proposal that is answered now. The timer stays (it re-arms itself for what is left); with nothing
   * left it no longer keeps the process alive (ref/unref only flip a flag, unlike clearTimeout + setTimeout).
   */
  private settle(index: number, p: Pending): void {
    this.byIndex.delete(index);
    if (this.byIndex.size === 0 && this.timer !== null) this.timer.unref();
    if (p.mode === 'all') this.waitingForAll--;
  }
}

function rejectAll(p: Pending, error: ApiError): void {
  for (const w of p.waiters) w.reject(error);
}

/** The proposal's index holds another entry: the write surely did not take effect. */
function replaced(): ApiError {
  return new ApiError('UNAVAILABLE', 'leadership changed before the write committed; it did not take effect');
}
