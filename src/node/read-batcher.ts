import { ApiError } from '../api/errors.js';

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (error: ApiError) => void;
  readonly timer: NodeJS.Timeout;
}

/**
 * Linearizable reads, batched: every read arriving in one event-loop turn shares one ReadIndex request; once the
 * engine answers with a read index, each read is released when the state machine has applied up to it.
 */
export class ReadBatcher {
  private queued: Waiter[] = [];
  private readonly issued = new Map<number, Waiter[]>();
  private ready: { index: number; waiters: Waiter[] }[] = [];
  private nextContext = 1;

  constructor(
    private readonly timeoutMs: number,
    /** Asks the engine for a read index with this context; throws when it cannot (no leader). */
    private readonly requestReadIndex: (context: number) => void,
  ) {}

  /** Resolves once a read may be served (the state machine holds everything committed before it arrived). */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => {
      const waiter: Waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.drop(waiter);
          reject(new ApiError('TIMEOUT', `the read could not be confirmed within ${this.timeoutMs} ms; retry`));
        }, this.timeoutMs),
      };
      this.queued.push(waiter);
    });
  }

  get hasQueued(): boolean {
    return this.queued.length > 0;
  }

  /** Some read is queued, waiting for its read index, or waiting for the state machine to reach it. */
  get waiting(): boolean {
    return this.queued.length > 0 || this.issued.size > 0 || this.ready.length > 0;
  }

  /** Issues one ReadIndex for every read queued since the last flush. */
  flush(): void {
    if (this.queued.length === 0) return;
    const waiters = this.queued;
    this.queued = [];
    const context = this.nextContext++;
    try {
      this.requestReadIndex(context);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      for (const w of waiters)
        this.finish(w, new ApiError('UNAVAILABLE', `cannot serve a linearizable read: ${message}`));
      return;
    }
    this.issued.set(context, waiters);
  }

  readState(context: number, index: number): void {
    const waiters = this.issued.get(context);
    if (!waiters) return;
    this.issued.delete(context);
    this.ready.push({ index, waiters });
  }

  /** Releases the reads whose index the state machine has reached. */
  applied(appliedIndex: number): void {
    if (this.ready.length === 0) return;
    const still: { index: number; waiters: Waiter[] }[] = [];
    for (const r of this.ready) {
      if (r.index <= appliedIndex) for (const w of r.waiters) this.finish(w);
      else still.push(r);
    }
    this.ready = still;
  }

  /** Leadership changed: requests in flight may be lost, so their reads fail fast (retryable). */
  leaderChanged(): void {
    for (const waiters of this.issued.values()) {
      for (const w of waiters) this.finish(w, new ApiError('UNAVAILABLE', 'leadership changed during the read; retry'));
    }
    this.issued.clear();
  }

  failAll(error: ApiError): void {
    for (const w of this.queued) this.finish(w, error);
    this.queued = [];
    this.leaderChanged();
    for (const r of this.ready) for (const w of r.waiters) this.finish(w, error);
    this.ready = [];
  }

  private finish(w: Waiter, error?: ApiError): void {
    clearTimeout(w.timer);
    if (error) w.reject(error);
    else w.resolve();
  }

  private drop(w: Waiter): void {
    this.queued = this.queued.filter((x) => x !== w);
    for (const [ctx, waiters] of this.issued) {
      const rest = waiters.filter((x) => x !== w);
      if (rest.length === 0) this.issued.delete(ctx);
      else this.issued.set(ctx, rest);
    }
    for (const r of this.ready) r.waiters = r.waiters.filter((x) => x !== w);
  }
}
