import type { HostRecord } from '../host-tracker.js';
import type { BalanceRequest } from '../types.js';
import type { Picker, PickerContext } from './picker.js';

/**
 * Round-robin: each pick takes the next candidate in order. Every instance starts at a random offset, so many
 * clients that start together don't all hit the first host at once.
 */
export class RoundRobinPicker implements Picker {
  readonly strategy = 'rr' as const;
  private counter: number;

  constructor(context: Pick<PickerContext, 'random'>) {
    this.counter = context.random.int(0x40000000);
  }

  pick(_request: BalanceRequest, candidates: readonly HostRecord[], excluded?: ReadonlySet<string>): HostRecord | null {
    const n = candidates.length;
    if (n === 0) return null;
    const start = this.counter % n;
    this.counter = start + 1; // stays below n + 1, so it never wraps and skips a host
    for (let step = 0; step < n; step++) {
      const record = candidates[(start + step) % n]!;
      if (!excluded?.has(record.id)) return record;
    }
    return null;
  }
}
