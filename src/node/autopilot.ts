import type { Logger } from 'pino';
import type { EventLog } from './event-log.js';
import type { NodeHealth } from './node-health.js';
import type { Replica } from './replica.js';

/** A learner is promoted only when it holds this share of the leader's log. */
const SPARE_CAUGHT_UP_RATIO = 0.9;
/** At most one leadership hand-off attempt per this many ms (no ping-pong). */
const TRANSFER_COOLDOWN_MS = 10_000;

/**
 * What the leader does by itself, every second (Consul's Autopilot, CockroachDB's allocator in small):
 * - its own node degraded → hand leadership to a healthy, caught-up voter;
 * - a voter dead and a healthy, caught-up learner available → promote the learner, then remove the dead voter
 *   (one change at a time, never below the quorum it had);
 * - a dead voter and no spare → say so in the event log (once).
 */
export class Autopilot {
  private lastTransferAt = Number.NEGATIVE_INFINITY;
  private replacing: { dead: string; spare: string } | null = null;
  private readonly flaggedNoSpare = new Set<string>();

  constructor(
    private readonly replica: Replica,
    private readonly health: NodeHealth,
    private readonly events: EventLog,
    private readonly logger: Logger,
    private readonly now: () => number,
    private readonly self: string,
  ) {}

  run(): void {
    if (!this.replica.isLeader) {
      this.replacing = null;
      return;
    }
    try {
      this.moveLeadershipOffDegradedSelf();
      this.replaceDeadVoters();
    } catch (error) {
      this.logger.warn({ err: String(error) }, 'autopilot step failed');
    }
  }

  private moveLeadershipOffDegradedSelf(): void {
    if (this.health.isHealthy(this.self)) return;
    if (this.now() - this.lastTransferAt < TRANSFER_COOLDOWN_MS) return;
    const status = this.replica.engine.status();
    if (status.leadTransferee !== null) return;
    const reasons = this.health.ownCondition.reasons.map((r) => r.code).join(', ') || 'degraded';
    // The most caught-up healthy voter: it needs the shortest catch-up before it can take over.
    const target = status.progress
      .filter((p) => !p.isLearner && p.id !== this.self && status.confState.voters.includes(p.id))
      .filter((p) => this.health.isHealthy(p.id))
      .sort((a, b) => b.match - a.match)[0];
    this.lastTransferAt = this.now();
    if (!target) {
      this.events.record(
        'transfer-leadership',
        `leader degraded (${reasons}) but no healthy voter can take over`,
        'failed',
      );
      return;
    }
    try {
      this.replica.engine.transferLeadership(target.id);
      this.replica.schedulePump();
      this.events.record('transfer-leadership', `leader degraded (${reasons})`, 'started', target.id);
    } catch (error) {
      this.events.record('transfer-leadership', `leader degraded (${reasons}): ${String(error)}`, 'failed', target.id);
    }
  }

  private replaceDeadVoters(): void {
    const status = this.replica.engine.status();
    const cs = status.confState;
    if (cs.votersOutgoing.length > 0) return; // a joint configuration is being left: one change at a time
    const dead = cs.voters.filter((v) => v !== this.self && this.health.peer(v)?.state === 'dead');
    for (const name of [...this.flaggedNoSpare]) if (!dead.includes(name)) this.flaggedNoSpare.delete(name);

    // Second step of a replacement: the spare is a voter now; the dead one can go.
    if (this.replacing) {
      const { dead: gone, spare } = this.replacing;
      if (!cs.voters.includes(gone)) {
        this.replacing = null;
      } else if (cs.voters.includes(spare)) {
        this.propose(
          () => this.replica.proposeConfChange({ changes: [{ type: 'removeVoter', node: gone }] }),
          'remove-dead-voter',
          `replaced by ${spare}`,
          gone,
        );
        return;
      } else if (!cs.learners.includes(spare)) {
        this.replacing = null; // the spare went away meanwhile; start over
      } else {
        return; // the promotion is still being applied
      }
    }
    if (dead.length === 0) return;
    const victim = dead[0]!;
    const spare = status.progress
      .filter((p) => p.isLearner && cs.learners.includes(p.id) && this.health.isHealthy(p.id))
      .filter((p) => p.match >= status.lastIndex * SPARE_CAUGHT_UP_RATIO)
      .sort((a, b) => b.match - a.match)[0];
    if (!spare) {
      if (!this.flaggedNoSpare.has(victim)) {
        this.flaggedNoSpare.add(victim);
        this.events.record(
          'dead-voter-no-spare',
          'a voter is dead and no healthy, caught-up learner can replace it',
          'observed',
          victim,
        );
      }
      return;
    }
    this.replacing = { dead: victim, spare: spare.id };
    this.propose(
      () => this.replica.proposeConfChange({ changes: [{ type: 'addVoter', node: spare.id }] }),
      'promote-spare',
      `replaces dead voter ${victim}`,
      spare.id,
    );
  }

  private propose(change: () => Promise<unknown>, action: string, reason: string, target: string): void {
    let pending: Promise<unknown>;
    try {
      pending = change();
    } catch (error) {
      // One change at a time: a change still in progress is retried on a later round.
      const code = (error as { code?: string }).code;
      if (code !== 'CONF_CHANGE_PENDING') this.events.record(action, `${reason}: ${String(error)}`, 'failed', target);
      return;
    }
    this.events.record(action, reason, 'started', target);
    pending.then(
      () => this.events.record(action, reason, 'succeeded', target),
      (error: unknown) => this.events.record(action, `${reason}: ${String(error)}`, 'failed', target),
    );
  }
}
