import type { Logger } from 'pino';
import {
  createHealthHeartbeat,
  evaluateHealthRules,
  type HealthCondition,
  type HealthRulesOptions,
  type NodeVitals,
  type PeerHealth,
  PeerHealthTracker,
  parseHealthHeartbeat,
  ResourceMonitor,
} from '../cluster/health/index.js';
import type { EventLog } from './event-log.js';

export interface NodeHealthOptions {
  /** How often this node heartbeats every peer. Default 1000 ms. */
  readonly heartbeatIntervalMs: number;
  /** Suspect for this long means dead. Default 300 000 ms (5 min). */
  readonly timeUntilDeadMs: number;
  /** Phi above this means suspect. Default 8. */
  readonly phiThreshold: number;
  /** Health rules (thresholds and how long they must hold); defaults in docs/health.md. */
  readonly rules: HealthRulesOptions;
  /** The data directory (its filesystem's space is a vital sign). */
  readonly dataDir: string;
}

export interface NodeHealthDeps {
  readonly name: string;
  readonly options: NodeHealthOptions;
  /** Sends a wire message to a peer (the transport). */
  readonly send: (peer: string, message: unknown) => void;
  /** Current peers (members other than this node). */
  readonly peers: () => string[];
  readonly events: EventLog;
  readonly logger: Logger;
  /** Monotonic milliseconds. */
  readonly now: () => number;
  /** Told when this node's own condition or a peer's state changed (the node re-derives its election policy). */
  readonly onChange: () => void;
}

/**
 * This node's health: it heartbeats every peer with its vital signs and condition, judges each peer by a
 * phi-accrual detector over those heartbeats, and evaluates its own condition from its vital signs by the
 * health rules. Transitions go to the event log. (docs/health.md)
 */
export class NodeHealth {
  readonly monitor: ResourceMonitor;
  readonly tracker: PeerHealthTracker;
  private condition: HealthCondition | null = null;
  private sequence = 0;
  private readonly incarnation = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private latest = new Map<string, PeerHealth>();

  constructor(private readonly d: NodeHealthDeps) {
    this.monitor = new ResourceMonitor({ dataDir: d.options.dataDir, sampleIntervalMs: 1000 });
    this.tracker = new PeerHealthTracker(
      { timeUntilDeadMs: d.options.timeUntilDeadMs, phiThreshold: d.options.phiThreshold },
      { clock: { now: d.now } },
    );
    this.tracker.setPeers(d.peers());
  }

  start(): void {
    this.monitor.start();
    this.timer = setInterval(() => this.beat(), this.d.options.heartbeatIntervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.monitor.stop();
  }

  /** This node's own condition (healthy until the rules say otherwise). */
  get ownCondition(): HealthCondition {
    return this.condition ?? { status: 'healthy', reasons: [] };
  }

  get ownVitals(): NodeVitals | null {
    return this.monitor.latest();
  }

  /** What this node knows of a peer (null until the first evaluation). */
  peer(name: string): PeerHealth | undefined {
    return this.latest.get(name);
  }

  peers(): PeerHealth[] {
    return [...this.latest.values()];
  }

  /** Alive and not degraded (this node included, by its own condition). */
  isHealthy(name: string): boolean {
    if (name === this.d.name) return this.ownCondition.status !== 'degraded';
    const p = this.latest.get(name);
    return p !== undefined && p.state === 'alive' && p.condition?.status !== 'degraded';
  }

  membersChanged(): void {
    this.tracker.setPeers(this.d.peers());
  }

  /** Sends this node's heartbeat and re-evaluates its own condition. */
  private beat(): void {
    const vitals = this.monitor.latest();
    const previous = this.condition?.status;
    this.condition = evaluateHealthRules(
      this.monitor.history(),
      this.condition,
      vitals?.atMs ?? this.d.now(),
      this.d.options.rules,
    );
    if (previous !== undefined && previous !== this.condition.status) {
      const why = this.condition.reasons.map((r) => `${r.code}: ${r.message}`).join('; ') || 'every rule holds again';
      this.d.events.record(`condition-${this.condition.status}`, why, 'observed', this.d.name);
      this.d.logger.warn({ condition: this.condition }, 'own health condition changed');
      this.d.onChange();
    }
    const hb = createHealthHeartbeat({
      node: this.d.name,
      incarnation: this.incarnation,
      sequence: this.sequence++,
      sentAtMs: this.d.now(),
      vitals,
      condition: this.condition,
    });
    for (const peer of this.d.peers()) this.d.send(peer, { t: 'health', hb });
  }

  /** A heartbeat arrived from `from` (the transport authenticated the sender). */
  onHeartbeat(from: string, raw: unknown): boolean {
    const parsed = parseHealthHeartbeat(raw);
    if (!parsed.ok || parsed.heartbeat.node !== from) return false;
    this.tracker.heartbeat(from, parsed.heartbeat);
    return true;
  }

  /** Called every node tick, with how late the tick fired (a local stall suppresses verdicts). */
  evaluate(localStallMs: number): void {
    this.tracker.noteLocalStall(localStallMs);
    const result = this.tracker.evaluate();
    this.latest = new Map(result.peers.map((p) => [p.peer, p]));
    for (const t of result.transitions) {
      this.d.events.record(`peer-${t.to}`, `phi ${t.phi.toFixed(1)}, was ${t.from}`, 'observed', t.peer);
    }
    if (result.transitions.length > 0) this.d.onChange();
  }
}
