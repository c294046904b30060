import type { Random } from '../../../src/util/random.js';

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public nowMs = 1_000_000) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

interface Scheduled {
  readonly id: number;
  readonly atMs: number;
  readonly callback: () => void;
}

/** setTimeout/clearTimeout on a FakeClock; advance() fires due timers in time order. */
export class FakeTimers {
  private nextId = 1;
  private queue: Scheduled[] = [];

  constructor(readonly clock: FakeClock) {}

  readonly setTimeout = (callback: () => void, delayMs: number): unknown => {
    const id = this.nextId++;
    this.queue.push({ id, atMs: this.clock.nowMs + Math.max(0, delayMs), callback });
    return id;
  };

  readonly clearTimeout = (handle: unknown): void => {
    this.queue = this.queue.filter((timer) => timer.id !== handle);
  };

  get pending(): number {
    return this.queue.length;
  }

  advance(ms: number): void {
    const target = this.clock.nowMs + ms;
    for (;;) {
      this.queue.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
      const due = this.queue[0];
      if (!due || due.atMs > target) break;
      this.queue.shift();
      this.clock.nowMs = Math.max(this.clock.nowMs, due.atMs);
      due.callback();
    }
    this.clock.nowMs = target;
  }
}

/**
 * Arrival times of heartbeats sent every `intervalMs` from `startMs`, each delayed by a small jitter
 * (uniform 0..jitterMs) and, with probability `delayProbability`, by an extra uniform delay in
 * [delayMinMs, delayMaxMs). In-order delivery (TCP): a heartbeat never arrives before the previous one.
 */
export function jitteredArrivals(
  random: Random,
  count: number,
  {
    startMs = 0,
    intervalMs = 1000,
    jitterMs = 20,
    delayProbability = 0,
    delayMinMs = 300,
    delayMaxMs = 800,
  }: {
    startMs?: number;
    intervalMs?: number;
    jitterMs?: number;
    delayProbability?: number;
    delayMinMs?: number;
    delayMaxMs?: number;
  } = {},
): number[] {
  const arrivals: number[] = [];
  let previous = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < count; i++) {
    let latency = random.next() * jitterMs;
    if (random.chance(delayProbability)) latency += delayMinMs + random.next() * (delayMaxMs - delayMinMs);
    previous = Math.max(previous, startMs + i * intervalMs + latency);
    arrivals.push(previous);
  }
  return arrivals;
}

/**
 * Smallest silence (ms after `fromMs`, to 1 ms) at which `phi()` exceeds `threshold`, moving `clock`.
 * phi only grows with silence, so a binary search finds the crossing. Restores the clock to `fromMs`.
 */
export function silenceUntilPhiExceeds(
  clock: FakeClock,
  phi: () => number,
  threshold: number,
  fromMs: number,
  maxSilenceMs = 600_000,
): number {
  let low = 0;
  let high = maxSilenceMs;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    clock.nowMs = fromMs + middle;
    if (phi() > threshold) high = middle;
    else low = middle;
  }
  clock.nowMs = fromMs;
  return high;
}
