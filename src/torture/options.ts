import { TortureError } from './errors.js';
import { FAULT_KINDS, type FaultKind } from './fault-kinds.js';

/** What a torture run does. Every field documents its default (applied by `resolveTortureOptions`). */
export interface TortureOptions {
  /** Founding members of the cluster the harness starts (3 or 5 typically; 1..9). Default 3. */
  readonly nodes: number;
  /** How long the workload and the faults run, in seconds. Default 60. */
  readonly timeSeconds: number;
  /** The faults the schedule may choose. Default: every kind (`all`). */
  readonly faults: readonly FaultKind[];
  /** Seed of every random choice (fault schedule, targets, client operations). Default: random, printed. */
  readonly seed: number;
  /** Concurrent clients. Default 8. */
  readonly clients: number;
  /** Keys in use at a time (small, so operations contend). Default 5. */
  readonly keys: number;
  /**
   * Every so many seconds the clients move to a fresh set of keys, which keeps each key's history short enough
   * for the checker to decide quickly. 0 = never. Default 20.
   */
  readonly keyRotationSeconds: number;
  /** Share of reads made with `consistency=lease` (lease reads must be linearizable too). 0..1. Default 0. */
  readonly leaseReads: number;
  /** Each client pauses a random 0..thinkMs between operations; 0 = back to back (the most load). Default 0. */
  readonly thinkMs: number;
  /** A client gives up on an operation after this long (the outcome is then unknown). Default 2000 ms. */
  readonly opTimeoutMs: number;
  /** Watchers on the key prefix (one through the client SDK, the rest raw SSE). Default 3. */
  readonly watchers: number;
  /** The nodes' consensus engine (`cairn start --consensus`). Default raft. */
  readonly consensus: 'raft' | 'paxos';
  /** Nodes' Raft tick. Default 50 ms. */
  readonly tickMs: number;
  /** Nodes' election timeout in ticks (randomized in [1x, 2x) by the nodes). Default 10. */
  readonly electionTicks: number;
  /**
   * Nodes snapshot every so many applied entries (`--snapshot-entries`) and keep a fifth of that behind
   * (`--snapshot-keep-entries`): small values make lagging followers and joiners catch up by snapshot, under
   * faults. 0 = the nodes' defaults (10 000, keeping 5 000). Default 0.
   */
  readonly snapshotEntries: number;
  /**
   * The nodes' `--request-timeout-ms` (how long a node lets a request wait before answering TIMEOUT); 0 = their
   * default (5000). Set it well below `opTimeoutMs` and a client timeout means a node did not answer within its
   * own timeout: such requests are reported as *hung* (docs/testing.md). Default 0.
   */
  readonly nodeRequestTimeoutMs: number;
  /** Start the nodes with `--test-unsafe-local-reads` (reads skip ReadIndex: the checker must object). Default false. */
  readonly unsafeLocalReads: boolean;
  /**
   * Run against an existing cluster: these node API endpoints (`http://host:port`), no processes started and no
   * faults. Default: none (the harness starts its own cluster).
   */
  readonly endpoints: readonly string[];
  /** Where run directories are created (`<runsDir>/<timestamp>-seed<N>/`). Default `./torture-runs`. */
  readonly runsDir: string;
  /** Use exactly this run directory instead (tests). Default: none. */
  readonly runDir: string | null;
  /** After the run: how long healing, convergence and watches catching up may take, in seconds. Default 90. */
  readonly healTimeoutSeconds: number;
  /** Linearizability search budget per key, in ms (a key past it is `unknown`). Default 20 000. */
  readonly checkBudgetMsPerKey: number;
  /** The whole check may take at most this long, in ms (then `unknown`). Default 300 000. */
  readonly checkTotalBudgetMs: number;
  /** Keep the nodes' data directories in the run directory after the run. Default false (deleted). */
  readonly keepData: boolean;
  /** Delete the whole run directory when the run passes (tests). Default false. */
  readonly deleteRunDirOnPass: boolean;
  /** Node log level (`info` logs leader changes and faults seen by nodes). Default `info`. */
  readonly nodeLogLevel: 'error' | 'warn' | 'info' | 'debug';
  /** First loopback host number: nodes live on 127.0.0.<hostBase>, .<hostBase + 1>, ... Default 1. */
  readonly hostBase: number;
  /** Print a progress line this often, in seconds (0 = never). Default 10. */
  readonly progressSeconds: number;
}

export type TortureOptionsInput = Partial<TortureOptions>;

export const TORTURE_DEFAULTS: Omit<TortureOptions, 'seed'> = {
  nodes: 3,
  timeSeconds: 60,
  faults: FAULT_KINDS,
  clients: 8,
  keys: 5,
  keyRotationSeconds: 20,
  leaseReads: 0,
  thinkMs: 0,
  opTimeoutMs: 2000,
  watchers: 3,
  consensus: 'raft',
  tickMs: 50,
  electionTicks: 10,
  snapshotEntries: 0,
  nodeRequestTimeoutMs: 0,
  unsafeLocalReads: false,
  endpoints: [],
  runsDir: './torture-runs',
  runDir: null,
  healTimeoutSeconds: 90,
  checkBudgetMsPerKey: 20_000,
  checkTotalBudgetMs: 300_000,
  keepData: false,
  deleteRunDirOnPass: false,
  nodeLogLevel: 'info',
  hostBase: 1,
  progressSeconds: 10,
};

function intIn(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new TortureError('INVALID_OPTION', `${name} must be an integer in ${min}..${max} (got ${value})`);
  }
}

/** Fills defaults and validates; throws TortureError INVALID_OPTION naming the field. */
export function resolveTortureOptions(input: TortureOptionsInput, randomSeed: () => number): TortureOptions {
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  const o: TortureOptions = { ...TORTURE_DEFAULTS, seed: input.seed ?? randomSeed(), ...defined };
  intIn('nodes', o.nodes, 1, 9);
  if (!(o.timeSeconds > 0 && o.timeSeconds <= 86_400)) {
    throw new TortureError('INVALID_OPTION', `time must be in (0, 86400] seconds (got ${o.timeSeconds})`);
  }
  intIn('seed', o.seed, 0, 2 ** 32 - 1);
  intIn('clients', o.clients, 1, 256);
  intIn('keys', o.keys, 1, 1000);
  intIn('keyRotationSeconds', o.keyRotationSeconds, 0, 86_400);
  if (!(o.leaseReads >= 0 && o.leaseReads <= 1)) {
    throw new TortureError('INVALID_OPTION', `leaseReads must be in 0..1 (got ${o.leaseReads})`);
  }
  intIn('thinkMs', o.thinkMs, 0, 60_000);
  intIn('opTimeoutMs', o.opTimeoutMs, 50, 600_000);
  intIn('watchers', o.watchers, 0, 32);
  intIn('tickMs', o.tickMs, 1, 10_000);
  intIn('electionTicks', o.electionTicks, 2, 1000);
  if (o.consensus !== 'raft' && o.consensus !== 'paxos') {
    throw new TortureError('INVALID_OPTION', `consensus must be raft or paxos, not ${JSON.stringify(o.consensus)}`);
  }
  intIn('snapshotEntries', o.snapshotEntries, 0, 10_000_000);
  intIn('nodeRequestTimeoutMs', o.nodeRequestTimeoutMs, 0, 600_000);
  intIn('healTimeoutSeconds', o.healTimeoutSeconds, 1, 3600);
  intIn('checkBudgetMsPerKey', o.checkBudgetMsPerKey, 0, 3_600_000);
  intIn('checkTotalBudgetMs', o.checkTotalBudgetMs, 1, 24 * 3_600_000);
  intIn('hostBase', o.hostBase, 1, 200);
  if (!(o.progressSeconds >= 0)) throw new TortureError('INVALID_OPTION', 'progressSeconds must be >= 0');
  if (o.hostBase + o.nodes + 20 > 254) {
    throw new TortureError('INVALID_OPTION', 'hostBase leaves no room for the nodes and spares below 127.0.0.254');
  }
  for (const f of o.faults) {
    if (!(FAULT_KINDS as readonly string[]).includes(f)) throw new TortureError('INVALID_OPTION', `unknown fault ${f}`);
  }
  if (o.endpoints.length > 0) {
    for (const e of o.endpoints) {
      try {
        new URL(e.includes('://') ? e : `http://${e}`);
      } catch {
        throw new TortureError('INVALID_OPTION', `endpoint "${e}" is not a URL`);
      }
    }
    if (o.unsafeLocalReads) {
      throw new TortureError('INVALID_OPTION', 'unsafeLocalReads needs a cluster the harness starts (no --endpoints)');
    }
  }
  if (!['error', 'warn', 'info', 'debug'].includes(o.nodeLogLevel)) {
    throw new TortureError('INVALID_OPTION', `nodeLogLevel must be error, warn, info or debug`);
  }
  return o;
}

/** The election timeout's lower bound, in ms (nodes randomize it in [1x, 2x)). */
export function electionTimeoutMs(o: Pick<TortureOptions, 'tickMs' | 'electionTicks'>): number {
  return o.tickMs * o.electionTicks;
}
