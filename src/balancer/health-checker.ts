import type { Random } from '../util/random.js';
import { invalidArgument } from './errors.js';
import type { HostRecord, HostTracker } from './host-tracker.js';
import type { Host } from './types.js';
import { integerInRange, nonNegativeNumber, positiveNumber } from './validate.js';

/** The two timer functions the checker needs; pass `{setTimeout, clearTimeout}` of Node or a fake. */
export interface TimerApi {
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Resolves true when the host is fit to serve. A rejection or a throw counts as a failed check. */
export type HealthProbe = (host: Host, context: { signal: AbortSignal }) => Promise<boolean>;

export interface ActiveHealthCheckOptions {
  /** Checks one host. Required. Aborted through `signal` when it times out or the checker stops. */
  probe: HealthProbe;
  /** Timer functions. Required. */
  timers: TimerApi;
  /** Time from the end of one check of a host to the start of the next. Default: 5,000 ms. */
  intervalMs?: number;
  /** Up to this much random time is added to each interval, so many balancers don't probe in step. Default: 0. */
  intervalJitterMs?: number;
  /** A check that has not answered after this long failed. Default: 1,000 ms. */
  timeoutMs?: number;
  /** Consecutive failed checks that mark a healthy host unhealthy. Default: 2. */
  unhealthyThreshold?: number;
  /** Consecutive passed checks that mark an unhealthy host healthy. Default: 2. */
  healthyThreshold?: number;
}

export const HEALTH_CHECK_DEFAULTS = {
  intervalMs: 5_000,
  intervalJitterMs: 0,
  timeoutMs: 1_000,
  unhealthyThreshold: 2,
  healthyThreshold: 2,
} as const;

interface HostCheck {
  record: HostRecord;
  timer: unknown;
  /** Bumped for every check and on stop: a late answer with an older number is ignored. */
  sequence: number;
  abort: AbortController | null;
}

/**
 * Active health checking: each host is probed every `intervalMs` (one check at a time per host, so at most one
 * probe per host is ever in flight). A host added to the membership starts 'unknown' (not used while others are
 * healthy) and is probed at once; its first answer decides. After that it takes `unhealthyThreshold`
 * consecutive failures to mark it unhealthy and `healthyThreshold` consecutive successes to bring it back.
 */
export class ActiveHealthChecker {
  private readonly options: Required<Omit<ActiveHealthCheckOptions, 'probe' | 'timers'>>;
  private readonly probe: HealthProbe;
  private readonly timers: TimerApi;
  private readonly checks = new Map<HostRecord, HostCheck>();
  private running = false;

  constructor(
    private readonly tracker: HostTracker,
    private readonly now: () => number,
    private readonly random: Random,
    options: ActiveHealthCheckOptions,
  ) {
    if (typeof options?.probe !== 'function') throw invalidArgument('health.probe must be a function');
    const timers = options.timers;
    if (typeof timers?.setTimeout !== 'function' || typeof timers.clearTimeout !== 'function') {
      throw invalidArgument('health.timers must provide setTimeout and clearTimeout');
    }
    this.probe = options.probe;
    this.timers = timers;
    this.options = {
      intervalMs: positiveNumber('health.intervalMs', options.intervalMs, HEALTH_CHECK_DEFAULTS.intervalMs),
      intervalJitterMs: nonNegativeNumber(
        'health.intervalJitterMs',
        options.intervalJitterMs,
        HEALTH_CHECK_DEFAULTS.intervalJitterMs,
      ),
      timeoutMs: positiveNumber('health.timeoutMs', options.timeoutMs, HEALTH_CHECK_DEFAULTS.timeoutMs),
      unhealthyThreshold: integerInRange(
        'health.unhealthyThreshold',
        options.unhealthyThreshold,
        HEALTH_CHECK_DEFAULTS.unhealthyThreshold,
        1,
        1000,
      ),
      healthyThreshold: integerInRange(
        'health.healthyThreshold',
        options.healthyThreshold,
        HEALTH_CHECK_DEFAULTS.healthyThreshold,
        1,
        1000,
      ),
    };
  }

  /** Starts checking every current host (and, after `syncHosts`, new ones). Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.syncHosts();
  }

  /** Stops every timer and ignores answers still on their way. */
  stop(): void {
    this.running = false;
    for (const check of this.checks.values()) this.cancel(check);
    this.checks.clear();
  }

  /** Follows a membership change: starts checking new hosts at once, stops checking departed ones. */
  syncHosts(): void {
    const current = new Set(this.tracker.records());
    for (const [record, check] of this.checks) {
      if (!current.has(record)) {
        this.cancel(check);
        this.checks.delete(record);
      }
    }
    if (!this.running) return;
    for (const record of current) {
      if (this.checks.has(record)) continue;
      if (record.health === 'unchecked') record.health = 'unknown';
      const check: HostCheck = { record, timer: null, sequence: 0, abort: null };
      this.checks.set(record, check);
      this.schedule(check, 0);
    }
  }

  private cancel(check: HostCheck): void {
    if (check.timer !== null) this.timers.clearTimeout(check.timer);
    check.timer = null;
    check.sequence++;
    check.abort?.abort();
    check.abort = null;
  }

  private schedule(check: HostCheck, delayMs: number): void {
    check.timer = this.timers.setTimeout(() => this.runCheck(check), delayMs);
  }

  private runCheck(check: HostCheck): void {
    check.timer = null;
    if (!this.running || this.checks.get(check.record) !== check) return;
    const sequence = ++check.sequence;
    const abort = new AbortController();
    check.abort = abort;
    check.timer = this.timers.setTimeout(() => this.finish(check, sequence, false), this.options.timeoutMs);
    let answer: Promise<boolean>;
    try {
      answer = Promise.resolve(this.probe(check.record.host, { signal: abort.signal }));
    } catch {
      answer = Promise.resolve(false);
    }
    answer.then(
      (healthy) => this.finish(check, sequence, healthy === true),
      () => this.finish(check, sequence, false),
    );
  }

  private finish(check: HostCheck, sequence: number, passed: boolean): void {
    if (sequence !== check.sequence || !this.running || this.checks.get(check.record) !== check) return;
    check.sequence++; // whichever of answer and timeout comes second is now stale
    if (check.timer !== null) this.timers.clearTimeout(check.timer);
    check.timer = null;
    if (!passed) check.abort?.abort();
    check.abort = null;
    this.record(check.record, passed);
    const jitter = this.options.intervalJitterMs > 0 ? this.random.next() * this.options.intervalJitterMs : 0;
    this.schedule(check, this.options.intervalMs + jitter);
  }

  private record(record: HostRecord, passed: boolean): void {
    record.lastCheckAtMs = this.now();
    const before = record.health;
    if (passed) {
      record.consecutiveCheckSuccesses++;
      record.consecutiveCheckFailures = 0;
      if (before === 'unknown' || record.consecutiveCheckSuccesses >= this.options.healthyThreshold) {
        record.health = 'healthy';
      }
    } else {
      record.consecutiveCheckFailures++;
      record.consecutiveCheckSuccesses = 0;
      if (before === 'unknown' || record.consecutiveCheckFailures >= this.options.unhealthyThreshold) {
        record.health = 'unhealthy';
      }
    }
    if (record.health !== before) this.tracker.markChanged();
  }
}
