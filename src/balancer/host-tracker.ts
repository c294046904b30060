import { DecayingCounter } from './decaying-counter.js';
import { invalidArgument } from './errors.js';
import { PeakEwma } from './peak-ewma.js';
import type { HealthState, Host, HostSpec, RequestOutcome } from './types.js';
import { normalizeHosts, positiveNumber } from './validate.js';

export interface HostTrackerOptions {
  /** τ of the latency peak-EWMA. Default: 10,000 ms (Finagle, Linkerd). */
  latencyDecayTimeMs?: number;
  /**
   * A failed request counts as a latency sample of at least this much, so a host that fails fast does not look
   * fast and attract traffic. Set it near the request timeout. Default: 1,000 ms.
   */
  failurePenaltyMs?: number;
  /** τ of the recent-traffic counter behind `share` in the stats. Default: 10,000 ms. */
  trafficDecayTimeMs?: number;
}

export const HOST_TRACKER_DEFAULTS = {
  latencyDecayTimeMs: 10_000,
  failurePenaltyMs: 1_000,
  trafficDecayTimeMs: 10_000,
} as const;

/**
 * Everything the balancer knows about one host. Pickers read it; the tracker, the outlier detector and the
 * health checker write it (the mutable fields are public for those modules, not for callers).
 */
export class HostRecord {
  readonly latency: PeakEwma;
  readonly traffic: DecayingCounter;
  /** Requests begun and not yet ended. */
  pending = 0;
  requests = 0;
  failures = 0;
  consecutiveFailures = 0;
  /** Passive outlier ejection: when the ejection ends, or null when not ejected. */
  ejectedUntilMs: number | null = null;
  /** Ejection count behind the growing ejection time (decays while the host behaves). */
  timesEjected = 0;
  /** When the host last came back from an ejection; null if never ejected. */
  returnedAtMs: number | null = null;
  /** Active health-check verdict. */
  health: HealthState = 'unchecked';
  consecutiveCheckSuccesses = 0;
  consecutiveCheckFailures = 0;
  lastCheckAtMs: number | null = null;
  /** Set once the host left the membership; handles still open on it then change nothing. */
  removed = false;

  constructor(
    public host: Host,
    options: Required<HostTrackerOptions>,
  ) {
    this.latency = new PeakEwma(options.latencyDecayTimeMs);
    this.traffic = new DecayingCounter(options.trafficDecayTimeMs);
  }

  get id(): string {
    return this.host.id;
  }

  get ejected(): boolean {
    return this.ejectedUntilMs !== null;
  }
}

/** One request in flight on one host, from `begin` to `end`. Ending it twice is harmless. */
export class RequestHandle {
  private open = true;

  /** @internal use HostTracker.begin */
  constructor(
    readonly hostId: string,
    readonly startedAtMs: number,
    /** @internal null when begun on a host the tracker does not know (the handle then records nothing). */
    readonly record: HostRecord | null,
  ) {}

  get ended(): boolean {
    return !this.open;
  }

  /** @internal marks the handle ended; returns false if it already was. */
  close(): boolean {
    if (!this.open) return false;
    this.open = false;
    return true;
  }
}

/**
 * The shared per-host statistics of one balancer: membership, peak-EWMA latency, in-flight counts, failure
 * counters, and the ejection and health fields other modules maintain. `version` changes whenever anything a
 * host-set decision depends on (membership, ejection, health) changes, so readers can cache derived views.
 */
export class HostTracker {
  private readonly options: Required<HostTrackerOptions>;
  private byId = new Map<string, HostRecord>();
  private ordered: HostRecord[] = [];
  private versionCounter = 0;

  constructor(
    private readonly now: () => number,
    options: HostTrackerOptions = {},
  ) {
    this.options = {
      latencyDecayTimeMs: positiveNumber(
        'latencyDecayTimeMs',
        options.latencyDecayTimeMs,
        HOST_TRACKER_DEFAULTS.latencyDecayTimeMs,
      ),
      failurePenaltyMs: positiveNumber(
        'failurePenaltyMs',
        options.failurePenaltyMs,
        HOST_TRACKER_DEFAULTS.failurePenaltyMs,
      ),
      trafficDecayTimeMs: positiveNumber(
        'trafficDecayTimeMs',
        options.trafficDecayTimeMs,
        HOST_TRACKER_DEFAULTS.trafficDecayTimeMs,
      ),
    };
  }

  get version(): number {
    return this.versionCounter;
  }

  /** Tells cached views that membership, ejection or health changed. */
  markChanged(): void {
    this.versionCounter++;
  }

  /** Every configured host, in configuration order. The array is replaced (never mutated) on change. */
  records(): readonly HostRecord[] {
    return this.ordered;
  }

  get(id: string): HostRecord | undefined {
    return this.byId.get(id);
  }

  get size(): number {
    return this.ordered.length;
  }

  /**
   * Replaces the membership. A host whose id stays keeps its statistics, unless its address changed (then it
   * is a different machine and starts afresh). Returns the records added and removed.
   */
  setHosts(specs: readonly HostSpec[]): { added: HostRecord[]; removed: HostRecord[] } {
    const hosts = normalizeHosts(specs);
    const next = new Map<string, HostRecord>();
    const added: HostRecord[] = [];
    for (const host of hosts) {
      const old = this.byId.get(host.id);
      if (old && old.host.address === host.address) {
        old.host = host;
        next.set(host.id, old);
      } else {
        const record = new HostRecord(host, this.options);
        next.set(host.id, record);
        added.push(record);
      }
    }
    const removed: HostRecord[] = [];
    for (const [id, record] of this.byId) {
      if (next.get(id) !== record) {
        record.removed = true;
        removed.push(record);
      }
    }
    this.byId = next;
    this.ordered = [...next.values()];
    this.markChanged();
    return { added, removed };
  }

  /** Starts accounting one request on a host (by record, host or id). An unknown host gives a no-op handle. */
  begin(host: HostRecord | { id: string } | string): RequestHandle {
    const id = typeof host === 'string' ? host : typeof host === 'object' && host !== null ? host.id : undefined;
    if (typeof id !== 'string') throw invalidArgument('begin() needs a host or a host id');
    const nowMs = this.now();
    const record = this.byId.get(id) ?? null;
    if (record) {
      record.pending++;
      record.requests++;
      record.traffic.add(nowMs);
    }
    return new RequestHandle(id, nowMs, record);
  }

  /**
   * Ends a request: releases its in-flight slot, feeds the latency estimate (a failure as at least
   * `failurePenaltyMs`) and the failure counters. Returns the record it counted on, or null when the handle
   * was already ended or its host has left.
   */
  end(handle: RequestHandle, outcome: RequestOutcome): HostRecord | null {
    if (!(handle instanceof RequestHandle)) throw invalidArgument('end() needs a handle returned by begin()');
    if (typeof outcome !== 'object' || outcome === null || typeof outcome.ok !== 'boolean') {
      throw invalidArgument('end() needs an outcome {ok: boolean, latencyMs?: number}');
    }
    const nowMs = this.now();
    let latencyMs = outcome.latencyMs;
    if (latencyMs === undefined) latencyMs = Math.max(0, nowMs - handle.startedAtMs);
    else if (typeof latencyMs !== 'number' || !Number.isFinite(latencyMs) || latencyMs < 0) {
      throw invalidArgument(`outcome.latencyMs must be a finite number ≥ 0, got ${String(outcome.latencyMs)}`);
    }
    if (!handle.close()) return null;
    const record = handle.record;
    if (!record) return null;
    record.pending = Math.max(0, record.pending - 1);
    if (record.removed) return null;
    if (outcome.ok) {
      record.consecutiveFailures = 0;
      record.latency.observe(latencyMs, nowMs);
    } else {
      record.failures++;
      record.consecutiveFailures++;
      record.latency.observe(Math.max(latencyMs, this.options.failurePenaltyMs), nowMs);
    }
    return record;
  }

  /** Ends a request that says nothing about the host (the client gave up): only releases its in-flight slot. */
  abandon(handle: RequestHandle): void {
    if (!(handle instanceof RequestHandle)) throw invalidArgument('abandon() needs a handle returned by begin()');
    if (!handle.close() || !handle.record) return;
    handle.record.pending = Math.max(0, handle.record.pending - 1);
  }
}
