import type { HostRecord } from '../host-tracker.js';
import type { BalanceRequest } from '../types.js';
import { positiveNumber } from '../validate.js';
import { type Picker, type PickerContext, withoutExcluded } from './picker.js';

export interface LeastTimeOptions {
  /**
   * Latency assumed for hosts without samples when no candidate has any samples either. (When some do, a new
   * host is assumed to be as fast as their average: neither flooded as if free nor starved as if slow.)
   * Default: 10 ms.
   */
  initialLatencyMs?: number;
}

export const LEAST_TIME_DEFAULTS = { initialLatencyMs: 10 } as const;

/** Latency floor inside the cost, so a host reporting 0 ms still pays for its queue. */
const MIN_LATENCY_MS = 0.001;

/**
 * Least response time, done the Finagle/Linkerd way: take two distinct candidates at random and send the
 * request to the cheaper one, where cost = peak-EWMA latency × (requests in flight + 1). Two random choices
 * instead of the global minimum, because every client picking the same "best" host would herd onto it; the
 * in-flight factor reacts at once to a host that is queueing. A failure enters the latency estimate as at
 * least the tracker's `failurePenaltyMs`, so a host that fails fast does not look fast.
 */
export class LeastTimePicker implements Picker {
  readonly strategy = 'least-time' as const;
  private readonly initialLatencyMs: number;

  constructor(
    private readonly context: Pick<PickerContext, 'random' | 'now'>,
    options: LeastTimeOptions = {},
  ) {
    this.initialLatencyMs = positiveNumber(
      'leastTime.initialLatencyMs',
      options.initialLatencyMs,
      LEAST_TIME_DEFAULTS.initialLatencyMs,
    );
  }

  pick(_request: BalanceRequest, candidates: readonly HostRecord[], excluded?: ReadonlySet<string>): HostRecord | null {
    const pool = withoutExcluded(candidates, excluded);
    const n = pool.length;
    if (n === 0) return null;
    if (n === 1) return pool[0]!;
    const i = this.context.random.int(n);
    let j = this.context.random.int(n - 1);
    if (j >= i) j++;
    const a = pool[i]!;
    const b = pool[j]!;
    const nowMs = this.context.now();
    const neutralMs =
      a.latency.hasSamples && b.latency.hasSamples ? this.initialLatencyMs : this.neutralLatency(pool, nowMs);
    return cost(b, nowMs, neutralMs) < cost(a, nowMs, neutralMs) ? b : a;
  }

  /** The average current estimate of the candidates that have samples, or `initialLatencyMs` if none has. */
  private neutralLatency(pool: readonly HostRecord[], nowMs: number): number {
    let sum = 0;
    let count = 0;
    for (const record of pool) {
      if (!record.latency.hasSamples) continue;
      sum += record.latency.valueAt(nowMs);
      count++;
    }
    return count > 0 ? sum / count : this.initialLatencyMs;
  }
}

/** The least-time cost of sending one more request to a host. */
export function cost(record: HostRecord, nowMs: number, neutralLatencyMs: number): number {
  const latencyMs = record.latency.hasSamples ? record.latency.valueAt(nowMs) : neutralLatencyMs;
  return Math.max(latencyMs, MIN_LATENCY_MS) * (record.pending + 1);
}
