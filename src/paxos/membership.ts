import { decodeConfChange } from '../consensus/conf-change-codec.js';
import { ConsensusError } from '../consensus/errors.js';
import type { ConfChange, ConfState, Entry, NodeId } from '../consensus/types.js';
import { majorityCommittedIndex, majorityVoteResult, type VoteResult } from '../raft/quorum.js';

/**
 * Membership for Multi-Paxos: the configuration lives in the log, a change takes effect on a node when it applies
 * the change, and until then decisions need a majority of EVERY configuration in the window (see docs/consensus.md):
 *
 *   window = [configuration as of the applied index, then one configuration per membership entry after it]
 *
 * While a change is chosen but not applied, or accepted but not chosen, both the old and the new voters must agree,
 * as in a joint configuration, without a separate "leave joint" step: once the change is applied the old
 * configuration drops out of the window by itself. A node that lags several changes behind sees the later changes in
 * the promises it collects, which pulls their configurations into its window, so it cannot win with a majority of a
 * configuration the cluster has left.
 */

/** One configuration of the window, with its voters as a set for quorum arithmetic. */
export interface WindowConfig {
  readonly confState: ConfState;
  readonly voters: ReadonlySet<NodeId>;
}

export interface ConfigWindow {
  readonly configs: readonly WindowConfig[];
  /** Every voter or learner of any configuration in the window: who must hear from the leader. */
  readonly members: ReadonlySet<NodeId>;
  /** Every voter of any configuration in the window: who a candidate asks for promises. */
  readonly voters: ReadonlySet<NodeId>;
}

function invalid(message: string): never {
  throw new ConsensusError('INVALID_CONF_CHANGE', message);
}

/**
 * The configuration after `change`, applied in one step (no joint configuration: the window provides the overlap).
 * Throws INVALID_CONF_CHANGE for an explicit joint transition, an empty change, or a result without voters.
 */
export function applyMembershipChange(cs: ConfState, change: ConfChange): ConfState {
  if (change.transition === 'joint' || change.transition === 'explicit') {
    invalid('Multi-Paxos applies membership changes in one step; explicit joint transitions are not supported');
  }
  if (change.changes.length === 0) invalid('not in a joint configuration: nothing to leave');
  const voters = new Set(cs.voters);
  for (const id of cs.votersOutgoing) voters.add(id);
  const learners = new Set(cs.learners);
  for (const id of cs.learnersNext) learners.add(id);
  for (const c of change.changes) {
    switch (c.type) {
      case 'addVoter':
        learners.delete(c.node);
        voters.add(c.node);
        break;
      case 'addLearner':
        voters.delete(c.node);
        learners.add(c.node);
        break;
      case 'removeVoter':
        voters.delete(c.node);
        learners.delete(c.node);
        break;
    }
  }
  if (voters.size === 0) invalid('the change would leave no voter');
  return {
    voters: [...voters].sort(),
    votersOutgoing: [],
    learners: [...learners].sort(),
    learnersNext: [],
    autoLeave: false,
  };
}

/** Applies the membership entry `entry` to `cs`; an undecodable or invalid change is a no-op everywhere. */
export function applyMembershipEntry(cs: ConfState, entry: Entry): ConfState {
  let change: ConfChange;
  try {
    change = decodeConfChange(entry.data);
    return applyMembershipChange(cs, change);
  } catch (error) {
    if (error instanceof ConsensusError) return cs;
    throw error;
  }
}

function windowConfig(confState: ConfState): WindowConfig {
  const voters = new Set(confState.voters);
  for (const id of confState.votersOutgoing) voters.add(id);
  return { confState, voters };
}

/** The window from the applied configuration through the membership entries `pending` (in log order). */
export function buildWindow(applied: ConfState, pending: readonly Entry[]): ConfigWindow {
  const configs = [windowConfig(applied)];
  let cs = applied;
  for (const e of pending) {
    if (e.type !== 'confChange') continue;
    const next = applyMembershipEntry(cs, e);
    if (next === cs) continue;
    cs = next;
    configs.push(windowConfig(cs));
  }
  const members = new Set<NodeId>();
  const voters = new Set<NodeId>();
  for (const c of configs) {
    for (const id of c.voters) {
      voters.add(id);
      members.add(id);
    }
    for (const id of c.confState.learners) members.add(id);
    for (const id of c.confState.learnersNext) members.add(id);
  }
  return { configs, members, voters };
}

/** Won when the granted votes form a majority of every configuration; lost when some configuration can no longer. */
export function windowVoteResult(window: ConfigWindow, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  let pending = false;
  for (const c of window.configs) {
    const r = majorityVoteResult(c.voters, votes);
    if (r === 'lost') return 'lost';
    if (r === 'pending') pending = true;
  }
  return pending ? 'pending' : 'won';
}

/** The highest value of `acked` held by a majority of every configuration (+Infinity when no configuration has voters). */
export function windowQuorumMin(window: ConfigWindow, acked: (id: NodeId) => number): number {
  let min = Number.POSITIVE_INFINITY;
  for (const c of window.configs) min = Math.min(min, majorityCommittedIndex(c.voters, acked));
  return min;
}

/** True when `id` is the only voter of every configuration in the window. */
export function isSoleVoter(window: ConfigWindow, id: NodeId): boolean {
  return window.configs.every((c) => c.voters.size === 0 || (c.voters.size === 1 && c.voters.has(id)));
}
