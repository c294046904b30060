import type { NodeId } from '../consensus/types.js';

/**
 * Majority and joint-majority decisions as pure functions (the `quorum/` package of etcd-io/raft).
 * A joint configuration needs a majority in both halves; an empty half agrees to everything.
 */

export type VoteResult = 'won' | 'lost' | 'pending';

/**
 * The highest index acknowledged by a majority of `voters` (`acked` returns 0 for a voter it knows nothing of).
 * An empty configuration returns +Infinity, so that min() with it leaves the other half of a joint config alone.
 */
export function majorityCommittedIndex(voters: ReadonlySet<NodeId>, acked: (id: NodeId) => number): number {
  const n = voters.size;
  if (n === 0) return Number.POSITIVE_INFINITY;
  const indexes = new Array<number>(n);
  let i = 0;
  for (const id of voters) indexes[i++] = acked(id);
  indexes.sort((a, b) => b - a);
  // With n voters, a majority is floor(n/2)+1 of them: the (floor(n/2)+1)-th largest value is held by a majority.
  return indexes[Math.floor(n / 2)]!;
}

export function jointCommittedIndex(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  acked: (id: NodeId) => number,
): number {
  return Math.min(majorityCommittedIndex(incoming, acked), majorityCommittedIndex(outgoing, acked));
}

export function majorityVoteResult(voters: ReadonlySet<NodeId>, votes: ReadonlyMap<NodeId, boolean>): VoteResult {
  if (voters.size === 0) return 'won';
  let granted = 0;
  let missing = 0;
  for (const id of voters) {
    const vote = votes.get(id);
    if (vote === undefined) missing++;
    else if (vote) granted++;
  }
  const quorum = Math.floor(voters.size / 2) + 1;
  if (granted >= quorum) return 'won';
  if (granted + missing >= quorum) return 'pending';
  return 'lost';
}

export function jointVoteResult(
  incoming: ReadonlySet<NodeId>,
  outgoing: ReadonlySet<NodeId>,
  votes: ReadonlyMap<NodeId, boolean>,
): VoteResult {
  const a = majorityVoteResult(incoming, votes);
  const b = majorityVoteResult(outgoing, votes);
  if (a === b) return a;
  if (a === 'lost' || b === 'lost') return 'lost';
  return 'pending';
}
