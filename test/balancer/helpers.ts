import type { TimerApi } from '../../src/balancer/health-checker.js';
import type { HostSpec } from '../../src/balancer/types.js';

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public nowMs = 1_000_000) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

interface Scheduled {
  id: number;
  atMs: number;
  callback: () => void;
}

/** setTimeout/clearTimeout on a FakeClock; `advance` fires due timers in time order, then lets promises settle. */
export class FakeTimers implements TimerApi {
  private nextId = 1;
  private queue: Scheduled[] = [];

  constructor(readonly clock: FakeClock) {}

  setTimeout(callback: () => void, delayMs: number): unknown {
    const timer = { id: this.nextId++, atMs: this.clock.nowMs + Math.max(0, delayMs), callback };
    this.queue.push(timer);
    return timer.id;
  }

  clearTimeout(handle: unknown): void {
    this.queue = this.queue.filter((timer) => timer.id !== handle);
  }

  get pending(): number {
    return this.queue.length;
  }

  async advance(ms: number): Promise<void> {
    const target = this.clock.nowMs + ms;
    await settle();
    for (;;) {
      this.queue.sort((a, b) => a.atMs - b.atMs || a.id - b.id);
      const due = this.queue[0];
      if (!due || due.atMs > target) break;
      this.queue.shift();
      this.clock.nowMs = Math.max(this.clock.nowMs, due.atMs);
      due.callback();
      await settle();
    }
    this.clock.nowMs = target;
  }
}

/** Lets pending promise callbacks run (a probe's answer, say). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await Promise.resolve();
}

/** n hosts h0..h(n-1), with optional extra fields. */
export function hosts(n: number, extra: (i: number) => Partial<HostSpec> = () => ({})): HostSpec[] {
  return Array.from({ length: n }, (_, i) => ({ id: `h${i}`, address: `10.0.0.${i}:7201`, ...extra(i) }));
}

/** Counts how often each value occurs. */
export function tally<T>(values: Iterable<T>): Map<T, number> {
  const counts = new Map<T, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}
