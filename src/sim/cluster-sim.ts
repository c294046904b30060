import { ConsensusError } from '../consensus/errors.js';
import type { ConfChange, ConfState, MessageEnvelope, NodeId, SoftState } from '../consensus/types.js';
import { SeededRandom } from '../util/random.js';
import { type EngineFactory, type EngineSemantics, type EngineTuning, RAFT_SEMANTICS } from './engine-factory.js';
import { EventQueue } from './event-queue.js';
import { InvariantChecker, type InvariantName, InvariantViolation } from './invariants.js';
import { CALM_NETWORK, type DeliveryOutcome, SimNetwork } from './sim-network.js';
import { type DiskModel, SimNode } from './sim-node.js';
import { encodeWrite } from './state-machine.js';
import { Workload, type WorkloadStats } from './workload.js';

export interface SimOptions {
  readonly seed: number;
  /** Founding voters. Default 3. */
  readonly nodes?: number;
  /** Nodes that can join later (membership changes). Default 2. */
  readonly spares?: number;
  /** Virtual time of faults and load. Default 12 000 ms. */
  readonly chaosMs?: number;
  /** After healing, how long a leader and convergence may take before liveness fails. Default 30 000 ms. */
  readonly livenessMs?: number;
  /** Concurrent simulated clients. Default 3. */
  readonly clients?: number;
  /** Virtual milliseconds per engine tick. Default 100. */
  readonly tickMs?: number;
  /** Keep every trace line (slow), not only the last ones. Default false. */
  readonly fullTrace?: boolean;
  /** `mixed`: about a third of the seeds are stormy; `stormy`: every seed is. Default mixed. */
  readonly profile?: 'mixed' | 'stormy';
  /** Fixed engine limits instead of the per-seed random choice. */
  readonly tuning?: EngineTuning;
  /** Drive engines with asynchronous storage writes. Default: on for even seeds (both modes get tested). */
  readonly asyncStorage?: boolean;
}

export interface SimStats extends WorkloadStats {
  messages: number;
  messagesDropped: number;
  faults: number;
  crashes: number;
  leaderElections: number;
  snapshotsInstalled: number;
  membershipChanges: number;
  transfers: number;
  virtualMs: number;
}

export interface SimResult {
  readonly seed: number;
  readonly ok: boolean;
  readonly violation?: { readonly invariant: InvariantName; readonly message: string; readonly atMs: number };
  readonly trace: readonly string[];
  readonly stats: SimStats;
}

const TRACE_LINES = 400;

const DISK: DiskModel = { minSyncMs: 0.5, maxSyncMs: 4, slowSyncRate: 0.02, slowSyncMs: 150 };

/**
 * One deterministic run of a simulated cluster: a seeded schedule of network faults, crashes, membership changes,
 * leadership transfers and snapshots under client load, with every invariant checked as events happen; then the
 * faults heal and the cluster must elect a leader, commit, and converge within a bounded virtual time.
 */
export class ClusterSim {
  readonly queue = new EventQueue();
  readonly random: SeededRandom;
  readonly nodes = new Map<NodeId, SimNode<MessageEnvelope>>();
  readonly network: SimNetwork<MessageEnvelope>;
  readonly checker: InvariantChecker;
  private readonly semantics: EngineSemantics;
  readonly workload: Workload;
  private readonly trace: string[] = [];
  private readonly spares: NodeId[] = [];
  /**
   * For every node seen in a leader's configuration, the applied index at which it was seen. A later leader that
   * applied at least that far and no longer names it has applied its removal (one that applied less may just lag).
   */
  private readonly seenAsMemberAt = new Map<NodeId, number>();
  private readonly founders: NodeId[] = [];
  private readonly stats = {
    faults: 0,
    leaderElections: 0,
    snapshotsInstalled: 0,
    membershipChanges: 0,
    transfers: 0,
  };
  private chaos = true;
  /** Nodes that last reported themselves leader (from their Ready's soft state). */
  private readonly leaders = new Set<NodeId>();
  /**
   * Stormy seeds inject faults every 50-300 ms and often cut a new leader off right after it wins, which yields
   * the short-lived leaders with divergent log tails that subtle commit bugs need (Raft paper, Figure 8).
   */
  private readonly stormy: boolean;
  private readonly o: Required<Omit<SimOptions, 'tuning' | 'asyncStorage'>> & Pick<SimOptions, 'tuning'>;
  private readonly asyncStorage: boolean;

  constructor(
    private readonly factory: EngineFactory,
    options: SimOptions,
  ) {
    this.o = {
      nodes: 3,
      spares: 2,
      chaosMs: 12_000,
      livenessMs: 30_000,
      clients: 3,
      tickMs: 100,
      fullTrace: false,
      profile: 'mixed',
      ...options,
    };
    this.semantics = factory.semantics ?? RAFT_SEMANTICS;
    this.checker = new InvariantChecker(this.semantics);
    this.random = new SeededRandom(this.o.seed);
    // Not drawn from the random stream, so that a seed's schedule does not depend on the mode.
    this.asyncStorage = options.asyncStorage ?? this.o.seed % 2 === 0;
    const stormyDraw = this.random.chance(0.35);
    this.stormy = this.o.profile === 'stormy' || stormyDraw;
    this.network = new SimNetwork(
      this.queue,
      this.random.fork(),
      (m) => this.nodes.get(m.to)?.receive(m) ?? false,
      (m, outcome) => this.onDelivery(m, outcome),
    );
    const hooks = {
      send: (m: MessageEnvelope) => this.network.send(m),
      onApplied: (node: SimNode<MessageEnvelope>, e: Parameters<InvariantChecker['entryApplied']>[1], d: number) => {
        this.checker.entryApplied(node.id, e, d);
        this.workload.onApplied(node, e);
      },
      onSnapshotInstalled: (node: SimNode<MessageEnvelope>, index: number, digest: number) => {
        this.stats.snapshotsInstalled++;
        this.log(`${node.id} installed snapshot@${index}`);
        this.checker.snapshotInstalled(node.id, index, digest);
      },
      onSoftState: (node: SimNode<MessageEnvelope>, soft: SoftState, term: number) =>
        this.onSoftState(node, soft, term),
      onReadServed: (node: SimNode<MessageEnvelope>, read: { context: number; index: number }) =>
        this.workload.onReadServed(node, read),
      trace: (line: string) => this.log(line),
    };
    // Tiny messages (one entry each) and windows of one make lost and reordered appends matter.
    const drawn = {
      maxMessageBytes: [40, 256, 4096][this.random.int(3)]!,
      maxInflightMessages: [1, 4, 64][this.random.int(3)]!,
      electionTicks: this.stormy ? 3 + this.random.int(3) : 10,
    };
    const tuning = this.o.tuning ?? drawn;
    const total = this.o.nodes + this.o.spares;
    for (let i = 1; i <= total; i++) {
      const id = `n${i}`;
      const node = new SimNode(
        id,
        this.queue,
        this.random.fork(),
        factory,
        hooks,
        DISK,
        this.o.tickMs,
        10 + this.random.int(40),
        this.random.int(12),
        tuning,
        this.asyncStorage,
      );
      this.nodes.set(id, node);
      if (i <= this.o.nodes) this.founders.push(id);
      else this.spares.push(id);
    }
    this.workload = new Workload(
      this.queue,
      this.random.fork(),
      () => this.liveNodes(),
      (line) => this.log(line),
      this.o.clients,
      5_000,
    );
  }

  private log(line: string): void {
    this.trace.push(`t=${this.queue.now.toFixed(1)} ${line}`);
    if (!this.o.fullTrace && this.trace.length > TRACE_LINES * 2) this.trace.splice(0, this.trace.length - TRACE_LINES);
  }

  private liveNodes(): SimNode<MessageEnvelope>[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  private onDelivery(m: MessageEnvelope, outcome: DeliveryOutcome): void {
    // Faults timed by messages, not by the clock, land between any two steps of a protocol exchange; a leader
    // cut off right after an acknowledgement leaves followers with half of what it meant to send.
    const rate = this.leaders.has(m.to) ? 0.05 : 0.002;
    if (this.stormy && this.chaos && outcome === 'delivered' && this.random.chance(rate)) {
      const others = [...this.nodes.keys()].filter((id) => id !== m.to);
      this.hold(this.network.partition([m.to], others));
      this.log(`FAULT isolate ${m.to} right after it received ${m.type} from ${m.from}`);
    }
    const sender = this.nodes.get(m.from);
    if (!sender?.engine) return;
    // A transport knows when a snapshot stream completed or failed, and when a link is down.
    if (m.type === 'snap') sender.withEngine((e) => e.reportSnapshot(m.to, outcome === 'delivered'));
    else if (outcome === 'blocked' && m.type === this.semantics.appendMessageType) {
      sender.withEngine((e) => e.reportUnreachable(m.to));
    }
    // The destination's process is down: as the node does on ECONNREFUSED, tell the engine.
    if (outcome === 'refused') sender.withEngine((e) => e.reportPeerDown(m.to));
  }

  private onSoftState(node: SimNode<MessageEnvelope>, soft: SoftState, term: number): void {
    if (soft.role !== 'leader') {
      this.leaders.delete(node.id);
      return;
    }
    this.leaders.add(node.id);
    this.stats.leaderElections++;
    this.log(`${node.id} leads term ${term}`);
    this.checker.leaderElected(node.id, term, node.engine!, node.disk.snapshot().meta.index);
    if (this.stormy && this.chaos && this.random.chance(0.4)) {
      // Cut off at once (its first entry then stays its own: a divergent tail) or a little later.
      const isolate = () => {
        const others = [...this.nodes.keys()].filter((id) => id !== node.id);
        this.hold(this.network.partition([node.id], others));
        this.log(`FAULT isolate new leader ${node.id}`);
      };
      if (this.random.chance(0.4)) {
        isolate();
        return;
      }
      this.queue.schedule(this.random.next() * 30, () => {
        if (!this.chaos || !node.up) return;
        if (this.random.chance(0.5)) this.crashAndRestart(node);
        else isolate();
      });
    }
  }

  /**
   * The live node leading in the highest term any live node knows of, if any. A deposed leader that has not yet
   * heard of the newer term does not count: its configuration may be stale.
   */
  currentLeader(): SimNode<MessageEnvelope> | null {
    let best: SimNode<MessageEnvelope> | null = null;
    let maxTerm = -1;
    for (const n of this.liveNodes()) {
      const s = n.engine!.status();
      if (s.term > maxTerm) {
        maxTerm = s.term;
        best = null;
      }
      if (s.term === maxTerm && s.role === 'leader') best = n;
    }
    return best;
  }

  run(): SimResult {
    try {
      this.setup();
      this.runChaos();
      this.heal();
      this.checkLiveness();
      return this.result(undefined);
    } catch (error) {
      if (error instanceof InvariantViolation) {
        this.log(`VIOLATION ${error.message}`);
        return this.result({ invariant: error.invariant, message: error.message, atMs: this.queue.now });
      }
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.log(`ENGINE THREW ${message}`);
      return this.result({ invariant: 'engine crashed', message, atMs: this.queue.now });
    }
  }

  private result(violation: SimResult['violation']): SimResult {
    let crashes = 0;
    for (const n of this.nodes.values()) crashes += n.crashes;
    return {
      seed: this.o.seed,
      ok: violation === undefined,
      ...(violation ? { violation } : {}),
      trace: this.trace.slice(-TRACE_LINES),
      stats: {
        ...this.workload.stats,
        ...this.stats,
        crashes,
        messages: this.network.sent,
        messagesDropped: this.network.dropped,
        virtualMs: Math.round(this.queue.now),
      },
    };
  }

  private setup(): void {
    const { entries, hardState } = this.factory.bootstrap(this.founders);
    for (const id of this.founders) {
      const node = this.nodes.get(id)!;
      node.disk.append(entries);
      node.disk.setHardState(hardState);
      node.start();
    }
    this.workload.start();
    this.scheduleFault();
    this.scheduleLogMatching();
  }

  private runUntil(timeMs: number, done?: () => boolean): boolean {
    while (this.queue.runNext(timeMs)) {
      if (done?.()) return true;
    }
    this.queue.now = Math.max(this.queue.now, timeMs);
    return done?.() ?? false;
  }

  private runChaos(): void {
    this.runUntil(this.o.chaosMs);
  }

  private scheduleLogMatching(): void {
    this.queue.schedule(500, () => {
      const all = [...this.nodes.values()].filter((n) => !n.retired);
      for (let i = 0; i < all.length; i++) {
        for (let j = i + 1; j < all.length; j++) {
          const check =
            this.semantics.logMatching === 'prefix'
              ? InvariantChecker.checkLogMatching
              : InvariantChecker.checkEntryMatching;
          check(all[i]!.id, all[i]!.disk, all[j]!.id, all[j]!.disk);
        }
      }
      this.scheduleLogMatching();
    });
  }

  // ---- faults -----------------------------------------------------------------------------------------------

  private scheduleFault(): void {
    const delay = this.stormy ? 50 + this.random.next() * 250 : 150 + this.random.next() * 900;
    this.queue.schedule(delay, () => {
      if (!this.chaos) return;
      this.injectFault();
      this.retireRemovedMembers();
      this.scheduleFault();
    });
  }

  private injectFault(): void {
    const r = this.random;
    const roll = r.next();
    const ids = [...this.nodes.values()].filter((n) => !n.retired && this.hasStarted(n)).map((n) => n.id);
    this.stats.faults++;
    if (roll < 0.14) {
      // A random split: a minority cut off from the rest.
      const shuffled = this.shuffle(ids);
      const k = 1 + r.int(Math.max(1, Math.floor(shuffled.length / 2)));
      const minority = shuffled.slice(0, k);
      this.hold(this.network.partition(minority, shuffled.slice(k)));
      this.log(`FAULT partition ${minority.join(',')} | ${shuffled.slice(k).join(',')}`);
    } else if (roll < 0.24) {
      const leader = this.currentLeader();
      if (leader) {
        this.hold(
          this.network.partition(
            [leader.id],
            ids.filter((id) => id !== leader.id),
          ),
        );
        this.log(`FAULT isolate leader ${leader.id}`);
      }
    } else if (roll < 0.3) {
      const [a, b] = this.shuffle(ids);
      if (a && b) {
        this.hold(this.network.block(a, b));
        this.log(`FAULT one-way ${a} -> ${b} blocked`);
      }
    } else if (roll < 0.34) {
      // A bridge: two sides that only one node can talk to.
      const shuffled = this.shuffle(ids);
      const bridge = shuffled[0]!;
      const rest = shuffled.slice(1);
      const half = Math.floor(rest.length / 2);
      this.hold(this.network.partition(rest.slice(0, half), rest.slice(half)));
      this.log(`FAULT bridge via ${bridge}: ${rest.slice(0, half).join(',')} | ${rest.slice(half).join(',')}`);
    } else if (roll < 0.42) {
      this.network.healAll();
      this.network.clearLinkDelays();
      this.network.conditions = { ...CALM_NETWORK };
      this.log('FAULT heal network');
    } else if (roll < 0.6) {
      const victim = this.pick(this.liveNodes());
      if (victim) this.crashAndRestart(victim);
    } else if (roll < 0.65) {
      const leader = this.currentLeader();
      if (leader) this.crashAndRestart(leader);
    } else if (roll < 0.7) {
      this.network.conditions = { ...CALM_NETWORK, dropRate: 0.05 + r.next() * 0.25, duplicateRate: 0.05 };
      this.log(`FAULT lossy network drop=${this.network.conditions.dropRate.toFixed(2)}`);
    } else if (roll < 0.75) {
      this.network.conditions = {
        ...CALM_NETWORK,
        maxDelayMs: 40,
        spikeRate: 0.1,
        spikeDelayMs: 1500,
        duplicateRate: 0.02,
      };
      this.log('FAULT slow network with delay spikes');
    } else if (roll < 0.82) {
      this.transferLeadership();
    } else if (roll < 0.94) {
      this.changeMembership();
    } else if (roll < 0.98) {
      // Congestion: every directed link gets its own extra delay, so messages of one path overtake another's.
      for (const from of ids) {
        for (const to of ids) if (from !== to) this.network.setLinkDelay(from, to, r.chance(0.5) ? r.next() * 80 : 0);
      }
      this.log('FAULT congested links');
    } else {
      this.log('FAULT (none this time)');
    }
  }

  /** Keeps a network fault for a random while (50 ms to 4 s), then lifts it. */
  private hold(links: string[]): void {
    const ms = this.random.chance(0.3) ? 50 + this.random.next() * 450 : 500 + this.random.next() * 3500;
    this.queue.schedule(ms, () => this.network.unblock(links));
  }

  private hasStarted(n: SimNode<MessageEnvelope>): boolean {
    return n.up || n.crashes > 0;
  }

  private crashAndRestart(node: SimNode<MessageEnvelope>): void {
    node.crash();
    const downMs = this.random.next() < 0.3 ? this.random.next() * 300 : 300 + this.random.next() * 4000;
    this.log(`FAULT crash ${node.id} (restart in ${downMs.toFixed(0)} ms)`);
    this.queue.schedule(downMs, () => {
      if (!node.retired && !node.up) {
        node.start();
        this.log(`${node.id} restarted`);
      }
    });
  }

  private transferLeadership(): void {
    const leader = this.currentLeader();
    if (!leader) return;
    const voters = leader.engine!.status().confState.voters.filter((v) => v !== leader.id);
    const target = this.pick(voters);
    if (!target) return;
    try {
      leader.withEngine((e) => e.transferLeadership(target));
      this.stats.transfers++;
      this.log(`FAULT transfer leadership ${leader.id} -> ${target}`);
    } catch (error) {
      if (!(error instanceof ConsensusError)) throw error;
    }
  }

  /**
   * Walks the cluster through membership changes: add a spare as a learner, promote it, then remove another voter
   * (sometimes the leader itself); with two learners ready, replace two voters at once through a joint config.
   */
  private changeMembership(): void {
    const leader = this.currentLeader();
    if (!leader) return;
    const cs: ConfState = leader.engine!.status().confState;
    if (cs.votersOutgoing.length > 0) return;
    let change: ConfChange | null = null;
    let starting: NodeId | null = null;
    const learners = cs.learners.filter((l) => this.nodes.get(l)?.up);
    if (learners.length >= 2 && cs.voters.length >= 3 && this.random.chance(0.5)) {
      const out = this.shuffle(cs.voters.filter((v) => v !== leader.id)).slice(0, 2);
      change = {
        changes: [
          { type: 'addVoter', node: learners[0]! },
          { type: 'addVoter', node: learners[1]! },
          ...out.map((node) => ({ type: 'removeVoter' as const, node })),
        ],
      };
    } else if (learners.length > 0 && (this.spares.length === 0 || this.random.chance(0.6))) {
      change = { changes: [{ type: 'addVoter', node: learners[0]! }] };
    } else if (cs.voters.length > this.o.nodes) {
      const victim = this.pick(cs.voters)!;
      change = { changes: [{ type: 'removeVoter', node: victim }] };
    } else if (this.spares.length > 0) {
      starting = this.spares[0]!;
      change = { changes: [{ type: 'addLearner', node: starting }] };
    }
    if (!change) return;
    try {
      leader.withEngine((e) => e.proposeConfChange(change));
    } catch (error) {
      if (!(error instanceof ConsensusError)) throw error;
      return;
    }
    this.stats.membershipChanges++;
    this.log(`FAULT membership ${change.changes.map((c) => `${c.type}(${c.node})`).join(' ')} via ${leader.id}`);
    if (starting) {
      this.spares.shift();
      this.nodes.get(starting)!.start();
    }
  }

  /** A member the leader's applied configuration no longer names is shut down for good (as a node would be). */
  private retireRemovedMembers(): void {
    const leader = this.currentLeader();
    if (!leader) return;
    const status = leader.engine!.status();
    const cs = status.confState;
    const inConfig = new Set([...cs.voters, ...cs.votersOutgoing, ...cs.learners, ...cs.learnersNext]);
    for (const id of inConfig) {
      this.seenAsMemberAt.set(id, Math.max(this.seenAsMemberAt.get(id) ?? 0, status.applied));
    }
    for (const n of this.nodes.values()) {
      if (n.retired || inConfig.has(n.id)) continue;
      const seenAt = this.seenAsMemberAt.get(n.id);
      if (seenAt === undefined || status.applied < seenAt) continue;
      n.retire();
      this.log(`${n.id} retired (no longer a member)`);
    }
  }

  private pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.random.int(items.length)];
  }

  private shuffle<T>(items: readonly T[]): T[] {
    const a = items.slice();
    for (let i = a.length - 1; i > 0; i--) {
      const j = this.random.int(i + 1);
      [a[i], a[j]] = [a[j]!, a[i]!];
    }
    return a;
  }

  // ---- heal and liveness --------------------------------------------------------------------------------------

  private heal(): void {
    this.chaos = false;
    this.workload.stop();
    this.network.healAll();
    this.network.clearLinkDelays();
    this.network.conditions = { ...CALM_NETWORK };
    for (const n of this.nodes.values()) {
      if (!n.retired && !n.up && this.hasStarted(n)) n.start();
    }
    this.log('HEAL: network healed, every member restarted, clients stopped');
  }

  /**
   * After healing: a leader must emerge, a new write must commit, and every member must converge on the same
   * applied state, which must include every acknowledged write — all within `livenessMs` of virtual time.
   */
  private checkLiveness(): void {
    const deadline = this.queue.now + this.o.livenessMs;
    let marker: { index: number; node: SimNode<MessageEnvelope> } | null = null;
    let nextAttempt = this.queue.now;
    const converged = (): boolean => {
      this.retireRemovedMembers();
      const leader = this.currentLeader();
      if (!leader) return false;
      if (!marker && this.queue.now >= nextAttempt) {
        nextAttempt = this.queue.now + 300;
        try {
          const r = leader.withEngine((e) => e.propose(encodeWrite({ client: 0, seq: 0 }, 0xabcdef)));
          if (!r.forwarded) marker = { index: r.index, node: leader };
        } catch (error) {
          if (!(error instanceof ConsensusError)) throw error;
        }
      }
      if (!marker || marker.node !== leader) {
        if (marker && marker.node !== leader) marker = null;
        return false;
      }
      const cs = leader.engine!.status().confState;
      if (cs.votersOutgoing.length > 0) return false;
      const members = [...cs.voters, ...cs.learners].map((id) => this.nodes.get(id)!);
      const target = leader.sm.applied;
      if (target < marker.index) return false;
      return members.every((n) => n.up && n.sm.applied === target && n.sm.digest === leader.sm.digest);
    };
    if (!this.runUntil(deadline, converged)) {
      const leader = this.currentLeader();
      const states = [...this.nodes.values()]
        .filter((n) => !n.retired)
        .map((n) => `${n.id}:${n.up ? (n.engine!.status().role ?? '?') : 'down'}@${n.sm.applied}`)
        .join(' ');
      throw new InvariantViolation(
        'liveness',
        `no convergence ${this.o.livenessMs} ms after healing (leader ${leader?.id ?? 'none'}; ${states})`,
      );
    }
    const leader = this.currentLeader()!;
    if (leader.sm.applied < this.workload.maxAckedIndex) {
      throw new InvariantViolation(
        'no lost writes',
        `members converged at ${leader.sm.applied} but a write at ${this.workload.maxAckedIndex} was acknowledged`,
      );
    }
    const digest = this.checker.digestAt(leader.sm.applied);
    if (digest !== undefined && digest !== leader.sm.digest) {
      throw new InvariantViolation('state machine safety', 'final state differs from the recorded history');
    }
    this.log(`CONVERGED at index ${leader.sm.applied} under leader ${leader.id}`);
  }
}

export function runSeed(factory: EngineFactory, options: SimOptions): SimResult {
  return new ClusterSim(factory, options).run();
}
