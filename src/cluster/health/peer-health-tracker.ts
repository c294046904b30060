import type { Clock } from '../../transport/index.js';
import type { HealthCondition } from './health-rules.js';
import {
  type PeerHealthTrackerOptions,
  type ResolvedPeerHealthTrackerOptions,
  resolvePeerHealthTrackerOptions,
} from './options.js';
import { PhiAccrualDetector } from './phi-accrual-detector.js';
import type { NodeVitals } from './vitals.js';

/**
 * alive: heartbeats arrive as expected. suspect: phi is over the threshold (no new leaders or replicas there).
 * dead: suspect continuously for timeUntilDeadMs (its replicas are rebuilt elsewhere).
 */
export type PeerState = 'alive' | 'suspect' | 'dead';

/** What the sender's heartbeat said besides "I am here" (all optional: a bare heartbeat is fine). */
export interface HeartbeatInfo {
  /** The sender's vital signs, kept as the peer's latest. */
  readonly vitals?: NodeVitals | null;
  /** The sender's own health condition, kept as the peer's latest. */
  readonly condition?: HealthCondition | null;
  /** The sender process's incarnation (e.g. its start time). A lower one than seen is a stale message. */
  readonly incarnation?: number;
  /** The sender's heartbeat sequence number within its incarnation; one not above the last seen is a duplicate. */
  readonly sequence?: number;
}

/**
 * accepted: recorded. duplicate: same incarnation and a sequence not above the last one (e.g. replayed).
 * stale: from an older incarnation than already seen. peer-limit: an unknown peer past maxPeers.
 */
export type HeartbeatOutcome = 'accepted' | 'duplicate' | 'stale' | 'peer-limit';

export interface PeerHealth {
  readonly peer: string;
  readonly state: PeerState;
  /** Suspicion level at evaluation time (0 = just heard). */
  readonly phi: number;
  /** Milliseconds since the last heartbeat; null if none was ever received. */
  readonly lastHeartbeatMsAgo: number | null;
  /** Clock time the peer entered its current state (for a peer never seen to change: when it was added). */
  readonly since: number;
  /** Latest vitals the peer sent; null if none. */
  readonly vitals: NodeVitals | null;
  /** Latest condition the peer sent; null if none. */
  readonly condition: HealthCondition | null;
  /** Latest incarnation the peer sent; null if none. */
  readonly incarnation: number | null;
}

/** One state change, for the node's event log. */
export interface HealthTransition {
  readonly atMs: number;
  readonly peer: string;
  readonly from: PeerState;
  readonly to: PeerState;
  readonly phi: number;
}

export interface HealthEvaluation {
  readonly atMs: number;
  /** Every tracked peer, sorted by name. */
  readonly peers: readonly PeerHealth[];
  /** State changes made by this evaluation, in peer-name order. */
  readonly transitions: readonly HealthTransition[];
  /** While non-null, a recent local pause keeps peers from being moved to suspect or dead until this time. */
  readonly verdictsSuppressedUntilMs: number | null;
}

export interface PeerHealthTrackerComponents {
  /** Milliseconds, monotonic. Required (use systemClock from the transport in production). */
  readonly clock: Clock;
  /**
   * Polled by every evaluate(): the longest local event-loop stall (ms) since the previous poll. Default: none
   * (the node calls noteLocalStall instead). See docs/health.md for how to measure it.
   */
  readonly localStallMs?: () => number;
}

interface PeerRecord {
  readonly peer: string;
  readonly detector: PhiAccrualDetector;
  state: PeerState;
  since: number;
  /** When the current suspicion's dead clock started (reset by a local pause). */
  suspectClockFromMs: number;
  /** Heartbeats in a row since phi was last seen over the threshold. */
  heartbeatsInRow: number;
  vitals: NodeVitals | null;
  condition: HealthCondition | null;
  incarnation: number | null;
  sequence: number | null;
}

/**
 * Tracks every peer of one node: records heartbeats, and on evaluate() judges each peer with its phi accrual
 * detector and moves it between alive, suspect and dead. Transitions happen only in evaluate(), so the node
 * decides when verdicts are made (typically on its 100 ms tick) and gets them back as a list to log and act on.
 *
 * Local pause rule: when the local node itself stalled longer than localPauseThresholdMs (reported through
 * noteLocalStall or the localStallMs component), every peer looks silent for no fault of its own. For
 * localPauseGraceMs after that, no peer is moved to suspect or dead (recoveries still happen), and each suspect
 * peer's dead clock restarts, so "dead" always means suspect for timeUntilDeadMs as seen by a node that was running.
 */
export class PeerHealthTracker {
  readonly options: ResolvedPeerHealthTrackerOptions;
  private readonly records = new Map<string, PeerRecord>();
  private readonly clock: Clock;
  private readonly localStallMs: (() => number) | undefined;
  private suppressedUntilMs: number | null = null;

  constructor(options: PeerHealthTrackerOptions, components: PeerHealthTrackerComponents) {
    this.options = resolvePeerHealthTrackerOptions(options);
    this.clock = components.clock;
    this.localStallMs = components.localStallMs;
  }

  /**
   * Starts tracking a peer that has not sent anything yet: its silence is judged from now (it becomes suspect,
   * then dead, if it never speaks). Returns false if maxPeers is reached. Adding a tracked peer does nothing.
   */
  addPeer(peer: string): boolean {
    return this.recordFor(peer) !== null;
  }

  /** Stops tracking a peer (it left the cluster). */
  removePeer(peer: string): void {
    this.records.delete(peer);
  }

  /** Tracks exactly these peers: adds the new ones (as addPeer), removes the others. */
  setPeers(peers: Iterable<string>): void {
    const wanted = new Set(peers);
    for (const peer of this.records.keys()) if (!wanted.has(peer)) this.records.delete(peer);
    for (const peer of wanted) this.recordFor(peer);
  }

  /** Tracked peer names, sorted. */
  peers(): string[] {
    return [...this.records.keys()].sort();
  }

  /** Records a heartbeat from `peer` arriving now. Unknown peers are added (up to maxPeers). */
  heartbeat(peer: string, info: HeartbeatInfo = {}): HeartbeatOutcome {
    const record = this.recordFor(peer);
    if (record === null) return 'peer-limit';
    if (info.incarnation !== undefined && record.incarnation !== null) {
      if (info.incarnation < record.incarnation) return 'stale';
      if (info.incarnation > record.incarnation) record.sequence = null;
    }
    if (info.sequence !== undefined && record.sequence !== null && info.sequence <= record.sequence) {
      if (info.incarnation === undefined || info.incarnation === record.incarnation) return 'duplicate';
    }
    // The heartbeat that ends a silence restarts the count of regular heartbeats needed to recover.
    if (record.detector.phi() > this.options.phiThreshold) record.heartbeatsInRow = 0;
    record.heartbeatsInRow = Math.min(record.heartbeatsInRow + 1, this.options.recoveryHeartbeats);
    record.detector.heartbeat();
    if (info.incarnation !== undefined) record.incarnation = info.incarnation;
    if (info.sequence !== undefined) record.sequence = info.sequence;
    if (info.vitals !== undefined) record.vitals = info.vitals;
    if (info.condition !== undefined) record.condition = info.condition;
    return 'accepted';
  }

  /**
   * Reports a local event-loop stall (ms), e.g. how late the node's periodic timer fired. A stall over
   * localPauseThresholdMs suppresses verdicts for localPauseGraceMs (see the class comment).
   */
  noteLocalStall(stallMs: number): void {
    if (!(stallMs > this.options.localPauseThresholdMs)) return;
    const now = this.clock.now();
    this.suppressedUntilMs = Math.max(this.suppressedUntilMs ?? 0, now + this.options.localPauseGraceMs);
    for (const record of this.records.values()) {
      if (record.state === 'suspect') record.suspectClockFromMs = now;
    }
  }

  /** Judges every peer now, applies the state changes and returns them with every peer's health. */
  evaluate(): HealthEvaluation {
    if (this.localStallMs) this.noteLocalStall(this.localStallMs());
    const now = this.clock.now();
    if (this.suppressedUntilMs !== null && now >= this.suppressedUntilMs) this.suppressedUntilMs = null;
    const suppressed = this.suppressedUntilMs !== null;
    const { phiThreshold, timeUntilDeadMs, recoveryHeartbeats } = this.options;
    const peers: PeerHealth[] = [];
    const transitions: HealthTransition[] = [];
    for (const name of this.peers()) {
      const record = this.records.get(name)!;
      const phi = record.detector.phi();
      const over = phi > phiThreshold;
      if (over) record.heartbeatsInRow = 0;
      const recovered = !over && record.heartbeatsInRow >= recoveryHeartbeats;
      let next: PeerState = record.state;
      if (record.state === 'alive') {
        if (over && !suppressed) next = 'suspect';
      } else if (recovered) next = 'alive';
      else if (record.state === 'suspect' && !suppressed && now - record.suspectClockFromMs >= timeUntilDeadMs) {
        next = 'dead';
      }
      if (next !== record.state) {
        transitions.push({ atMs: now, peer: name, from: record.state, to: next, phi });
        record.state = next;
        record.since = now;
        if (next === 'suspect') record.suspectClockFromMs = now;
      }
      const lastHeartbeatAtMs = record.detector.lastHeartbeatAt();
      peers.push({
        peer: name,
        state: record.state,
        phi,
        lastHeartbeatMsAgo: lastHeartbeatAtMs === null ? null : Math.max(0, now - lastHeartbeatAtMs),
        since: record.since,
        vitals: record.vitals,
        condition: record.condition,
        incarnation: record.incarnation,
      });
    }
    return { atMs: now, peers, transitions, verdictsSuppressedUntilMs: this.suppressedUntilMs };
  }

  private recordFor(peer: string): PeerRecord | null {
    const existing = this.records.get(peer);
    if (existing) return existing;
    if (this.records.size >= this.options.maxPeers) return null;
    const now = this.clock.now();
    const detector = new PhiAccrualDetector(this.options.detector, this.clock);
    detector.start();
    const record: PeerRecord = {
      peer,
      detector,
      state: 'alive',
      since: now,
      suspectClockFromMs: now,
      heartbeatsInRow: 0,
      vitals: null,
      condition: null,
      incarnation: null,
      sequence: null,
    };
    this.records.set(peer, record);
    return record;
  }
}
