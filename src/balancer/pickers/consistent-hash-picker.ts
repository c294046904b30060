import { invalidArgument } from '../errors.js';
import { DEFAULT_MAGLEV_TABLE_SIZE, isPrime, MAX_MAGLEV_TABLE_SIZE, MaglevTable } from '../hashing/maglev.js';
import { type RendezvousNode, rendezvousNode, rendezvousPick } from '../hashing/rendezvous.js';
import type { HostRecord } from '../host-tracker.js';
import type { BalanceRequest } from '../types.js';
import { integerInRange, MAX_HOSTS } from '../validate.js';
import { type Picker, type PickerContext, withoutExcluded } from './picker.js';

export interface ConsistentHashOptions {
  /**
   * Slots of the Maglev lookup table: a prime, ideally ≥ 100 × the host count (the larger the table, the
   * closer to minimal the disruption when hosts change).
   * Default: 65,537.
   */
  tableSize?: number;
  /**
   * Host sets of at most this many configured hosts use rendezvous hashing (exactly minimal disruption, O(N)
   * per pick, no table); larger ones use Maglev (O(1) per pick, near-minimal disruption). Default: 8.
   */
  rendezvousMaxHosts?: number;
}

export const CONSISTENT_HASH_DEFAULTS = { tableSize: DEFAULT_MAGLEV_TABLE_SIZE, rendezvousMaxHosts: 8 } as const;

/** Maglev tables kept for recent candidate sets, so a host flapping in and out does not rebuild every time. */
const MAX_CACHED_TABLES = 4;

/**
 * The consistent-hash machinery shared by ip-hash and url-hash: a request's hash names its host, and a change
 * of the candidate set moves as few hashes as possible. Below `rendezvousMaxHosts` configured hosts it uses
 * rendezvous hashing, above it Maglev. The choice follows the configured host count, not the healthy one,
 * so ejections and health flaps never switch algorithms (a switch remaps most keys); only a membership change
 * across the threshold does. A table is built over the current candidates (healthy hosts), as Envoy does,
 * and a retry walks to the next host not yet tried. A request without anything to hash goes to a random host.
 */
export class ConsistentHashPicker implements Picker {
  private readonly tableSize: number;
  private readonly rendezvousMaxHosts: number;
  private readonly tables = new Map<string, MaglevTable>();
  private lastCandidates: readonly HostRecord[] | null = null;
  private lastTable: MaglevTable | null = null;
  private lastNodes: readonly RendezvousNode[] = [];

  constructor(
    readonly strategy: 'ip-hash' | 'url-hash',
    private readonly hashOf: (request: BalanceRequest) => number | null,
    private readonly context: Pick<PickerContext, 'random' | 'configuredHostCount'>,
    options: ConsistentHashOptions = {},
  ) {
    const size = options.tableSize ?? CONSISTENT_HASH_DEFAULTS.tableSize;
    // Larger than the most hosts a balancer takes, so building a table over the candidates can never fail.
    if (!isPrime(size) || size <= MAX_HOSTS || size > MAX_MAGLEV_TABLE_SIZE) {
      throw invalidArgument(
        `hash.tableSize must be a prime in ${MAX_HOSTS + 1}..${MAX_MAGLEV_TABLE_SIZE}, got ${String(options.tableSize)}`,
      );
    }
    this.tableSize = size;
    this.rendezvousMaxHosts = integerInRange(
      'hash.rendezvousMaxHosts',
      options.rendezvousMaxHosts,
      CONSISTENT_HASH_DEFAULTS.rendezvousMaxHosts,
      0,
      1000,
    );
  }

  /** Which algorithm the current configured host count selects. */
  get algorithm(): 'rendezvous' | 'maglev' {
    return this.context.configuredHostCount() <= this.rendezvousMaxHosts ? 'rendezvous' : 'maglev';
  }

  pick(request: BalanceRequest, candidates: readonly HostRecord[], excluded?: ReadonlySet<string>): HostRecord | null {
    if (candidates.length === 0) return null;
    const hash = this.hashOf(request);
    if (hash === null) {
      const pool = withoutExcluded(candidates, excluded);
      return pool.length === 0 ? null : pool[this.context.random.int(pool.length)]!;
    }
    const skip = excluded && excluded.size > 0 ? (i: number) => excluded.has(candidates[i]!.id) : undefined;
    this.prepare(candidates);
    let index: number;
    if (this.algorithm === 'rendezvous') {
      index = rendezvousPick(hash, this.lastNodes, skip);
    } else {
      const table = this.maglevFor(candidates);
      index = skip ? table.lookupSkipping(hash, skip) : table.lookup(hash);
    }
    return index < 0 ? null : candidates[index]!;
  }

  private prepare(candidates: readonly HostRecord[]): void {
    if (candidates === this.lastCandidates) return;
    this.lastCandidates = candidates;
    this.lastTable = null;
    this.lastNodes = candidates.map((record) => rendezvousNode(record.id, record.host.weight));
  }

  private maglevFor(candidates: readonly HostRecord[]): MaglevTable {
    if (this.lastTable) return this.lastTable;
    const signature = JSON.stringify(candidates.map((record) => [record.id, record.host.weight]));
    let table = this.tables.get(signature);
    if (table) {
      this.tables.delete(signature); // re-inserted below as the most recent
    } else {
      table = new MaglevTable(
        candidates.map((record) => ({ id: record.id, weight: record.host.weight })),
        this.tableSize,
      );
    }
    this.tables.set(signature, table);
    if (this.tables.size > MAX_CACHED_TABLES) this.tables.delete(this.tables.keys().next().value!);
    this.lastTable = table;
    return table;
  }
}
