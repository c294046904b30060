/**
 * A connection's open streams by stream id: an open-addressing hash table in two plain arrays, used instead of a
 * `Map` for a reason of garbage collection, not of speed.
 *
 * A `Map` that keeps entries coming and going rehashes into a new backing table every few dozen insertions, and
 * V8 leaves the old table holding its entries and a pointer to its successor. Once one of those tables has been
 * promoted to the old generation, it is dead but treated as a root by every young-generation collection (the
 * remembered set), so it keeps its successor and the exchanges in it alive; they are promoted in turn and keep the
 * next table alive, and so on until the next full collection. With requests answered asynchronously (a dozen
 * streams open at any moment) that chain promoted the whole object graph of ~12 % of the requests on a loaded node:
 * ~6 MB per scavenge, a mark-compact every second (docs/performance.md). Here slots are cleared the moment a
 * stream leaves, and arrays left behind by a resize are emptied first, so nothing dead points at live requests.
 */
export class StreamTable<V extends object> {
  private ids: number[];
  private values: (V | undefined)[];
  private mask: number;
  private count = 0;

  /** `initialCapacity` is rounded up to a power of two (at least 16); the table doubles when half full. */
  constructor(initialCapacity = 64) {
    let capacity = 16;
    while (capacity < initialCapacity) capacity *= 2;
    this.ids = new Array<number>(capacity).fill(0);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Stream ids are positive; client-initiated ones are odd and increasing, so `id >>> 1` spreads them evenly. */
  private slotOf(id: number): number {
    let slot = (id >>> 1) & this.mask;
    while (this.ids[slot] !== 0 && this.ids[slot] !== id) slot = (slot + 1) & this.mask;
    return slot;
  }

  get(id: number): V | undefined {
    if (id <= 0) return undefined;
    return this.values[this.slotOf(id)];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  set(id: number, value: V): void {
    if (!Number.isInteger(id) || id <= 0) throw new RangeError(`stream id ${id} is not a positive integer`);
    const slot = this.slotOf(id);
    if (this.ids[slot] === 0) {
      this.ids[slot] = id;
      this.count++;
    }
    this.values[slot] = value;
    if (this.count * 2 > this.mask + 1) this.resize((this.mask + 1) * 2);
  }

  delete(id: number): boolean {
    if (id <= 0) return false;
    let slot = this.slotOf(id);
    if (this.ids[slot] === 0) return false;
    this.count--;
    // Backward-shift deletion: move later entries of the probe run into the hole, so lookups need no tombstones.
    for (let next = (slot + 1) & this.mask; this.ids[next] !== 0; next = (next + 1) & this.mask) {
      const home = (this.ids[next]! >>> 1) & this.mask;
      // The entry at `next` may fill the hole only if its home slot is not between the hole and it (cyclically).
      const between = slot <= next ? home > slot && home <= next : home > slot || home <= next;
      if (between) continue;
      this.ids[slot] = this.ids[next]!;
      this.values[slot] = this.values[next];
      slot = next;
    }
    this.ids[slot] = 0;
    this.values[slot] = undefined;
    return true;
  }

  /** The open streams, in no particular order (a copy: the table may change while the caller walks it). */
  list(): V[] {
    const out: V[] = [];
    for (const v of this.values) if (v !== undefined) out.push(v);
    return out;
  }

  private resize(capacity: number): void {
    const oldIds = this.ids;
    const oldValues = this.values;
    this.ids = new Array<number>(capacity).fill(0);
    this.values = new Array<V | undefined>(capacity).fill(undefined);
    this.mask = capacity - 1;
    for (let i = 0; i < oldIds.length; i++) {
      const id = oldIds[i]!;
      if (id === 0) continue;
      const slot = this.slotOf(id);
      this.ids[slot] = id;
      this.values[slot] = oldValues[i];
    }
    // The old arrays may already be in the old generation: empty them so they cannot keep requests alive.
    oldValues.fill(undefined);
  }
}
