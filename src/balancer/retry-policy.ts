import { invalidArgument } from './errors.js';
import { RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
import type { BalanceRequest } from './types.js';
import { integerInRange } from './validate.js';

export interface RetryOptions extends RetryBudgetOptions {
  /** Retries of one request after its first attempt (each on a host not tried yet). Default: 2. */
  maxRetries?: number;
  /** Whether an error thrown by `send` may be retried (the request is idempotent either way). Default: always. */
  isRetryable?: (error: unknown) => boolean;
}

export const RETRY_DEFAULTS = { maxRetries: 2 } as const;

/** Why a failed attempt was not retried (counted in the stats). */
export type RetryRefusal = 'not-idempotent' | 'not-retryable' | 'max-attempts' | 'no-other-host' | 'budget-exhausted';

export interface RetryStats {
  /** Retries made. */
  retries: number;
  /** Failed attempts not retried, by reason. */
  refused: Record<RetryRefusal, number>;
  /** Requests and retries in the budget's current window. */
  window: { requests: number; retries: number };
}

/**
 * When to retry: only idempotent requests, only errors `isRetryable` accepts, at most `maxRetries` times, each
 * time on a host not tried yet, and only while the retry budget allows. The host check comes before the
 * budget so a retry that cannot happen does not spend a token.
 */
export class RetryPolicy {
  readonly maxRetries: number;
  private readonly isRetryable: (error: unknown) => boolean;
  private readonly budget: RetryBudget;
  private retries = 0;
  private readonly refused: Record<RetryRefusal, number> = {
    'not-idempotent': 0,
    'not-retryable': 0,
    'max-attempts': 0,
    'no-other-host': 0,
    'budget-exhausted': 0,
  };

  constructor(now: () => number, options: RetryOptions = {}) {
    this.maxRetries = integerInRange('retry.maxRetries', options.maxRetries, RETRY_DEFAULTS.maxRetries, 0, 10);
    if (options.isRetryable !== undefined && typeof options.isRetryable !== 'function') {
      throw invalidArgument('retry.isRetryable must be a function');
    }
    this.isRetryable = options.isRetryable ?? (() => true);
    this.budget = new RetryBudget(now, options);
  }

  /** Counts an original request into the budget. */
  recordRequest(): void {
    this.budget.recordRequest();
  }

  /**
   * The checks that do not need the next host. `retriesSoFar` counts retries already made for this request.
   * Returns null when a retry may go ahead, or the reason it may not.
   */
  precheck(request: BalanceRequest, error: unknown, retriesSoFar: number): RetryRefusal | null {
    if (request.idempotent !== true) return this.refuse('not-idempotent');
    if (retriesSoFar >= this.maxRetries) return this.refuse('max-attempts');
    let retryable = false;
    try {
      retryable = this.isRetryable(error) === true;
    } catch {
      retryable = false; // a broken classifier must not turn one failure into a crash
    }
    if (!retryable) return this.refuse('not-retryable');
    return null;
  }

  /** Takes a retry from the budget once a host for it was found. */
  takeBudget(): boolean {
    if (!this.budget.tryRetry()) {
      this.refuse('budget-exhausted');
      return false;
    }
    this.retries++;
    return true;
  }

  noOtherHost(): void {
    this.refuse('no-other-host');
  }

  stats(): RetryStats {
    return { retries: this.retries, refused: { ...this.refused }, window: this.budget.snapshot() };
  }

  private refuse(reason: RetryRefusal): RetryRefusal {
    this.refused[reason]++;
    return reason;
  }
}
