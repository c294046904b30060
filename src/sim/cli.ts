#!/usr/bin/env node
import { Command, InvalidArgumentError } from 'commander';
import { runSeed, type SimResult } from './cluster-sim.js';
import { engineFactoryByName } from './engine-factory.js';

function integer(name: string, min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
    return n;
  };
}

const program = new Command()
  .name('sim')
  .description('Run the deterministic cluster simulator over a range of seeds')
  .option('--engine <name>', 'consensus engine: raft or paxos', 'raft')
  .option('--nodes <n>', 'founding voters (3 or 5 are typical)', integer('--nodes', 1), 3)
  .option('--seeds <n>', 'how many seeds to run', integer('--seeds', 1), 100)
  .option('--start <seed>', 'first seed', integer('--start', 0), 1)
  .option('--chaos-ms <ms>', 'virtual time of faults and load per seed', integer('--chaos-ms', 0), 12_000)
  .option('--clients <n>', 'concurrent simulated clients', integer('--clients', 1), 3)
  .option('--profile <name>', 'fault profile: mixed (a third of the seeds stormy) or stormy (all)', 'mixed')
  .option('--trace', 'print the whole trace of each failing seed, not only its end', false)
  .option('--json', 'print one JSON line per failing seed and a summary line', false)
  .option('--keep-going', 'run every seed even after a failure', false)
  .showHelpAfterError();

program.parse();
const opts = program.opts<{
  engine: string;
  nodes: number;
  seeds: number;
  start: number;
  chaosMs: number;
  clients: number;
  profile: string;
  trace: boolean;
  json: boolean;
  keepGoing: boolean;
}>();

if (opts.profile !== 'mixed' && opts.profile !== 'stormy') {
  console.error(`unknown profile "${opts.profile}" (known: mixed, stormy)`);
  process.exit(64);
}
const profile: 'mixed' | 'stormy' = opts.profile;

let factory: ReturnType<typeof engineFactoryByName>;
try {
  factory = engineFactoryByName(opts.engine);
} catch (error) {
  console.error(String((error as Error).message));
  process.exit(64);
}

function replayCommand(seed: number): string {
  return `npm run sim -- --engine ${opts.engine} --nodes ${opts.nodes} --seeds 1 --start ${seed} --chaos-ms ${opts.chaosMs} --clients ${opts.clients} --profile ${profile} --trace`;
}

function report(result: SimResult): void {
  const v = result.violation!;
  if (opts.json) {
    console.log(JSON.stringify({ seed: result.seed, invariant: v.invariant, message: v.message, atMs: v.atMs }));
    return;
  }
  const lines = opts.trace ? result.trace : result.trace.slice(-40);
  console.log(`seed ${result.seed} FAILED at t=${v.atMs.toFixed(1)} ms: ${v.message}`);
  console.log('--- trace (last events) ---');
  for (const line of lines) console.log(`  ${line}`);
  console.log(`--- replay: ${replayCommand(result.seed)}`);
}

const startedAt = performance.now();
let passed = 0;
let failed = 0;
const totals = { writesAcknowledged: 0, readsServed: 0, leaderElections: 0, snapshotsInstalled: 0, faults: 0 };
for (let seed = opts.start; seed < opts.start + opts.seeds; seed++) {
  const result = runSeed(factory, {
    seed,
    nodes: opts.nodes,
    chaosMs: opts.chaosMs,
    clients: opts.clients,
    profile,
    fullTrace: opts.trace,
  });
  for (const k of Object.keys(totals) as (keyof typeof totals)[]) totals[k] += result.stats[k];
  if (result.ok) {
    passed++;
  } else {
    failed++;
    report(result);
    if (!opts.keepGoing) break;
  }
  if (!opts.json && process.stderr.isTTY && (seed - opts.start + 1) % 100 === 0) {
    process.stderr.write(`\r${seed - opts.start + 1}/${opts.seeds} seeds`);
  }
}
const seconds = ((performance.now() - startedAt) / 1000).toFixed(1);
if (opts.json) {
  console.log(
    JSON.stringify({ engine: opts.engine, nodes: opts.nodes, passed, failed, seconds: Number(seconds), ...totals }),
  );
} else {
  if (process.stderr.isTTY) process.stderr.write('\n');
  const summary = `${totals.writesAcknowledged} writes acknowledged, ${totals.readsServed} reads, ${totals.leaderElections} elections, ${totals.snapshotsInstalled} snapshots installed, ${totals.faults} faults`;
  if (failed === 0)
    console.log(`${passed} seeds passed (${opts.engine}, ${opts.nodes} nodes, ${seconds} s; ${summary})`);
  else console.log(`${failed} seed(s) failed, ${passed} passed (${opts.engine}, ${opts.nodes} nodes, ${seconds} s)`);
}
process.exit(failed === 0 ? 0 : 1);
