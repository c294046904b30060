import type { MessageEnvelope, NodeId } from '../consensus/types.js';
import type { Random } from '../util/random.js';
import type { EventQueue } from './event-queue.js';

/** How the simulated network misbehaves right now (the fault injector changes it during a run). */
export interface NetworkConditions {
  /** Probability that a message is lost. */
  dropRate: number;
  /** Probability that a message is delivered twice. */
  duplicateRate: number;
  /** Delay of a message, uniform in [minDelayMs, maxDelayMs]; independent per message, so messages reorder. */
  minDelayMs: number;
  maxDelayMs: number;
  /** Probability that a message is delayed by up to `spikeDelayMs` more. */
  spikeRate: number;
  spikeDelayMs: number;
}

export const CALM_NETWORK: NetworkConditions = {
  dropRate: 0,
  duplicateRate: 0,
  minDelayMs: 1,
  maxDelayMs: 8,
  spikeRate: 0,
  spikeDelayMs: 0,
};

/** `refused`: the destination node was down (a real transport sees its port refuse connections). */
export type DeliveryOutcome = 'delivered' | 'dropped' | 'blocked' | 'refused';

/**
 * Messages between simulated nodes: delayed, reordered, duplicated and dropped by the current conditions, and
 * blocked by partitions (each a set of directed links from -> to, so one-way faults are possible).
 */
export class SimNetwork<M extends MessageEnvelope> {
  conditions: NetworkConditions = { ...CALM_NETWORK };
  /** Blocked directed links, counted: overlapping partitions each hold their links until they end. */
  private readonly blocked = new Map<string, number>();
  /** Extra delay per directed link (congestion on one path), in ms. */
  private readonly linkDelayMs = new Map<string, number>();
  sent = 0;
  dropped = 0;

  constructor(
    private readonly queue: EventQueue,
    private readonly random: Random,
    /** Hands a message to its destination; returns false when the destination is down. */
    private readonly deliver: (m: M) => boolean,
    /** Told what became of each message (the sender's transport would know a link is down). */
    private readonly onOutcome: (m: M, outcome: DeliveryOutcome) => void,
  ) {}

  isBlocked(from: NodeId, to: NodeId): boolean {
    return this.blocked.has(`${from}>${to}`);
  }

  /** Blocks one directed link; returns the links blocked, for `unblock`. */
  block(from: NodeId, to: NodeId): string[] {
    const link = `${from}>${to}`;
    this.blocked.set(link, (this.blocked.get(link) ?? 0) + 1);
    return [link];
  }

  /** Ends a fault: releases its hold on each link (a link stays cut while another fault holds it). */
  unblock(links: readonly string[]): void {
    for (const link of links) {
      const n = this.blocked.get(link);
      if (n === undefined) continue;
      if (n <= 1) this.blocked.delete(link);
      else this.blocked.set(link, n - 1);
    }
  }

  /** Cuts every link between the two groups, both ways; returns the links, for `unblock`. */
  partition(a: readonly NodeId[], b: readonly NodeId[]): string[] {
    const links: string[] = [];
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue;
        links.push(...this.block(x, y), ...this.block(y, x));
      }
    }
    return links;
  }

  healAll(): void {
    this.blocked.clear();
  }

  /** Makes one directed link slower than the others (0 removes the extra delay). */
  setLinkDelay(from: NodeId, to: NodeId, delayMs: number): void {
    if (delayMs <= 0) this.linkDelayMs.delete(`${from}>${to}`);
    else this.linkDelayMs.set(`${from}>${to}`, delayMs);
  }

  clearLinkDelays(): void {
    this.linkDelayMs.clear();
  }

  blockedLinks(): string[] {
    return [...this.blocked.keys()].sort();
  }

  send(m: M): void {
    this.sent++;
    const c = this.conditions;
    if (this.isBlocked(m.from, m.to)) {
      this.dropped++;
      this.onOutcome(m, 'blocked');
      return;
    }
    if (this.random.chance(c.dropRate)) {
      this.dropped++;
      this.onOutcome(m, 'dropped');
      return;
    }
    const copies = this.random.chance(c.duplicateRate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      let delay = c.minDelayMs + this.random.next() * (c.maxDelayMs - c.minDelayMs);
      delay += this.linkDelayMs.get(`${m.from}>${m.to}`) ?? 0;
      if (this.random.chance(c.spikeRate)) delay += this.random.next() * c.spikeDelayMs;
      this.queue.schedule(delay, () => {
        // A partition that started while the message was in flight catches it too.
        if (this.isBlocked(m.from, m.to)) {
          this.onOutcome(m, 'blocked');
          return;
        }
        this.onOutcome(m, this.deliver(m) ? 'delivered' : 'refused');
      });
    }
  }
}
