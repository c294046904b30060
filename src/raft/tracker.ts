import type { ConfState, NodeId } from '../consensus/types.js';
import { Progress } from './progress.js';
import { jointCommittedIndex, jointVoteResult, type VoteResult } from './quorum.js';

/** A membership configuration in the form the leader computes quorums over. */
export interface Config {
  readonly incoming: ReadonlySet<NodeId>;
  /** Non-empty only in a joint configuration. */
  readonly outgoing: ReadonlySet<NodeId>;
  readonly learners: ReadonlySet<NodeId>;
  /** Outgoing voters that become learners when the joint configuration is left. */
  readonly learnersNext: ReadonlySet<NodeId>;
  readonly autoLeave: boolean;
}

export function configFromConfState(cs: ConfState): Config {
  return {
    incoming: new Set(cs.voters),
    outgoing: new Set(cs.votersOutgoing),
    learners: new Set(cs.learners),
    learnersNext: new Set(cs.learnersNext),
    autoLeave: cs.autoLeave,
  };
}

export function confStateFromConfig(config: Config): ConfState {
  const sorted = (s: ReadonlySet<NodeId>) => [...s].sort();
  return {
    voters: sorted(config.incoming),
    votersOutgoing: sorted(config.outgoing),
    learners: sorted(config.learners),
    learnersNext: sorted(config.learnersNext),
    autoLeave: config.autoLeave,
  };
}

export function isJoint(config: Config): boolean {
  return config.outgoing.size > 0;
}

/** Every node that holds a vote in `config` (both halves of a joint configuration). */
export function voterIds(config: Config): Set<NodeId> {
  const ids = new Set(config.incoming);
  for (const id of config.outgoing) ids.add(id);
  return ids;
}

/** The configuration plus the leader's view of every member's log, and the votes of an ongoing election. */
export class ProgressTracker {
  config: Config = configFromConfState({
    voters: [],
    votersOutgoing: [],
    learners: [],
    learnersNext: [],
    autoLeave: false,
  });
  progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();

  constructor(
    readonly maxInflightMessages: number,
    readonly maxInflightBytes: number,
  ) {}

  newProgress(next: number, isLearner: boolean): Progress {
    return new Progress(next, isLearner, this.maxInflightMessages, this.maxInflightBytes);
  }

  isVoter(id: NodeId): boolean {
    return this.config.incoming.has(id) || this.config.outgoing.has(id);
  }

  /** True when `id` is the only voter (it can decide everything alone). */
  isSingleton(id: NodeId): boolean {
    return this.config.outgoing.size === 0 && this.config.incoming.size === 1 && this.config.incoming.has(id);
  }

  /** The highest index durably held by a quorum. */
  committed(): number {
    return jointCommittedIndex(this.config.incoming, this.config.outgoing, (id) => this.progress.get(id)?.match ?? 0);
  }

  /** The highest value of `perVoter` held by a quorum (used for read rounds and leases). */
  quorumMin(perVoter: (id: NodeId) => number): number {
    return jointCommittedIndex(this.config.incoming, this.config.outgoing, perVoter);
  }

  /** Whether a quorum was heard from since the last check (`self` always counts as active). */
  quorumActive(self: NodeId): boolean {
    const active = new Map<NodeId, boolean>();
    for (const [id, pr] of this.progress) {
      if (pr.isLearner) continue;
      active.set(id, id === self || pr.recentActive);
    }
    return jointVoteResult(this.config.incoming, this.config.outgoing, active) === 'won';
  }

  resetVotes(): void {
    this.votes.clear();
  }

  recordVote(id: NodeId, granted: boolean): void {
    if (!this.votes.has(id)) this.votes.set(id, granted);
  }

  tallyVotes(): { granted: number; rejected: number; result: VoteResult } {
    let granted = 0;
    let rejected = 0;
    for (const [id, v] of this.votes) {
      if (!this.isVoter(id)) continue;
      if (v) granted++;
      else rejected++;
    }
    return { granted, rejected, result: jointVoteResult(this.config.incoming, this.config.outgoing, this.votes) };
  }

  confState(): ConfState {
    return confStateFromConfig(this.config);
  }
}
