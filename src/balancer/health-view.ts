import type { HostRecord, HostTracker } from './host-tracker.js';
import type { OutlierDetector } from './outlier-detector.js';

/** The hosts pickers may choose from right now. */
export interface CandidateSet {
  /** Same array object for as long as nothing changed, so pickers can cache tables keyed on it. */
  readonly hosts: readonly HostRecord[];
  /** True when too few hosts are healthy and health is being ignored (`hosts` is then every host). */
  readonly panic: boolean;
  /** How many hosts are healthy (not ejected, not failing active checks). */
  readonly healthyCount: number;
}

/** A host serves when it is not ejected and active checks (if any) did not find it unhealthy or unknown. */
export function isHealthy(record: HostRecord): boolean {
  return !record.ejected && (record.health === 'healthy' || record.health === 'unchecked');
}

/**
 * Turns the tracker's per-host state into the candidate set, applying Envoy's panic threshold: when fewer
 * than `panicThresholdPercent` of the hosts are healthy, health is ignored and every host is a candidate —
 * better to spread load over possibly-sick hosts than to crush the few healthy ones (or a false alarm).
 * The result is cached until the tracker's version moves or an ejection expires.
 */
export class HealthView {
  private cached: CandidateSet | null = null;
  private cachedVersion = -1;

  constructor(
    private readonly tracker: HostTracker,
    private readonly outliers: OutlierDetector,
    private readonly panicThresholdPercent: number,
  ) {}

  candidates(nowMs: number): CandidateSet {
    this.outliers.releaseExpired(nowMs);
    if (this.cached && this.cachedVersion === this.tracker.version) return this.cached;
    const all = this.tracker.records();
    const healthy = all.filter(isHealthy);
    const panic = all.length > 0 && healthy.length * 100 < all.length * this.panicThresholdPercent;
    this.cached = { hosts: panic ? all : healthy, panic, healthyCount: healthy.length };
    this.cachedVersion = this.tracker.version;
    return this.cached;
  }
}
