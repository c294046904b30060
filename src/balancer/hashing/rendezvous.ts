import { murmur3Pair, murmur3String } from './murmur3.js';

const ID_SEED = 0x48525731; // "HRW1"
const TWO_POW_32 = 4294967296;

/** A node prepared for rendezvous hashing: its id hashed once. */
export interface RendezvousNode {
  readonly idHash: number;
  readonly weight: number;
}

export function rendezvousNode(id: string, weight: number): RendezvousNode {
  return { idHash: murmur3String(id, ID_SEED), weight };
}

/**
 * Rendezvous (highest random weight) hashing: every node scores the key and the highest score wins. Removing
 * a node moves exactly the keys it owned, adding one moves exactly the keys it wins — minimal disruption — at
 * O(N) per lookup, which is nothing for a handful of nodes. Weights use the logarithmic method
 * (score = −w / ln u, u uniform in (0,1)), which gives each node a share proportional to its weight.
 * Returns the winning index, or -1 when every node is skipped or there are none.
 */
export function rendezvousPick(
  keyHash: number,
  nodes: readonly RendezvousNode[],
  skip?: (index: number) => boolean,
): number {
  let best = -1;
  let bestScore = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < nodes.length; i++) {
    if (skip?.(i)) continue;
    const node = nodes[i]!;
    const u = (murmur3Pair(keyHash, node.idHash) + 0.5) / TWO_POW_32;
    const score = -node.weight / Math.log(u);
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  return best;
}
