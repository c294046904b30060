/**
 * Peak-EWMA of latency (Finagle / Linkerd). A sample above the current value is taken at once, so a host that
 * turns slow is avoided immediately; a sample below it is blended in with weight 1 − exp(−Δt/τ), so a host
 * that turns fast again earns its traffic back over about τ. Reads decay the value toward zero with the same
 * time constant: a host nobody has tried for a while looks cheap again and gets probed by real traffic.
 */
export class PeakEwma {
  private valueMs = 0;
  private stampMs = 0;
  private sampled = false;

  /** @param decayTimeMs τ, the time constant of the decay. Must be > 0. */
  constructor(private readonly decayTimeMs: number) {}

  /** True once at least one sample was observed. */
  get hasSamples(): boolean {
    return this.sampled;
  }

  observe(sampleMs: number, nowMs: number): void {
    if (!this.sampled) {
      this.valueMs = sampleMs;
      this.stampMs = nowMs;
      this.sampled = true;
      return;
    }
    if (sampleMs > this.valueMs) {
      this.valueMs = sampleMs;
    } else {
      const w = this.weightSince(nowMs);
      this.valueMs = this.valueMs * w + sampleMs * (1 - w);
    }
    // A clock that steps back must not make the next Δt negative (that would amplify instead of decay).
    this.stampMs = Math.max(this.stampMs, nowMs);
  }

  /** The estimate at `nowMs`, decayed toward zero since the last sample; 0 before any sample. */
  valueAt(nowMs: number): number {
    return this.sampled ? this.valueMs * this.weightSince(nowMs) : 0;
  }

  private weightSince(nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - this.stampMs);
    return Math.exp(-elapsedMs / this.decayTimeMs);
  }
}
