import type { Random } from '../util/random.js';
import { BalancerError, invalidArgument } from './errors.js';
import { ActiveHealthChecker, type ActiveHealthCheckOptions } from './health-checker.js';
import { type CandidateSet, HealthView } from './health-view.js';
import { type HostRecord, HostTracker, type HostTrackerOptions, type RequestHandle } from './host-tracker.js';
import { type OutlierDetectionOptions, OutlierDetector, type OutlierStats } from './outlier-detector.js';
import { createPicker, isStrategyName, type StrategyOptions } from './pickers/create-picker.js';
import type { Picker } from './pickers/picker.js';
import { type RetryOptions, RetryPolicy, type RetryStats } from './retry-policy.js';
import {
  type BalanceRequest,
  type HealthState,
  type Host,
  type HostSpec,
  type RequestOutcome,
  STRATEGY_NAMES,
  type StrategyName,
} from './types.js';
import { percent, validateRequest } from './validate.js';

export interface BalancerOptions extends StrategyOptions, HostTrackerOptions {
  /** How to choose a host. Required. */
  strategy: StrategyName;
  /** The initial membership (may be empty; change it with `setHosts`). Required. */
  hosts: readonly HostSpec[];
  /** Randomness (round-robin offset, two random choices, zone sampling, check jitter). Required. */
  random: Random;
  /** The clock, in milliseconds. Required. */
  now: () => number;
  /** Passive outlier ejection; on by default. */
  outlier?: OutlierDetectionOptions;
  /** Active health checks; off unless given. */
  health?: ActiveHealthCheckOptions;
  /**
   * When fewer than this share of the hosts is healthy, health is ignored and requests go to every host.
   * 0 turns panic mode off (then no healthy host means no host). Default: 50 (%) (Envoy).
   */
  panicThresholdPercent?: number;
  /** Retries of idempotent requests made through `call`. */
  retry?: RetryOptions;
}

export const BALANCER_DEFAULTS = { panicThresholdPercent: 50 } as const;

/** Per-host line of the status page. */
export interface HostStats {
  readonly id: string;
  readonly address: string;
  readonly zone: string;
  readonly region: string;
  readonly weight: number;
  /** The host's own condition; 'unknown' = active checks have not answered yet. */
  readonly state: 'healthy' | 'ejected' | 'unhealthy' | 'unknown';
  /** True when new requests may go to it now (healthy, or any host during panic). */
  readonly serving: boolean;
  readonly ejected: boolean;
  readonly ejectedUntilMs: number | null;
  readonly timesEjected: number;
  readonly health: HealthState;
  readonly pending: number;
  /** Peak-EWMA latency now; null before the first sample. */
  readonly ewmaMs: number | null;
  readonly requests: number;
  readonly failures: number;
  readonly consecutiveFailures: number;
  /** Share of the recent requests (decayed over `trafficDecayTimeMs`) this host received, 0..1. */
  readonly share: number;
}

export interface BalancerStats {
  readonly strategy: StrategyName;
  readonly panic: boolean;
  readonly hostCount: number;
  readonly healthyCount: number;
  readonly hosts: readonly HostStats[];
  readonly ejections: OutlierStats;
  readonly retries: RetryStats;
}

export interface PickOptions {
  /** Host ids not to choose (for example the hosts a caller's own retry loop already tried). */
  exclude?: Iterable<string>;
}

/** Sends one attempt of a request to a host; throw (or reject) to report a failure. */
export type SendAttempt<T> = (host: Host, attempt: number) => Promise<T>;

export interface Balancer {
  readonly strategy: StrategyName;
  /** Chooses the host for a request; null when there is none. Never throws for lack of hosts. */
  pick(request?: BalanceRequest, options?: PickOptions): Host | null;
  /** Starts accounting a request on a host (counts it in flight). */
  begin(host: Host | string): RequestHandle;
  /** Ends a request begun with `begin`, feeding latency, failure counts, ejection and the picker. */
  end(handle: RequestHandle, outcome: RequestOutcome): void;
  /** Ends a request without blaming or crediting the host (the caller gave up). */
  abandon(handle: RequestHandle): void;
  /**
   * pick → begin → send → end, retrying a failed idempotent request on another host within the retry budget.
   * Resolves with the first successful attempt's result; rejects with the last attempt's error, or with
   * BalancerError NO_HOST_AVAILABLE when there was no host to try at all.
   */
  call<T>(request: BalanceRequest, send: SendAttempt<T>): Promise<T>;
  /** Replaces the membership; statistics of hosts that stay are kept. */
  setHosts(hosts: readonly HostSpec[]): void;
  /** The configured hosts. */
  hosts(): readonly Host[];
  stats(): BalancerStats;
  /** Stops active health checks (timers). The balancer still answers afterwards, on the last known health. */
  close(): void;
}

/** Builds a balancer from options; every option is validated here (BalancerError INVALID_ARGUMENT). */
export function createBalancer(options: BalancerOptions): Balancer {
  return new LoadBalancer(options);
}

class LoadBalancer implements Balancer {
  readonly strategy: StrategyName;
  private readonly now: () => number;
  private readonly tracker: HostTracker;
  private readonly outliers: OutlierDetector;
  private readonly view: HealthView;
  private readonly checker: ActiveHealthChecker | null;
  private readonly picker: Picker;
  private readonly retry: RetryPolicy;

  constructor(options: BalancerOptions) {
    if (typeof options !== 'object' || options === null) throw invalidArgument('options must be an object');
    if (!isStrategyName(options.strategy)) {
      throw invalidArgument(`strategy must be one of ${STRATEGY_NAMES.join(', ')}; got ${String(options.strategy)}`);
    }
    const random = options.random;
    if (typeof random?.next !== 'function' || typeof random.int !== 'function' || typeof random.fork !== 'function') {
      throw invalidArgument('random must implement Random (src/util/random.ts)');
    }
    if (typeof options.now !== 'function') throw invalidArgument('now must be a function returning milliseconds');
    this.strategy = options.strategy;
    const now = options.now;
    this.now = now;
    this.tracker = new HostTracker(now, options);
    this.outliers = new OutlierDetector(this.tracker, now, options.outlier);
    this.view = new HealthView(
      this.tracker,
      this.outliers,
      percent('panicThresholdPercent', options.panicThresholdPercent, BALANCER_DEFAULTS.panicThresholdPercent),
    );
    this.retry = new RetryPolicy(now, options.retry);
    const tracker = this.tracker;
    this.picker = createPicker(
      options.strategy,
      { tracker, random: random.fork(), now, configuredHostCount: () => tracker.size },
      options,
    );
    this.checker = options.health ? new ActiveHealthChecker(tracker, now, random.fork(), options.health) : null;
    this.tracker.setHosts(options.hosts);
    this.checker?.start();
  }

  pick(request: BalanceRequest = {}, options: PickOptions = {}): Host | null {
    validateRequest(request);
    if (typeof options !== 'object' || options === null) throw invalidArgument('pick options must be an object');
    let excluded: Set<string> | undefined;
    if (options.exclude !== undefined) {
      if (typeof (options.exclude as Iterable<string>)[Symbol.iterator] !== 'function') {
        throw invalidArgument('exclude must be an iterable of host ids');
      }
      excluded = new Set(options.exclude);
    }
    return this.choose(request, excluded)?.host ?? null;
  }

  begin(host: Host | string): RequestHandle {
    return this.tracker.begin(host);
  }

  end(handle: RequestHandle, outcome: RequestOutcome): void {
    // Return expired ejections first, so this result counts toward the returning host's fresh slate.
    this.outliers.releaseExpired(this.now());
    const record = this.tracker.end(handle, outcome);
    if (!record) return;
    this.outliers.onResult(record, outcome.ok);
    this.picker.onResult?.(record, outcome.ok);
  }

  abandon(handle: RequestHandle): void {
    this.tracker.abandon(handle);
  }

  async call<T>(request: BalanceRequest, send: SendAttempt<T>): Promise<T> {
    validateRequest(request);
    if (typeof send !== 'function') throw invalidArgument('call() needs a send function');
    this.retry.recordRequest();
    const tried = new Set<string>();
    let record = this.choose(request, tried);
    if (!record) throw new BalancerError('NO_HOST_AVAILABLE', 'no host is available for this request');
    for (let retries = 0; ; retries++) {
      const handle = this.tracker.begin(record);
      try {
        const result = await send(record.host, retries);
        this.end(handle, { ok: true });
        return result;
      } catch (error) {
        this.end(handle, { ok: false });
        if (this.retry.precheck(request, error, retries) !== null) throw error;
        tried.add(record.id);
        const next = this.choose(request, tried);
        if (!next) {
          this.retry.noOtherHost();
          throw error;
        }
        if (!this.retry.takeBudget()) throw error;
        record = next;
      }
    }
  }

  setHosts(hosts: readonly HostSpec[]): void {
    this.tracker.setHosts(hosts);
    this.checker?.syncHosts();
  }

  hosts(): readonly Host[] {
    return this.tracker.records().map((record) => record.host);
  }

  stats(): BalancerStats {
    const nowMs = this.now();
    const candidates = this.candidates();
    const serving = new Set(candidates.hosts);
    const records = this.tracker.records();
    let totalTraffic = 0;
    for (const record of records) totalTraffic += record.traffic.valueAt(nowMs);
    return {
      strategy: this.strategy,
      panic: candidates.panic,
      hostCount: records.length,
      healthyCount: candidates.healthyCount,
      hosts: records.map((record) => ({
        ...record.host,
        state: hostState(record),
        serving: serving.has(record),
        ejected: record.ejected,
        ejectedUntilMs: record.ejectedUntilMs,
        timesEjected: record.timesEjected,
        health: record.health,
        pending: record.pending,
        ewmaMs: record.latency.hasSamples ? record.latency.valueAt(nowMs) : null,
        requests: record.requests,
        failures: record.failures,
        consecutiveFailures: record.consecutiveFailures,
        share: totalTraffic > 0 ? record.traffic.valueAt(nowMs) / totalTraffic : 0,
      })),
      ejections: this.outliers.stats(),
      retries: this.retry.stats(),
    };
  }

  close(): void {
    this.checker?.stop();
  }

  private candidates(): CandidateSet {
    return this.view.candidates(this.now());
  }

  private choose(request: BalanceRequest, excluded: ReadonlySet<string> | undefined): HostRecord | null {
    const { hosts } = this.candidates();
    if (hosts.length === 0) return null;
    return this.picker.pick(request, hosts, excluded);
  }
}

function hostState(record: HostRecord): HostStats['state'] {
  if (record.health === 'unhealthy') return 'unhealthy';
  if (record.ejected) return 'ejected';
  return record.health === 'unknown' ? 'unknown' : 'healthy';
}
