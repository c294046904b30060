/**
 * A fixed-size ring of heartbeat inter-arrival intervals with O(1) mean and standard deviation. The sums are
 * recomputed from the ring each time it wraps, so floating-point drift from add/subtract pairs stays bounded.
 * Memory: one Float64Array of `capacity` entries.
 */
export class IntervalWindow {
  private readonly values: Float64Array;
  private next = 0;
  private filled = 0;
  private sum = 0;
  private sumOfSquares = 0;

  constructor(readonly capacity: number) {
    this.values = new Float64Array(capacity);
  }

  get size(): number {
    return this.filled;
  }

  add(intervalMs: number): void {
    if (this.filled === this.capacity) {
      const evicted = this.values[this.next]!;
      this.sum -= evicted;
      this.sumOfSquares -= evicted * evicted;
    } else this.filled++;
    this.values[this.next] = intervalMs;
    this.sum += intervalMs;
    this.sumOfSquares += intervalMs * intervalMs;
    this.next++;
    if (this.next === this.capacity) {
      this.next = 0;
      this.recomputeSums();
    }
  }

  /** Mean of the intervals; 0 when empty. */
  mean(): number {
    return this.filled === 0 ? 0 : this.sum / this.filled;
  }

  /** Population standard deviation of the intervals; 0 when empty. */
  stdDeviation(): number {
    if (this.filled === 0) return 0;
    const mean = this.sum / this.filled;
    return Math.sqrt(Math.max(0, this.sumOfSquares / this.filled - mean * mean));
  }

  clear(): void {
    this.next = 0;
    this.filled = 0;
    this.sum = 0;
    this.sumOfSquares = 0;
  }

  private recomputeSums(): void {
    let sum = 0;
    let sumOfSquares = 0;
    for (let i = 0; i < this.filled; i++) {
      const value = this.values[i]!;
      sum += value;
      sumOfSquares += value * value;
    }
    this.sum = sum;
    this.sumOfSquares = sumOfSquares;
  }
}
