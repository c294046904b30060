/**
 * A latency histogram with log-spaced buckets: constant memory whatever the number of values (one Uint32Array of
 * ~1100 counters with the defaults), O(1) record, percentiles within ±1 % relative error (each bucket is 2 %
 * wide and reports its geometric middle), clamped to the exact observed min and max — so a percentile that falls
 * on the largest value (p99 of fewer than 100 values) is exact.
 */
export class LatencyHistogram {
  private readonly counts: Uint32Array;
  private readonly logGrowth: number;
  private total = 0;
  private minSeen = Number.POSITIVE_INFINITY;
  private maxSeen = Number.NEGATIVE_INFINITY;

  /**
   * @param minMs values at or below this share the first bucket (default 1 µs).
   * @param maxMs values above this share the last bucket (default 1 hour).
   * @param growth ratio between consecutive bucket bounds (default 1.02).
   */
  constructor(
    private readonly minMs = 0.001,
    maxMs = 3_600_000,
    private readonly growth = 1.02,
  ) {
    this.logGrowth = Math.log(growth);
    this.counts = new Uint32Array(Math.ceil(Math.log(maxMs / minMs) / this.logGrowth) + 2);
  }

  get count(): number {
    return this.total;
  }

  /** Largest value recorded since the last reset; null when empty. */
  get max(): number | null {
    return this.total === 0 ? null : this.maxSeen;
  }

  /** Records one value; negative, NaN and infinite values are ignored. */
  record(valueMs: number): void {
    if (!Number.isFinite(valueMs) || valueMs < 0) return;
    const index =
      valueMs <= this.minMs
        ? 0
        : Math.min(this.counts.length - 1, Math.ceil(Math.log(valueMs / this.minMs) / this.logGrowth));
    // A Uint32 counter saturates rather than wraps (4 billion values in one window is not a realistic case).
    if (this.counts[index]! < 0xffffffff) {
      this.counts[index]!++;
      this.total++;
    }
    if (valueMs < this.minSeen) this.minSeen = valueMs;
    if (valueMs > this.maxSeen) this.maxSeen = valueMs;
  }

  /** The value at `percentile` (0..100, nearest rank); null when empty. */
  percentile(percentile: number): number | null {
    if (this.total === 0) return null;
    const rank = Math.max(1, Math.ceil((Math.min(100, Math.max(0, percentile)) / 100) * this.total));
    let seen = 0;
    for (let index = 0; index < this.counts.length; index++) {
      seen += this.counts[index]!;
      if (seen >= rank) {
        // The last bucket is open-ended: its middle means nothing, the true max bounds it.
        if (index === this.counts.length - 1) return this.maxSeen;
        const middle = index === 0 ? this.minMs : this.minMs * this.growth ** (index - 0.5);
        return Math.min(this.maxSeen, Math.max(this.minSeen, middle));
      }
    }
    return this.maxSeen;
  }

  reset(): void {
    if (this.total === 0) return;
    this.counts.fill(0);
    this.total = 0;
    this.minSeen = Number.POSITIVE_INFINITY;
    this.maxSeen = Number.NEGATIVE_INFINITY;
  }
}
