import { invalidArgument } from '../errors.js';
import { murmur3String } from './murmur3.js';

/** The default Maglev table size: a prime, as the algorithm requires (Google's paper, Envoy's default). */
export const DEFAULT_MAGLEV_TABLE_SIZE = 65_537;
/** Largest table accepted (2 bytes a slot: 2 MiB). */
export const MAX_MAGLEV_TABLE_SIZE = 1 << 20;
/** Slot marker for "not yet owned"; node indexes stay below it. */
const EMPTY = 0xffff;
const OFFSET_SEED = 0x4d41474c; // "MAGL"
const SKIP_SEED = 0x45564c4d; // "EVLM"

export interface WeightedNode {
  readonly id: string;
  readonly weight: number;
}

export function isPrime(n: number): boolean {
  if (!Number.isInteger(n) || n < 2) return false;
  for (let d = 2; d * d <= n; d++) if (n % d === 0) return false;
  return true;
}

/**
 * Maglev consistent hashing (Eisenbud et al., NSDI 2016). Each node walks its own permutation of the table
 * slots — start `offset`, stride `skip`, both from hashes of its id — and the nodes take turns claiming their
 * next free slot until the table is full. Lookup is one array read. Every node ends up with a share of slots
 * proportional to its weight (exactly ⌊M/N⌋ or ⌈M/N⌉ for equal weights), and removing or adding one node
 * moves little more than that node's share. Weights follow Envoy: a node takes a turn each round in which
 * its accumulated weight / max weight reaches another whole slot.
 */
export class MaglevTable {
  private readonly slots: Uint16Array;

  constructor(
    nodes: readonly WeightedNode[],
    readonly tableSize: number = DEFAULT_MAGLEV_TABLE_SIZE,
  ) {
    if (!isPrime(tableSize) || tableSize > MAX_MAGLEV_TABLE_SIZE) {
      throw invalidArgument(`the Maglev table size must be a prime ≤ ${MAX_MAGLEV_TABLE_SIZE}, got ${tableSize}`);
    }
    if (nodes.length >= tableSize || nodes.length >= EMPTY) {
      throw invalidArgument(`a Maglev table of ${tableSize} slots cannot hold ${nodes.length} nodes`);
    }
    this.slots = new Uint16Array(tableSize).fill(EMPTY);
    if (nodes.length > 0) this.populate(nodes);
  }

  /** The index (in the node list the table was built from) owning this hash; -1 for an empty table. */
  lookup(hash: number): number {
    const owner = this.slots[hash % this.tableSize]!;
    return owner === EMPTY ? -1 : owner;
  }

  /**
   * Like `lookup` but skips nodes `skip` rejects, walking the following slots (a retry's "next host"). Slots
   * after a given one belong to effectively random nodes, so the walk ends after a few steps. -1 if all are
   * rejected.
   */
  lookupSkipping(hash: number, skip: (index: number) => boolean): number {
    const start = hash % this.tableSize;
    for (let step = 0; step < this.tableSize; step++) {
      const owner = this.slots[(start + step) % this.tableSize]!;
      if (owner === EMPTY) return -1;
      if (!skip(owner)) return owner;
    }
    return -1;
  }

  /** How many slots each node owns (for tests and diagnostics). */
  slotCounts(nodeCount: number): number[] {
    const counts = new Array<number>(nodeCount).fill(0);
    for (const owner of this.slots) if (owner !== EMPTY) counts[owner]!++;
    return counts;
  }

  private populate(nodes: readonly WeightedNode[]): void {
    const size = this.tableSize;
    const n = nodes.length;
    const position = new Float64Array(n);
    const skip = new Float64Array(n);
    const share = new Float64Array(n);
    const credit = new Float64Array(n);
    let maxWeight = 0;
    for (const node of nodes) maxWeight = Math.max(maxWeight, node.weight);
    nodes.forEach((node, i) => {
      position[i] = murmur3String(node.id, OFFSET_SEED) % size;
      skip[i] = (murmur3String(node.id, SKIP_SEED) % (size - 1)) + 1;
      share[i] = node.weight / maxWeight;
    });
    let filled = 0;
    for (;;) {
      for (let i = 0; i < n; i++) {
        credit[i]! += share[i]!;
        if (credit[i]! < 1) continue;
        credit[i]! -= 1;
        let slot = position[i]!;
        while (this.slots[slot] !== EMPTY) slot = (slot + skip[i]!) % size;
        this.slots[slot] = i;
        position[i] = (slot + skip[i]!) % size;
        if (++filled === size) return;
      }
    }
  }
}
