import type { NodeId } from '../consensus/types.js';

/**
 * Ballots are totally ordered pairs (round, proposer). They travel as one number so that they fit the shared
 * `HardState.term` and `Entry.term`: `ballot = round × 65536 + rank(proposer)`, where the rank is a 16-bit hash of
 * the node id in [1, 65535]. Comparing the numbers compares (round, rank).
 *
 * Safety never depends on ranks being distinct: an acceptor promises a ballot number to one proposer only
 * (`HardState.vote` records which), so at most one proposer can gather a quorum of promises for a number, exactly as
 * a Raft term has at most one leader. Distinct ranks only keep two proposers from picking the same number and
 * splitting the promises (a liveness matter).
 */
export const RANKS = 65_536;

/** Largest round whose ballot still fits a safe integer. */
const MAX_ROUND = Math.floor(Number.MAX_SAFE_INTEGER / RANKS) - 1;

/** A stable rank in [1, 65535] for a node id (FNV-1a over its UTF-16 code units). */
export function rankOf(id: NodeId): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return (h % (RANKS - 1)) + 1;
}

export function ballotRound(ballot: number): number {
  return Math.floor(ballot / RANKS);
}

export function ballotRank(ballot: number): number {
  return ballot % RANKS;
}

/** The smallest ballot of `id` that is greater than `above`. */
export function nextBallot(above: number, id: NodeId): number {
  const rank = rankOf(id);
  let round = ballotRound(above);
  if (round * RANKS + rank <= above) round++;
  if (round > MAX_ROUND) throw new Error(`paxos: ballot rounds exhausted above ${above}`);
  return round * RANKS + rank;
}

/** "round.rank", for traces and errors. */
export function formatBallot(ballot: number): string {
  return `${ballotRound(ballot)}.${ballotRank(ballot)}`;
}
