import { type Random, SeededRandom } from '../util/random.js';
import type { FaultKind } from './fault-kinds.js';
import type { PlannedFault } from './fault-plan.js';
import type { LinkFaultInput } from './proxy/index.js';
import type { TortureCluster } from './torture-cluster.js';

/** What happened when a planned fault was applied. */
export interface FaultRecord {
  readonly index: number;
  readonly kind: FaultKind;
  /** On the history's clock (ms since the harness started), like operations' call and return times. */
  readonly startMs: number;
  endMs: number;
  /** The nodes it hit. */
  readonly targets: readonly string[];
  /** Human-readable: what exactly was done. */
  readonly detail: string;
  /** False when it could not be applied (no leader known, no spare left...): `detail` says why. */
  readonly applied: boolean;
}

interface Applied {
  readonly targets: string[];
  readonly detail: string;
  /** Undoes the fault (restart, resume, heal, clear the delay). */
  readonly revert: () => Promise<void>;
}

const MEMBERSHIP_STEP_TIMEOUT_MS = 15_000;

function shuffle<T>(items: readonly T[], random: Random): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

function pick<T>(items: readonly T[], random: Random): T | undefined {
  return items.length === 0 ? undefined : items[random.int(items.length)];
}

/** A partition either drops bytes silently (blackhole, like lost packets) or refuses connections (reject). */
function partitionMode(random: Random): 'blackhole' | 'reject' {
  return random.chance(0.7) ? 'blackhole' : 'reject';
}

export interface FaultRunnerDeps {
  readonly cluster: TortureCluster;
  /** The history's clock, ms. */
  readonly now: () => number;
  readonly log: (line: string) => void;
}

/**
 * Applies the fault schedule to a running cluster, one fault at a time: wait the step's gap, apply it (choosing
 * targets from the step's own seed and the cluster's state: "the leader" is whoever leads now), hold it, revert
 * it. Stops at `endMs` (a fault in progress is cut short and reverted; a membership change is finished).
 */
export class FaultRunner {
  readonly records: FaultRecord[] = [];
  private stopping = false;
  private wake: (() => void) | null = null;

  constructor(
    private readonly plan: readonly PlannedFault[],
    private readonly d: FaultRunnerDeps,
  ) {}

  /** Ends the schedule early (the current fault is reverted). */
  stop(): void {
    this.stopping = true;
    this.wake?.();
  }

  private sleep(ms: number, endMs: number): Promise<void> {
    const until = Math.min(this.d.now() + ms, endMs);
    const wait = until - this.d.now();
    if (wait <= 0 || this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  async run(endMs: number): Promise<void> {
    for (const step of this.plan) {
      await this.sleep(step.gapMs, endMs);
      if (this.stopping || this.d.now() >= endMs) break;
      const random = new SeededRandom(step.seed);
      const startMs = this.d.now();
      let applied: Applied | string;
      try {
        applied = await this.apply(step, random);
      } catch (error) {
        applied = `failed to apply: ${String(error)}`;
      }
      if (typeof applied === 'string') {
        this.records.push({
          index: step.index,
          kind: step.kind,
          startMs,
          endMs: this.d.now(),
          targets: [],
          detail: applied,
          applied: false,
        });
        this.d.log(`fault #${step.index} ${step.kind}: skipped (${applied})`);
        continue;
      }
      const record: FaultRecord = {
        index: step.index,
        kind: step.kind,
        startMs,
        endMs: startMs,
        targets: applied.targets,
        detail: applied.detail,
        applied: true,
      };
      this.records.push(record);
      this.d.log(`fault #${step.index} ${step.kind}: ${applied.detail}`);
      await this.sleep(step.holdMs, endMs);
      await applied.revert();
      record.endMs = this.d.now();
    }
  }

  private async apply(step: PlannedFault, random: Random): Promise<Applied | string> {
    const c = this.d.cluster;
    const proxy = c.proxy;
    const heal = async () => proxy.heal();
    const hold = `${(step.holdMs / 1000).toFixed(1)} s`;
    switch (step.kind) {
      case 'kill-leader':
      case 'kill-node':
      case 'kill-minority': {
        let victims: string[];
        if (step.kind === 'kill-leader') {
          const leader = await c.leader();
          if (leader === null) return 'no leader known';
          victims = [leader];
        } else {
          const running = c.runningMembers();
          const count = step.kind === 'kill-minority' ? Math.max(1, Math.floor((c.members.length - 1) / 2)) : 1;
          victims = shuffle(running, random).slice(0, count);
          if (victims.length === 0) return 'no running member';
        }
        await Promise.all(victims.map((v) => c.kill(v)));
        return {
          targets: victims,
          detail: `kill -9 ${victims.join(', ')}, restart after ${hold}`,
          revert: async () => {
            for (const v of victims) if (c.members.includes(v)) c.start(v);
          },
        };
      }
      case 'pause-short':
      case 'pause-long': {
        const target = random.chance(0.5) ? await c.leaderOrRandom(random) : pick(c.runningMembers(), random);
        if (target === null || target === undefined) return 'no running member';
        c.pause(target);
        return {
          targets: [target],
          detail: `SIGSTOP ${target} for ${hold}`,
          revert: async () => {
            c.resume(target);
          },
        };
      }
      case 'isolate-leader':
      case 'isolate-node': {
        const target = step.kind === 'isolate-leader' ? await c.leader() : (pick(c.members, random) ?? null);
        if (target === null) return 'no leader known';
        const mode = partitionMode(random);
        proxy.isolate(target, mode);
        return { targets: [target], detail: `isolate ${target} (${mode}) for ${hold}`, revert: heal };
      }
      case 'split': {
        const members = shuffle(c.members, random);
        const leader = await c.leader();
        // The leader lands on the minority side half of the time.
        if (leader !== null && members.includes(leader)) {
          members.splice(members.indexOf(leader), 1);
          if (random.chance(0.5)) members.unshift(leader);
          else members.push(leader);
        }
        const minoritySize = Math.max(1, Math.floor(members.length / 2));
        const minority = members.slice(0, minoritySize);
        const majority = members.slice(minoritySize);
        const mode = partitionMode(random);
        proxy.partition(minority, majority, mode);
        return {
          targets: minority,
          detail: `split {${minority.join(',')}} | {${majority.join(',')}} (${mode}) for ${hold}`,
          revert: heal,
        };
      }
      case 'oneway': {
        const leader = await c.leader();
        const others = c.members.filter((m) => m !== leader);
        const variant = leader === null ? 2 : random.int(3);
        if (variant === 0 && leader !== null) {
          // The leader's messages vanish, it still hears everyone: it keeps believing it leads for a while.
          for (const o of others) proxy.oneWay(leader, o);
          return { targets: [leader], detail: `${leader} cannot send to anyone for ${hold}`, revert: heal };
        }
        if (variant === 1 && leader !== null) {
          // Everyone hears the leader, nobody's answers reach it: check-quorum must depose it.
          for (const o of others) proxy.oneWay(o, leader);
          return { targets: [leader], detail: `nobody can answer ${leader} for ${hold}`, revert: heal };
        }
        const [from, to] = shuffle(c.members, random);
        if (from === undefined || to === undefined) return 'fewer than two members';
        proxy.oneWay(from, to);
        return { targets: [from, to], detail: `link ${from} -> ${to} drops everything for ${hold}`, revert: heal };
      }
      case 'bridge': {
        if (c.members.length < 3) return 'fewer than three members';
        const members = shuffle(c.members, random);
        const leader = await c.leader();
        let bridgeNode = members[0]!;
        if (leader !== null && random.chance(0.3)) bridgeNode = leader;
        const rest = members.filter((m) => m !== bridgeNode);
        const half = Math.ceil(rest.length / 2);
        const left = rest.slice(0, half);
        const right = rest.slice(half);
        const mode = partitionMode(random);
        proxy.bridge([...left, bridgeNode], bridgeNode, [bridgeNode, ...right], mode);
        return {
          targets: [bridgeNode],
          detail: `bridge: {${left.join(',')}} <-> ${bridgeNode} <-> {${right.join(',')}} (${mode}) for ${hold}`,
          revert: heal,
        };
      }
      case 'latency': {
        const all = random.chance(0.3);
        const target = all ? null : (pick(c.members, random) ?? null);
        const delayMs = 10 + random.int(140);
        const fault: LinkFaultInput = { mode: 'delay', delayMs, jitterMs: Math.floor(delayMs / 2) };
        for (const a of c.members) {
          for (const b of c.members) {
            if (a !== b && (target === null || a === target || b === target)) proxy.setFault(a, b, fault);
          }
        }
        return {
          targets: target === null ? [...c.members] : [target],
          detail: `${delayMs}±${Math.floor(delayMs / 2)} ms latency on ${target === null ? 'every link' : `${target}'s links`} for ${hold}`,
          revert: heal,
        };
      }
      case 'slow-fsync': {
        const roll = random.next();
        const ms = 5 + random.int(195);
        const targets =
          roll < 0.25
            ? c.runningMembers()
            : [(roll < 0.65 ? await c.leaderOrRandom(random) : pick(c.runningMembers(), random)) ?? null].filter(
                (t): t is string => t !== null,
              );
        if (targets.length === 0) return 'no running member';
        const done = await Promise.all(targets.map((t) => c.setSyncDelay(t, ms)));
        const slowed = targets.filter((_, i) => done[i]);
        if (slowed.length === 0) return 'the sync-delay hook did not answer';
        return {
          targets: slowed,
          detail: `every log sync of ${slowed.join(', ')} slowed by ${ms} ms for ${hold}`,
          revert: async () => {
            await Promise.all(slowed.map((t) => c.setSyncDelay(t, 0)));
          },
        };
      }
      case 'membership':
        return this.membership(random);
    }
  }

  /** Adds a spare as a learner, promotes it once caught up, then removes another voter (maybe the leader). */
  private async membership(random: Random): Promise<Applied | string> {
    const c = this.d.cluster;
    if (c.members.length < 3) return 'fewer than three members';
    if (c.sparesLeft === 0) return 'no spare node left';
    const before = [...c.members];
    const added = await c.addLearner(MEMBERSHIP_STEP_TIMEOUT_MS);
    if (added.name === null) return added.detail;
    const joiner = added.name;
    this.d.log(`fault membership: ${joiner} joined as a learner`);
    const promoted = await c.promote(joiner, 2 * MEMBERSHIP_STEP_TIMEOUT_MS);
    if (!promoted.ok) {
      // Leave the cluster as it was: take the learner out again.
      const removed = await c.remove(joiner, MEMBERSHIP_STEP_TIMEOUT_MS);
      return {
        targets: [joiner],
        detail: `added ${joiner} as a learner; promotion failed (${promoted.code}); removed it again (${removed.code})`,
        revert: async () => {},
      };
    }
    this.d.log(`fault membership: ${joiner} promoted to voter`);
    const leader = await c.leader();
    const candidates = before.filter((m) => c.members.includes(m));
    const victim =
      leader !== null && candidates.includes(leader) && random.chance(0.3) ? leader : pick(candidates, random);
    if (victim === undefined) {
      return { targets: [joiner], detail: `added and promoted ${joiner}; nobody to remove`, revert: async () => {} };
    }
    const removed = await c.remove(victim, MEMBERSHIP_STEP_TIMEOUT_MS);
    return {
      targets: [joiner, victim],
      detail: `added ${joiner} as a learner, promoted it, removed ${victim}${victim === leader ? ' (the leader)' : ''}${
        removed.ok ? '' : ` — removal failed (${removed.code})`
      }`,
      revert: async () => {},
    };
  }
}
