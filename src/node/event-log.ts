import type { Counter } from 'prom-client';

/** One thing the cluster did by itself (or saw happen), and why. */
export interface ClusterEvent {
  /** Increasing per node, for `?since=`. */
  readonly id: number;
  /** ISO time. */
  readonly at: string;
  /** The node that recorded it. */
  readonly node: string;
  /** What: peer-suspect, peer-dead, peer-alive, condition-degraded, condition-healthy, transfer-leadership,
   * promote-spare, remove-dead-voter, dead-voter-no-spare, leader-elected. */
  readonly action: string;
  /** Whom it concerns (a peer), if anyone. */
  readonly target?: string;
  readonly reason: string;
  /** started | succeeded | failed | observed */
  readonly outcome: 'started' | 'succeeded' | 'failed' | 'observed';
}

/** A bounded ring of this node's events, readable at GET /v1/cluster/events and counted in /metrics. */
export class EventLog {
  private readonly events: ClusterEvent[] = [];
  private nextId = 1;

  constructor(
    private readonly node: string,
    private readonly counter: Counter<'action' | 'outcome'>,
    private readonly onEvent: (event: ClusterEvent) => void = () => {},
    private readonly capacity = 1000,
  ) {}

  record(action: string, reason: string, outcome: ClusterEvent['outcome'], target?: string): ClusterEvent {
    const event: ClusterEvent = {
      id: this.nextId++,
      at: new Date().toISOString(),
      node: this.node,
      action,
      ...(target !== undefined ? { target } : {}),
      reason,
      outcome,
    };
    this.events.push(event);
    if (this.events.length > this.capacity) this.events.splice(0, this.events.length - this.capacity);
    this.counter.inc({ action, outcome });
    this.onEvent(event);
    return event;
  }

  since(id = 0): ClusterEvent[] {
    return this.events.filter((e) => e.id > id);
  }
}
