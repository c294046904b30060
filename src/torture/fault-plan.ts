import type { Random } from '../util/random.js';
import type { FaultKind } from './fault-kinds.js';

/** One step of the fault schedule: wait `gapMs`, apply the fault, hold it `holdMs`, revert it. */
export interface PlannedFault {
  /** 1-based position in the schedule (fault #n in logs and reports). */
  readonly index: number;
  readonly kind: FaultKind;
  /** Quiet time before this fault, after the previous one was reverted. */
  readonly gapMs: number;
  /** How long the fault lasts: a kill's downtime, a pause's length, a partition's duration (membership: 0). */
  readonly holdMs: number;
  /** Seeds the choices made when the fault is applied (targets, split sides, delays), so a seed replays them. */
  readonly seed: number;
}

export interface FaultPlanOptions {
  readonly kinds: readonly FaultKind[];
  /** The workload's length: the plan fills it (faults past it are never reached). */
  readonly durationMs: number;
  /** The nodes' election timeout lower bound: pauses are sized against it. */
  readonly electionTimeoutMs: number;
}

/** Quiet time before the first fault, so the cluster and the clients are warmed up. */
export const FIRST_FAULT_AFTER_MS = 1500;
/** A membership change is a sequence of steps of unknown length; the plan counts this much for it. */
const MEMBERSHIP_ESTIMATE_MS = 5000;
/** Membership changes are heavier and rarer than the other faults. */
const WEIGHTS: Partial<Record<FaultKind, number>> = { membership: 0.5, 'kill-minority': 0.5 };

function between(random: Random, min: number, max: number): number {
  return Math.round(min + random.next() * (max - min));
}

/** How long a fault of this kind is held, drawn from its range. */
export function holdFor(kind: FaultKind, random: Random, electionTimeoutMs: number): number {
  switch (kind) {
    case 'kill-leader':
    case 'kill-node':
    case 'kill-minority':
      return between(random, 300, 4000);
    case 'pause-short':
      // Shorter than any election timeout: followers must not notice, the leader must carry on.
      return between(random, Math.max(20, 0.1 * electionTimeoutMs), 0.7 * electionTimeoutMs);
    case 'pause-long':
      // Several election timeouts: the others elect a new leader while the paused one still believes it leads.
      return between(random, 2 * electionTimeoutMs, 6 * electionTimeoutMs);
    case 'isolate-leader':
    case 'isolate-node':
    case 'split':
    case 'oneway':
    case 'bridge':
      return between(random, Math.max(1000, 2 * electionTimeoutMs), Math.max(7000, 10 * electionTimeoutMs));
    case 'latency':
    case 'slow-fsync':
      return between(random, 2000, 8000);
    case 'membership':
      return 0;
  }
}

/**
 * The whole schedule, drawn from `random` only: the same seed gives the same schedule. Which node a fault hits
 * is decided when it is applied (the leader is whoever leads then), from the step's own seed.
 */
export function planFaults(random: Random, o: FaultPlanOptions): PlannedFault[] {
  const plan: PlannedFault[] = [];
  if (o.kinds.length === 0) return plan;
  const weights = o.kinds.map((k) => WEIGHTS[k] ?? 1);
  const total = weights.reduce((a, b) => a + b, 0);
  let at = 0;
  // A bound on the plan's length whatever the options: a fault takes at least ~250 ms of plan time.
  const maxSteps = Math.ceil(o.durationMs / 250) + 1;
  while (at < o.durationMs && plan.length < maxSteps) {
    let pick = random.next() * total;
    let kind = o.kinds[o.kinds.length - 1]!;
    for (let i = 0; i < o.kinds.length; i++) {
      pick -= weights[i]!;
      if (pick < 0) {
        kind = o.kinds[i]!;
        break;
      }
    }
    const gapMs = plan.length === 0 ? FIRST_FAULT_AFTER_MS : between(random, 300, 2500);
    const holdMs = holdFor(kind, random, o.electionTimeoutMs);
    const seed = random.int(2 ** 32);
    plan.push({ index: plan.length + 1, kind, gapMs, holdMs, seed });
    at += gapMs + (kind === 'membership' ? MEMBERSHIP_ESTIMATE_MS : holdMs);
  }
  return plan;
}
