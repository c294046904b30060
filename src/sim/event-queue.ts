/**
 * The simulator's agenda: callbacks ordered by virtual time, ties broken by insertion order so a run is
 * reproducible. A binary heap, because a run schedules hundreds of thousands of events.
 */
interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly run: () => void;
}

export class EventQueue {
  private heap: Scheduled[] = [];
  private seq = 0;
  /** Current virtual time, in milliseconds. */
  now = 0;

  get size(): number {
    return this.heap.length;
  }

  /** Runs `run` after `delayMs` of virtual time (>= 0). */
  schedule(delayMs: number, run: () => void): void {
    this.push({ at: this.now + Math.max(0, delayMs), seq: this.seq++, run });
  }

  /** Runs the next event; returns false when none is left or the next one lies after `untilMs`. */
  runNext(untilMs: number): boolean {
    const top = this.heap[0];
    if (!top || top.at > untilMs) return false;
    this.pop();
    this.now = top.at;
    top.run();
    return true;
  }

  private less(a: Scheduled, b: Scheduled): boolean {
    return a.at < b.at || (a.at === b.at && a.seq < b.seq);
  }

  private push(item: Scheduled): void {
    const h = this.heap;
    h.push(item);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < h.length && this.less(h[l]!, h[smallest]!)) smallest = l;
      if (r < h.length && this.less(h[r]!, h[smallest]!)) smallest = r;
      if (smallest === i) return;
      [h[i], h[smallest]] = [h[smallest]!, h[i]!];
      i = smallest;
    }
  }
}
