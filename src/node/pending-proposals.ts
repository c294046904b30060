import { ApiError } from '../api/errors.js';
import type { Entry } from '../consensus/types.js';
import type { ApplyResult } from '../kv/types.js';

/** How a write is acknowledged (`?ack=`). */
export type AckMode = 'quorum' | 'all' | 'leader';

/** What a write's caller gets: the state machine's result, or (ack=leader) only where it landed. */
export type ProposalOutcome =
  | { readonly kind: 'applied'; readonly result: ApplyResult }
  | { readonly kind: 'durableOnLeader'; readonly index: number; readonly term: number };

interface Pending {
  readonly term: number;
  /** Whether the entry applied at the proposal's index is this proposal (see proposal-envelope.ts). */
  readonly isMine: (entry: Entry) => boolean;
  readonly mode: AckMode;
  readonly resolve: (outcome: ProposalOutcome) => void;
  readonly reject: (error: ApiError) => void;
  readonly timer: NodeJS.Timeout;
  /** ack=all: the result, held until every voter holds the entry. */
  applied?: ApplyResult;
}

/**
 * Writes this leader proposed, by log index, waiting for their outcome. The entry applied at the index is the
 * proposal when it carries the proposal's identity (its proposal id; for a membership change, its bytes) —
 * whatever its term: Multi-Paxos re-proposes accepted values under a new ballot. Another entry at that index
 * proves the proposal was replaced, so it surely did not take effect. No answer in time means the outcome is
 * unknown (TIMEOUT).
 */
export class PendingProposals {
  private readonly byIndex = new Map<number, Pending>();

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.byIndex.size;
  }

  /** Writes waiting for every voter (ack=all), so the driver checks voters' progress only when needed. */
  private waitingForAll = 0;

  get hasAckAll(): boolean {
    return this.waitingForAll > 0;
  }

  wait(index: number, term: number, mode: AckMode, isMine: (entry: Entry) => boolean): Promise<ProposalOutcome> {
    // A new proposal at an index someone still waits on: this node's log was rewritten there (it lost leadership
    // and won it back), so the earlier proposal was never committed at that index — it surely did not take
    // effect. Answer it now instead of leaving it to its timeout.
    const earlier = this.byIndex.get(index);
    if (earlier) {
      this.settle(index, earlier);
      earlier.reject(
        new ApiError('UNAVAILABLE', 'leadership changed before the write committed; it did not take effect'),
      );
    }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.byIndex.get(index);
        if (p?.timer !== timer) return;
        this.settle(index, p);
        const detail = mode === 'all' ? ' (not every voter confirmed it)' : '';
        reject(
          new ApiError(
            'TIMEOUT',
            `no answer within ${this.timeoutMs} ms${detail}: the write may or may not have taken effect`,
          ),
        );
      }, this.timeoutMs);
      this.byIndex.set(index, { term, isMine, mode, resolve, reject, timer });
      if (mode === 'all') this.waitingForAll++;
    });
  }

  /** The leader made entries up to (index, term) durable locally: ack=leader writes are answered. */
  persistedLocally(lastIndex: number, termAt: (index: number) => number | undefined): void {
    for (const [index, p] of this.byIndex) {
      if (p.mode !== 'leader' || index > lastIndex) continue;
      if (termAt(index) !== p.term) continue;
      this.settle(index, p);
      p.resolve({ kind: 'durableOnLeader', index, term: p.term });
    }
  }

  applied(entry: Entry, result: ApplyResult): void {
    const index = entry.index;
    const p = this.byIndex.get(index);
    if (!p) return;
    if (!p.isMine(entry)) {
      this.settle(index, p);
      p.reject(new ApiError('UNAVAILABLE', 'leadership changed before the write committed; it did not take effect'));
      return;
    }
    if (p.mode === 'all') {
      p.applied = result;
      return;
    }
    this.settle(index, p);
    if (p.mode === 'quorum') p.resolve({ kind: 'applied', result });
  }

  /** ack=all: answer the applied writes every voter now holds (`minMatch` = the lowest match of the voters). */
  allVotersHold(minMatch: number): void {
    for (const [index, p] of this.byIndex) {
      if (p.mode !== 'all' || !p.applied || index > minMatch) continue;
      this.settle(index, p);
      p.resolve({ kind: 'applied', result: p.applied });
    }
  }

  /** A snapshot replaced the log up to `index`: whether those writes applied is unknown here. */
  coveredBySnapshot(index: number): void {
    for (const [i, p] of this.byIndex) {
      if (i > index) continue;
      this.settle(i, p);
      p.reject(new ApiError('TIMEOUT', 'a snapshot replaced the log; the write may or may not have taken effect'));
    }
  }

  failAll(error: ApiError): void {
    for (const [i, p] of this.byIndex) {
      this.settle(i, p);
      p.reject(error);
    }
  }

  private settle(index: number, p: Pending): void {
    clearTimeout(p.timer);
    this.byIndex.delete(index);
    if (p.mode === 'all') this.waitingForAll--;
  }
}
