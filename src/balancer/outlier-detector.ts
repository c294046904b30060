import type { HostRecord, HostTracker } from './host-tracker.js';
import { integerInRange, percent, positiveNumber } from './validate.js';

export interface OutlierDetectionOptions {
  /** False turns passive ejection off. Default: true. */
  enabled?: boolean;
  /** Consecutive failed requests that eject a host. Default: 5 (Envoy). */
  consecutiveFailures?: number;
  /** An ejection lasts this long times the number of times the host was ejected. Default: 30,000 ms (Envoy). */
  baseEjectionTimeMs?: number;
  /** Cap on one ejection's length. Default: 300,000 ms (Envoy). */
  maxEjectionTimeMs?: number;
  /** At most this share of the hosts is ejected at once — but one host always may be. Default: 10 (%). */
  maxEjectionPercent?: number;
}

export const OUTLIER_DEFAULTS = {
  enabled: true,
  consecutiveFailures: 5,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 10,
} as const;

export interface OutlierStats {
  /** Ejections done since the start. */
  ejections: number;
  /** Ejections that were due but refused by the max-ejection cap. */
  ejectionsSkippedByCap: number;
}

/**
 * Passive outlier ejection (Envoy's consecutive-5xx detector). Results feed it; it ejects a host after N
 * consecutive failures for base × k (k = times ejected, capped), and returns it when that time has passed.
 * There are no timers: `releaseExpired(now)` is called before every read of the host set. The ejection
 * multiplier drops by one for each base ejection time the host spends back in service, so a host that
 * recovered for good is not punished forever for an old incident.
 */
export class OutlierDetector {
  private readonly options: Required<OutlierDetectionOptions>;
  private nextReleaseAtMs = Number.POSITIVE_INFINITY;
  private readonly counters: OutlierStats = { ejections: 0, ejectionsSkippedByCap: 0 };

  constructor(
    private readonly tracker: HostTracker,
    private readonly now: () => number,
    options: OutlierDetectionOptions = {},
  ) {
    const base = positiveNumber('baseEjectionTimeMs', options.baseEjectionTimeMs, OUTLIER_DEFAULTS.baseEjectionTimeMs);
    this.options = {
      enabled: options.enabled ?? OUTLIER_DEFAULTS.enabled,
      consecutiveFailures: integerInRange(
        'consecutiveFailures',
        options.consecutiveFailures,
        OUTLIER_DEFAULTS.consecutiveFailures,
        1,
        1_000_000,
      ),
      baseEjectionTimeMs: base,
      maxEjectionTimeMs: Math.max(
        base,
        positiveNumber('maxEjectionTimeMs', options.maxEjectionTimeMs, OUTLIER_DEFAULTS.maxEjectionTimeMs),
      ),
      maxEjectionPercent: percent(
        'maxEjectionPercent',
        options.maxEjectionPercent,
        OUTLIER_DEFAULTS.maxEjectionPercent,
      ),
    };
  }

  stats(): OutlierStats {
    return { ...this.counters };
  }

  /** Feeds one result (after the tracker counted it). Ejects the host when it crossed the threshold. */
  onResult(record: HostRecord, ok: boolean): void {
    if (!this.options.enabled || ok || record.removed) return;
    const nowMs = this.now();
    this.releaseExpired(nowMs);
    if (record.ejected || record.consecutiveFailures < this.options.consecutiveFailures) return;
    if (this.ejectedCount() >= this.maxEjected()) {
      this.counters.ejectionsSkippedByCap++;
      return;
    }
    // Forgive one past ejection per base ejection time spent back in service.
    if (record.returnedAtMs !== null) {
      const forgiven = Math.floor((nowMs - record.returnedAtMs) / this.options.baseEjectionTimeMs);
      record.timesEjected = Math.max(0, record.timesEjected - Math.max(0, forgiven));
    }
    record.timesEjected++;
    const durationMs = Math.min(this.options.baseEjectionTimeMs * record.timesEjected, this.options.maxEjectionTimeMs);
    record.ejectedUntilMs = nowMs + durationMs;
    this.nextReleaseAtMs = Math.min(this.nextReleaseAtMs, record.ejectedUntilMs);
    this.counters.ejections++;
    this.tracker.markChanged();
  }

  /** Returns every host whose ejection time has passed. Cheap when nothing is due. */
  releaseExpired(nowMs: number): void {
    if (nowMs < this.nextReleaseAtMs) return;
    let next = Number.POSITIVE_INFINITY;
    let changed = false;
    for (const record of this.tracker.records()) {
      const until = record.ejectedUntilMs;
      if (until === null) continue;
      if (until <= nowMs) {
        record.ejectedUntilMs = null;
        record.returnedAtMs = until; // when it came back, not when we happened to notice
        // A fresh start: the failures that caused the ejection must not re-eject it on the first new error.
        record.consecutiveFailures = 0;
        changed = true;
      } else {
        next = Math.min(next, until);
      }
    }
    this.nextReleaseAtMs = next;
    if (changed) this.tracker.markChanged();
  }

  /** Hosts that may be ejected at once: the percentage of the membership, rounded down, but at least one. */
  maxEjected(): number {
    return Math.max(1, Math.floor((this.tracker.size * this.options.maxEjectionPercent) / 100));
  }

  private ejectedCount(): number {
    let count = 0;
    for (const record of this.tracker.records()) if (record.ejected) count++;
    return count;
  }
}
