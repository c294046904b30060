#!/usr/bin/env node
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { TortureError } from './errors.js';
import { parseFaultKinds } from './fault-kinds.js';
import { runTorture } from './harness.js';
import { TORTURE_DEFAULTS, type TortureOptionsInput } from './options.js';
import { killAllSync } from './process-registry.js';

export const EXIT_PASSED = 0;
export const EXIT_FAILED = 1;
export const EXIT_UNKNOWN = 2;
export const EXIT_HARNESS_ERROR = 3;
export const EXIT_INTERRUPTED = 130;
export const EXIT_USAGE = 64;

const USAGE = `usage: npm run torture -- [options]

Starts a Cairn cluster of real node processes behind a fault-injecting proxy, runs concurrent clients while
injecting faults on a seeded schedule, heals, and checks linearizability, replica convergence and watches.

  --nodes N              founding members (default ${TORTURE_DEFAULTS.nodes})
  --time SECONDS         length of the workload and fault schedule (default ${TORTURE_DEFAULTS.timeSeconds})
  --faults LIST          comma-separated: kill, pause, partition, latency, slow-fsync, membership, all, none,
                         or single kinds (kill-leader, kill-node, kill-minority, pause-short, pause-long,
                         isolate-leader, isolate-node, split, oneway, bridge) (default all)
  --seed N               seed of every random choice (default: random, printed)
  --clients C            concurrent clients (default ${TORTURE_DEFAULTS.clients})
  --keys K               keys in use at a time (default ${TORTURE_DEFAULTS.keys})
  --key-rotation S       move to fresh keys every S seconds, 0 = never (default ${TORTURE_DEFAULTS.keyRotationSeconds})
  --lease-reads F        share of reads made with consistency=lease, 0..1 (default 0)
  --think-ms MS          each client pauses 0..MS between operations (default 0: back to back)
  --op-timeout-ms MS     client timeout per operation (default ${TORTURE_DEFAULTS.opTimeoutMs})
  --watchers W           prefix watchers (default ${TORTURE_DEFAULTS.watchers})
  --tick-ms MS           nodes' Raft tick (default ${TORTURE_DEFAULTS.tickMs})
  --consensus raft|paxos the nodes' consensus engine (default ${TORTURE_DEFAULTS.consensus})
  --election-ticks N     nodes' election timeout in ticks (default ${TORTURE_DEFAULTS.electionTicks})
  --snapshot-entries N   nodes snapshot every N entries, keeping N/5 (small: catch-up by snapshot) (default: nodes' own)
  --node-request-timeout-ms MS  the nodes' --request-timeout-ms; below --op-timeout-ms, client timeouts
                         are reported as hung requests (default: nodes' own, 5000)
  --unsafe-local-reads   start nodes with --test-unsafe-local-reads (must be caught as NOT linearizable)
  --endpoints LIST       run the workload and checks against an existing cluster (no processes, no faults)
  --runs-dir DIR         where run directories go (default ${TORTURE_DEFAULTS.runsDir})
  --heal-timeout S       bound on healing, convergence and watches after the run (default ${TORTURE_DEFAULTS.healTimeoutSeconds})
  --check-budget-ms MS   linearizability search budget per key (default ${TORTURE_DEFAULTS.checkBudgetMsPerKey})
  --keep-data            keep the nodes' data directories in the run directory
  --log-level LEVEL      nodes' log level: error, warn, info, debug (default ${TORTURE_DEFAULTS.nodeLogLevel})
  --host-base N          first loopback host: 127.0.0.N (default ${TORTURE_DEFAULTS.hostBase})
  -h, --help             show this help

The last line is "VERDICT: linearizable (...)", "VERDICT: NOT linearizable (...)", "VERDICT: FAILED (...)"
(linearizable history, but replicas differ, a watch missed a change, a node crashed...) or "VERDICT: unknown (...)".
exit status: 0 linearizable and every other check passed, 1 not linearizable or failed, 2 undecided,
             3 harness error, 64 bad usage, 130 interrupted`;

function num(name: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n)) throw new TortureError('INVALID_OPTION', `--${name} must be a number (got "${text}")`);
  return n;
}

/** Reads the command line into harness options (throws TortureError INVALID_OPTION). */
export function parseTortureArgs(args: readonly string[]): TortureOptionsInput | 'help' {
  const { values, positionals } = parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      nodes: { type: 'string' },
      time: { type: 'string' },
      faults: { type: 'string' },
      seed: { type: 'string' },
      clients: { type: 'string' },
      keys: { type: 'string' },
      'key-rotation': { type: 'string' },
      'op-timeout-ms': { type: 'string' },
      'lease-reads': { type: 'string' },
      'think-ms': { type: 'string' },
      watchers: { type: 'string' },
      'tick-ms': { type: 'string' },
      'election-ticks': { type: 'string' },
      consensus: { type: 'string' },
      'unsafe-local-reads': { type: 'boolean' },
      'snapshot-entries': { type: 'string' },
      'node-request-timeout-ms': { type: 'string' },
      endpoints: { type: 'string' },
      'runs-dir': { type: 'string' },
      'heal-timeout': { type: 'string' },
      'check-budget-ms': { type: 'string' },
      'keep-data': { type: 'boolean' },
      'log-level': { type: 'string' },
      'host-base': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return 'help';
  if (positionals.length > 0) throw new TortureError('INVALID_OPTION', `unexpected argument "${positionals[0]}"`);
  const endpoints = values.endpoints
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  if (endpoints && values.faults !== undefined && values.faults !== 'none') {
    throw new TortureError('INVALID_OPTION', '--endpoints runs without fault injection: leave out --faults');
  }
  return {
    nodes: num('nodes', values.nodes),
    timeSeconds: num('time', values.time),
    faults: values.faults === undefined ? undefined : parseFaultKinds(values.faults),
    seed: num('seed', values.seed),
    clients: num('clients', values.clients),
    keys: num('keys', values.keys),
    keyRotationSeconds: num('key-rotation', values['key-rotation']),
    opTimeoutMs: num('op-timeout-ms', values['op-timeout-ms']),
    leaseReads: num('lease-reads', values['lease-reads']),
    thinkMs: num('think-ms', values['think-ms']),
    watchers: num('watchers', values.watchers),
    tickMs: num('tick-ms', values['tick-ms']),
    electionTicks: num('election-ticks', values['election-ticks']),
    consensus: values.consensus as TortureOptionsInput['consensus'],
    unsafeLocalReads: values['unsafe-local-reads'],
    snapshotEntries: num('snapshot-entries', values['snapshot-entries']),
    nodeRequestTimeoutMs: num('node-request-timeout-ms', values['node-request-timeout-ms']),
    endpoints,
    runsDir: values['runs-dir'],
    healTimeoutSeconds: num('heal-timeout', values['heal-timeout']),
    checkBudgetMsPerKey: num('check-budget-ms', values['check-budget-ms']),
    keepData: values['keep-data'],
    nodeLogLevel: values['log-level'] as TortureOptionsInput['nodeLogLevel'],
    hostBase: num('host-base', values['host-base']),
  };
}

async function main(): Promise<number> {
  let input: TortureOptionsInput | 'help';
  try {
    input = parseTortureArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`torture: ${(error as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (input === 'help') {
    console.log(USAGE);
    return EXIT_PASSED;
  }
  // Whatever happens, no node process outlives the harness.
  const interrupted = (signal: string) => {
    const killed = killAllSync();
    console.error(`torture: ${signal}: killed ${killed} node processes`);
    console.log(`VERDICT: FAILED (interrupted by ${signal})`);
    process.exit(EXIT_INTERRUPTED);
  };
  process.once('SIGINT', () => interrupted('SIGINT'));
  process.once('SIGTERM', () => interrupted('SIGTERM'));
  process.once('uncaughtException', (error) => {
    killAllSync();
    console.error(`torture: uncaught error: ${error.stack ?? error}`);
    console.log('VERDICT: FAILED (harness error)');
    process.exit(EXIT_HARNESS_ERROR);
  });
  // A hard bound on the whole run, whatever goes wrong: the schedule, healing, the check, and a margin.
  const timeSeconds = input.timeSeconds ?? TORTURE_DEFAULTS.timeSeconds;
  const boundMs =
    (timeSeconds + (input.healTimeoutSeconds ?? TORTURE_DEFAULTS.healTimeoutSeconds) + 120) * 1000 +
    TORTURE_DEFAULTS.checkTotalBudgetMs;
  const watchdog = setTimeout(() => {
    killAllSync();
    console.log(`VERDICT: FAILED (the harness exceeded its bound of ${Math.round(boundMs / 1000)} s)`);
    process.exit(EXIT_HARNESS_ERROR);
  }, boundMs);
  watchdog.unref();
  try {
    const result = await runTorture(input, { log: (line) => console.log(line) });
    if (result.passed) return EXIT_PASSED;
    return result.verdict === 'unknown' ? EXIT_UNKNOWN : EXIT_FAILED;
  } catch (error) {
    killAllSync();
    if (error instanceof TortureError && error.code === 'INVALID_OPTION') {
      console.error(`torture: ${error.message}\n\n${USAGE}`);
      return EXIT_USAGE;
    }
    console.error(`torture: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    console.log(`VERDICT: FAILED (harness error: ${error instanceof Error ? error.message : String(error)})`);
    return EXIT_HARNESS_ERROR;
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => process.exit(code),
    () => process.exit(EXIT_HARNESS_ERROR),
  );
}
