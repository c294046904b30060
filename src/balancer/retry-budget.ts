import { integerInRange, nonNegativeNumber, percent } from './validate.js';

export interface RetryBudgetOptions {
  /** Retries may add up to this share of the requests seen over the window. Default: 20 (%) (Finagle, Envoy). */
  budgetPercent?: number;
  /**
   * Retries always allowed per second, whatever the ratio says, so a client with little traffic can still
   * retry. Default: 10 (Finagle's `minRetriesPerSec`).
   */
  minRetriesPerSecond?: number;
  /** The window over which requests and retries are counted, in whole seconds. Default: 10,000 ms. */
  windowMs?: number;
}

export const RETRY_BUDGET_DEFAULTS = { budgetPercent: 20, minRetriesPerSecond: 10, windowMs: 10_000 } as const;

const BUCKET_MS = 1000;

/**
 * A retry budget (Finagle / Envoy): retries must stay a bounded share of the traffic, so that when a cluster is
 * failing, retries do not multiply its load (the retry storm). A retry is allowed when the retries of the last
 * `windowMs` stay below `budgetPercent` of the requests of the last `windowMs`, or when fewer than
 * `minRetriesPerSecond` retries were made in the current second. Memory is one counter pair per second of the
 * window (a ring), whatever the traffic.
 */
export class RetryBudget {
  private readonly ratio: number;
  private readonly minPerSecond: number;
  private readonly requests: number[];
  private readonly retries: number[];
  /** The index (time / BUCKET_MS) of the newest bucket. */
  private newestBucket = Number.NEGATIVE_INFINITY;
  private requestsInWindow = 0;
  private retriesInWindow = 0;

  constructor(
    private readonly now: () => number,
    options: RetryBudgetOptions = {},
  ) {
    this.ratio = percent('retry.budgetPercent', options.budgetPercent, RETRY_BUDGET_DEFAULTS.budgetPercent) / 100;
    this.minPerSecond = nonNegativeNumber(
      'retry.minRetriesPerSecond',
      options.minRetriesPerSecond,
      RETRY_BUDGET_DEFAULTS.minRetriesPerSecond,
    );
    const windowMs = integerInRange('retry.windowMs', options.windowMs, RETRY_BUDGET_DEFAULTS.windowMs, 1000, 600_000);
    const buckets = Math.ceil(windowMs / BUCKET_MS);
    this.requests = new Array<number>(buckets).fill(0);
    this.retries = new Array<number>(buckets).fill(0);
  }

  /** Counts one original request (not a retry): it earns the budget a share of a retry. */
  recordRequest(): void {
    const slot = this.advance();
    this.requests[slot]!++;
    this.requestsInWindow++;
  }

  /** Takes one retry from the budget; false (and nothing taken) when the budget is spent. */
  tryRetry(): boolean {
    const slot = this.advance();
    const withinRatio = this.retriesInWindow + 1 <= this.ratio * this.requestsInWindow;
    const withinMinimum = this.retries[slot]! + 1 <= this.minPerSecond;
    if (!withinRatio && !withinMinimum) return false;
    this.retries[slot]!++;
    this.retriesInWindow++;
    return true;
  }

  /** Requests and retries counted in the current window (for the stats page). */
  snapshot(): { requests: number; retries: number } {
    this.advance();
    return { requests: this.requestsInWindow, retries: this.retriesInWindow };
  }

  /** Clears the buckets that fell out of the window; returns the current bucket's slot. */
  private advance(): number {
    const size = this.requests.length;
    const bucket = Math.floor(this.now() / BUCKET_MS);
    if (bucket > this.newestBucket) {
      const stale = Math.min(size, bucket - this.newestBucket);
      for (let i = 1; i <= stale; i++) {
        const slot = (((bucket - stale + i) % size) + size) % size;
        this.requestsInWindow -= this.requests[slot]!;
        this.retriesInWindow -= this.retries[slot]!;
        this.requests[slot] = 0;
        this.retries[slot] = 0;
      }
      this.newestBucket = bucket;
    }
    // A clock that stepped back keeps counting in the newest bucket rather than corrupting the ring.
    return ((this.newestBucket % size) + size) % size;
  }
}
