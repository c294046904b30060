/**
 * A count of events that forgets with time constant τ: each event adds 1, and the total decays by exp(−Δt/τ).
 * It measures "recent traffic" for the status page's share-of-traffic column without keeping per-event state.
 */
export class DecayingCounter {
  private total = 0;
  private stampMs = 0;

  /** @param decayTimeMs τ. Must be > 0. */
  constructor(private readonly decayTimeMs: number) {}

  add(nowMs: number, amount = 1): void {
    this.total = this.valueAt(nowMs) + amount;
    this.stampMs = Math.max(this.stampMs, nowMs);
  }

  valueAt(nowMs: number): number {
    const elapsedMs = Math.max(0, nowMs - this.stampMs);
    return this.total * Math.exp(-elapsedMs / this.decayTimeMs);
  }
}
