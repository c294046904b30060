import { KvError } from './errors.js';

export interface LessorOptions {
  /** The clock, in milliseconds (injected: nothing here reads the wall clock). */
  readonly nowMs: () => number;
  /** Most lease ids one expired() call returns. Default 1,000. */
  readonly maxExpiredPerCall?: number;
  /**
   * After expired() hands out an id, it hands it out again only after this long, in case the proposed revoke
   * was lost (leader change, dropped proposal). Default 5,000 ms.
   */
  readonly revokeRetryMs?: number;
}

export interface LeaseTtl {
  readonly id: number;
  readonly ttlSeconds: number;
}

interface Tracked {
  readonly ttlSeconds: number;
  deadlineMs: number;
  /** expired() handed it out: it is dying and cannot be kept alive. */
  revoking: boolean;
}

interface HeapEntry {
  readonly deadlineMs: number;
  readonly id: number;
}

/**
 * Leader-side lease deadlines. The replicated state machine knows which leases exist and their TTLs; only the
 * leader (the primary lessor) tracks when each expires, and proposes `leaseRevoke` for those that did. Deadlines
 * are volatile by design: a new leader calls `promote()` and every lease gets a full TTL again (as in etcd), so
 * no lease dies because leadership moved; a deposed leader calls `demote()` and stops expiring anything.
 *
 * Pure: time comes from the injected clock; expired() is a bounded batch from a min-heap of deadlines.
 */
export class Lessor {
  private readonly leases = new Map<number, Tracked>();
  private heap: HeapEntry[] = [];
  private primary = false;
  private readonly nowMs: () => number;
  private readonly maxExpiredPerCall: number;
  private readonly revokeRetryMs: number;

  constructor(options: LessorOptions) {
    if (typeof options?.nowMs !== 'function') throw new KvError('INVALID_ARGUMENT', 'Lessor needs a nowMs clock');
    this.nowMs = options.nowMs;
    this.maxExpiredPerCall = options.maxExpiredPerCall ?? 1000;
    this.revokeRetryMs = options.revokeRetryMs ?? 5000;
    if (!Number.isSafeInteger(this.maxExpiredPerCall) || this.maxExpiredPerCall < 1) {
      throw new KvError('INVALID_ARGUMENT', 'maxExpiredPerCall must be a positive integer');
    }
    if (!(this.revokeRetryMs >= 0)) throw new KvError('INVALID_ARGUMENT', 'revokeRetryMs must be ≥ 0');
  }

  get isPrimary(): boolean {
    return this.primary;
  }

  get size(): number {
    return this.leases.size;
  }

  /** A grant was applied: track it (its deadline runs only on the primary). */
  grant(id: number, ttlSeconds: number): void {
    this.track(id, ttlSeconds, this.primary ? this.nowMs() + ttlSeconds * 1000 : Number.POSITIVE_INFINITY);
  }

  /** A revoke was applied: forget it. */
  revoke(id: number): void {
    this.leases.delete(id);
  }

  /**
   * Renews a lease: its deadline becomes now + TTL. Returns the TTL in seconds. Throws KvError
   * LESSOR_NOT_PRIMARY (send keep-alives to the leader), LEASE_NOT_FOUND, LEASE_EXPIRED (it is being revoked).
   */
  keepAlive(id: number): number {
    if (!this.primary) throw new KvError('LESSOR_NOT_PRIMARY', 'keep-alives are handled by the leader');
    const lease = this.leases.get(id);
    if (lease === undefined) throw new KvError('LEASE_NOT_FOUND', `lease ${id} does not exist`);
    const now = this.nowMs();
    if (lease.revoking || lease.deadlineMs <= now) {
      throw new KvError('LEASE_EXPIRED', `lease ${id} expired and is being revoked`);
    }
    lease.deadlineMs = now + lease.ttlSeconds * 1000;
    this.push(id, lease.deadlineMs);
    return lease.ttlSeconds;
  }

  /** Milliseconds left before the lease expires (Infinity when not primary), or null if unknown. */
  remainingMs(id: number): number | null {
    const lease = this.leases.get(id);
    if (lease === undefined) return null;
    return Math.max(0, lease.deadlineMs - this.nowMs());
  }

  /**
   * Becomes primary (the node became leader). `leases` is the state machine's list (KvStore.leases()); every
   * lease gets deadline now + TTL + extendMs, whatever its previous deadline.
   */
  promote(leases: readonly LeaseTtl[], extendMs = 0): void {
    this.primary = true;
    this.leases.clear();
    this.heap = [];
    const now = this.nowMs();
    for (const lease of leases) this.track(lease.id, lease.ttlSeconds, now + lease.ttlSeconds * 1000 + extendMs);
  }

  /** Stops being primary: nothing expires until the next promote(). */
  demote(): void {
    this.primary = false;
    this.heap = [];
    for (const lease of this.leases.values()) {
      lease.deadlineMs = Number.POSITIVE_INFINITY;
      lease.revoking = false;
    }
  }

  /**
   * Leases whose deadline passed, soonest first, at most maxExpiredPerCall: the leader proposes leaseRevoke for
   * each. An id comes back after revokeRetryMs if it is still not revoked by then. Empty when not primary.
   */
  expired(nowMs: number = this.nowMs()): number[] {
    if (!this.primary) return [];
    const out: number[] = [];
    while (out.length < this.maxExpiredPerCall && this.heap.length > 0 && this.heap[0]!.deadlineMs <= nowMs) {
      const top = this.pop();
      const lease = this.leases.get(top.id);
      if (lease === undefined || lease.deadlineMs !== top.deadlineMs) continue; // stale heap entry
      out.push(top.id);
      lease.revoking = true;
      lease.deadlineMs = nowMs + this.revokeRetryMs;
      this.push(top.id, lease.deadlineMs);
    }
    return out;
  }

  private track(id: number, ttlSeconds: number, deadlineMs: number): void {
    this.leases.set(id, { ttlSeconds, deadlineMs, revoking: false });
    if (Number.isFinite(deadlineMs)) this.push(id, deadlineMs);
  }

  // A binary min-heap on deadlines with lazy deletion; rebuilt when stale entries dominate.
  private push(id: number, deadlineMs: number): void {
    if (this.heap.length > 2 * this.leases.size + 64) this.rebuild();
    this.heap.push({ id, deadlineMs });
    this.siftUp(this.heap.length - 1);
  }

  private rebuild(): void {
    this.heap = [];
    for (const [id, lease] of this.leases) {
      if (Number.isFinite(lease.deadlineMs)) {
        this.heap.push({ id, deadlineMs: lease.deadlineMs });
        this.siftUp(this.heap.length - 1);
      }
    }
  }

  private pop(): HeapEntry {
    const heap = this.heap;
    const top = heap[0]!;
    const last = heap.pop()!;
    if (heap.length > 0) {
      heap[0] = last;
      this.siftDown(0);
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const x = this.heap[a]!;
    const y = this.heap[b]!;
    return x.deadlineMs < y.deadlineMs || (x.deadlineMs === y.deadlineMs && x.id < y.id);
  }

  private swap(a: number, b: number): void {
    const t = this.heap[a]!;
    this.heap[a] = this.heap[b]!;
    this.heap[b] = t;
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let smallest = i;
      if (l < n && this.less(l, smallest)) smallest = l;
      if (r < n && this.less(r, smallest)) smallest = r;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
