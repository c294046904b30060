import { CairnError } from './errors.js';

export interface LeaseKeeperOptions {
  /**
   * Time between keep-alives. Default: a third of the lease's TTL as the last keep-alive reported it (so two
   * keep-alives may fail before the lease is at risk), at least 500 ms.
   */
  intervalMs?: number;
  /** Pause after a failed keep-alive (other than the lease being gone) before the next try. Default: 500 ms. */
  retryDelayMs?: number;
  /** Called with each failed keep-alive that will be retried. Default: nothing. */
  onError?: (error: unknown) => void;
}

const MIN_INTERVAL_MS = 500;
const DEFAULT_RETRY_DELAY_MS = 500;

/**
 * Keeps one lease alive by calling keep-alive periodically. Stops by itself when the lease is gone
 * (`done` → LeaseNotFoundError), or when `stop()` is called (`done` → null). A failed keep-alive for any other
 * reason (no leader for a moment) is retried after `retryDelayMs`.
 */
export class LeaseKeeper {
  readonly done: Promise<CairnError | null>;
  private stopped = false;
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private ttl: number | null = null;

  constructor(
    private readonly keepAlive: (id: number) => Promise<{ ttlSeconds: number }>,
    readonly id: number,
    private readonly options: LeaseKeeperOptions = {},
  ) {
    for (const name of ['intervalMs', 'retryDelayMs'] as const) {
      const v = options[name];
      if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v <= 0)) {
        throw CairnError.create('INVALID_ARGUMENT', 0, `${name} must be a positive number`);
      }
    }
    this.done = this.run();
  }

  /** The TTL the last successful keep-alive reported, in seconds (null before the first). */
  get ttlSeconds(): number | null {
    return this.ttl;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref?.();
    });
  }

  private async run(): Promise<CairnError | null> {
    while (!this.stopped) {
      let waitMs: number;
      try {
        const answer = await this.keepAlive(this.id);
        this.ttl = answer.ttlSeconds;
        waitMs = this.options.intervalMs ?? Math.max(MIN_INTERVAL_MS, (answer.ttlSeconds * 1000) / 3);
      } catch (error) {
        if (error instanceof CairnError && error.code === 'LEASE_NOT_FOUND') return error;
        if (this.stopped) break;
        this.options.onError?.(error);
        waitMs = this.options.retryDelayMs ?? DEFAULT_RETRY_DELAY_MS;
      }
      if (this.stopped) break;
      await this.sleep(waitMs);
    }
    return null;
  }
}
