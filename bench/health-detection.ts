/**
 * Failure detection, simulated on a fake clock (no real time passes, so the numbers are exact for the model):
 *
 * 1. Detection time: a peer sends 1 s heartbeats over a jittery network for a while (200..1200 heartbeats), then
 *    stops. How long after its last heartbeat arrived does phi cross the threshold? Reported continuous (the
 *    detector itself) and as seen by a node that evaluates every 100 ms.
 * 2. False suspicions: 10 simulated minutes of heartbeats from a live peer, starting from a fresh detector. How
 *    often does phi cross the threshold before the next heartbeat lands ("continuous": checked at every instant,
 *    an upper bound) and how many alive → suspect transitions does a PeerHealthTracker evaluated every 100 ms make?
 *
 *   npx tsc -p . && node dist/bench/health-detection.js [--trials 2000 --runs 100 --seed 1 --json]
 *
 * Network model: a heartbeat is sent every 1000 ms, leaves 0..20 ms late (timer drift) and, with probability p,
 * is delayed a further uniform 300..800 ms (a GC pause on the sender, a TCP retransmission). Delivery is in order.
 */
import type { PhiAccrualOptions } from '../src/cluster/health/options.js';
import { PeerHealthTracker } from '../src/cluster/health/peer-health-tracker.js';
import { PhiAccrualDetector } from '../src/cluster/health/phi-accrual-detector.js';
import { type Random, SeededRandom } from '../src/util/random.js';

interface Args {
  trials: number;
  runs: number;
  seed: number;
  json: boolean;
}

function parseArgs(argv: string[]): Args {
  const args: Args = { trials: 2000, runs: 100, seed: 1, json: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--json') args.json = true;
    else if (a === '--trials') args.trials = Number(argv[++i]);
    else if (a === '--runs') args.runs = Number(argv[++i]);
    else if (a === '--seed') args.seed = Number(argv[++i]);
    else throw new Error(`unknown argument ${a}`);
  }
  if (!(args.trials >= 1) || !(args.runs >= 1)) throw new Error('--trials and --runs must be ≥ 1');
  return args;
}

interface Network {
  readonly name: string;
  readonly jitterMs: number;
  readonly delayProbability: number;
  readonly delayMinMs: number;
  readonly delayMaxMs: number;
}

const NETWORKS: readonly Network[] = [
  { name: 'steady (0..20 ms jitter)', jitterMs: 20, delayProbability: 0, delayMinMs: 0, delayMaxMs: 0 },
  { name: '1 % delayed 300..800 ms', jitterMs: 20, delayProbability: 0.01, delayMinMs: 300, delayMaxMs: 800 },
  { name: '5 % delayed 300..800 ms', jitterMs: 20, delayProbability: 0.05, delayMinMs: 300, delayMaxMs: 800 },
  { name: '5 % 300..800 + 0.5 % 1..2 s', jitterMs: 20, delayProbability: 0.05, delayMinMs: 300, delayMaxMs: 800 },
];
/** The last network also has rare long stalls: modelled separately. */
const LONG_STALL = { probability: 0.005, minMs: 1000, maxMs: 2000 };

interface Config {
  readonly name: string;
  readonly options: PhiAccrualOptions;
}

const CONFIGS: readonly Config[] = [
  { name: 'normal, pause 1000 ms (default)', options: {} },
  { name: 'normal, pause 0 ms', options: { acceptableHeartbeatPauseMs: 0 } },
  { name: 'normal, pause 3000 ms (Akka cluster)', options: { acceptableHeartbeatPauseMs: 3000 } },
  { name: 'exponential (Cassandra)', options: { distribution: 'exponential', acceptableHeartbeatPauseMs: 0 } },
];

const THRESHOLD = 8;
const INTERVAL_MS = 1000;
const TICK_MS = 100;

class Clock {
  nowMs = 0;
  readonly now = (): number => this.nowMs;
}

/** Arrival times of `count` heartbeats sent from `startMs`. */
function arrivals(random: Random, network: Network, count: number, startMs = 0): number[] {
  const times: number[] = [];
  let previous = Number.NEGATIVE_INFINITY;
  const withLongStalls = network === NETWORKS[3];
  for (let i = 0; i < count; i++) {
    let latency = random.next() * network.jitterMs;
    if (random.chance(network.delayProbability)) {
      latency += network.delayMinMs + random.next() * (network.delayMaxMs - network.delayMinMs);
    }
    if (withLongStalls && random.chance(LONG_STALL.probability)) {
      latency += LONG_STALL.minMs + random.next() * (LONG_STALL.maxMs - LONG_STALL.minMs);
    }
    previous = Math.max(previous, startMs + i * INTERVAL_MS + latency);
    times.push(previous);
  }
  return times;
}

/** Silence after the last heartbeat at which phi first exceeds the threshold (1 ms resolution). */
function crossingMs(clock: Clock, detector: PhiAccrualDetector, lastMs: number): number {
  let low = 0;
  let high = 3_600_000;
  while (high - low > 1) {
    const middle = Math.floor((low + high) / 2);
    clock.nowMs = lastMs + middle;
    if (detector.phi() > THRESHOLD) high = middle;
    else low = middle;
  }
  return high;
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

interface DetectionResult {
  network: string;
  config: string;
  medianMs: number;
  p99Ms: number;
  maxMs: number;
  tickMedianMs: number;
  tickP99Ms: number;
}

function measureDetection(args: Args, network: Network, config: Config, random: Random): DetectionResult {
  const continuous: number[] = [];
  const ticked: number[] = [];
  for (let trial = 0; trial < args.trials; trial++) {
    const clock = new Clock();
    const detector = new PhiAccrualDetector(config.options, clock);
    const times = arrivals(random, network, 200 + random.int(1000));
    for (const at of times) {
      clock.nowMs = at;
      detector.heartbeat();
    }
    const silence = crossingMs(clock, detector, times.at(-1)!);
    continuous.push(silence);
    // The node evaluates on a 100 ms tick whose phase is unrelated to the heartbeat's arrival.
    const phase = random.next() * TICK_MS;
    ticked.push(Math.ceil((silence - phase) / TICK_MS) * TICK_MS + phase);
  }
  continuous.sort((a, b) => a - b);
  ticked.sort((a, b) => a - b);
  return {
    network: network.name,
    config: config.name,
    medianMs: percentile(continuous, 50),
    p99Ms: percentile(continuous, 99),
    maxMs: continuous.at(-1)!,
    tickMedianMs: Math.round(percentile(ticked, 50)),
    tickP99Ms: Math.round(percentile(ticked, 99)),
  };
}

interface FalseSuspicionResult {
  network: string;
  config: string;
  runs: number;
  minutes: number;
  /** Heartbeats that arrived after phi had already crossed the threshold (continuous check). */
  continuous: number;
  /** alive → suspect transitions of a tracker evaluated every 100 ms. */
  trackerSuspicions: number;
  maxPhi: number;
}

function measureFalseSuspicions(args: Args, network: Network, config: Config, random: Random): FalseSuspicionResult {
  const heartbeatsPerRun = 600; // 10 minutes
  let continuous = 0;
  let trackerSuspicions = 0;
  let maxPhi = 0;
  for (let run = 0; run < args.runs; run++) {
    const times = arrivals(random, network, heartbeatsPerRun, 1000);
    const clock = new Clock();
    const detector = new PhiAccrualDetector(config.options, clock);
    const trackerClock = new Clock();
    const tracker = new PeerHealthTracker({ detector: config.options }, { clock: trackerClock });
    let next = 0;
    let tickMs = random.next() * TICK_MS;
    for (const at of times) {
      // Evaluate the tracker on every tick before this heartbeat lands.
      for (; tickMs < at; tickMs += TICK_MS) {
        trackerClock.nowMs = tickMs;
        for (const transition of tracker.evaluate().transitions) if (transition.to === 'suspect') trackerSuspicions++;
      }
      trackerClock.nowMs = at;
      tracker.heartbeat('peer');
      clock.nowMs = at - 1e-6;
      const phi = next === 0 ? 0 : detector.phi();
      if (phi > THRESHOLD) continuous++;
      maxPhi = Math.max(maxPhi, phi);
      clock.nowMs = at;
      detector.heartbeat();
      next++;
    }
  }
  return {
    network: network.name,
    config: config.name,
    runs: args.runs,
    minutes: args.runs * 10,
    continuous,
    trackerSuspicions,
    maxPhi: Math.round(maxPhi * 100) / 100,
  };
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const random = new SeededRandom(args.seed);
  const detection: DetectionResult[] = [];
  const falseSuspicions: FalseSuspicionResult[] = [];
  for (const network of NETWORKS) {
    for (const config of CONFIGS) {
      detection.push(measureDetection(args, network, config, random.fork()));
      falseSuspicions.push(measureFalseSuspicions(args, network, config, random.fork()));
    }
  }
  if (args.json) {
    console.log(JSON.stringify({ args, detection, falseSuspicions }, null, 2));
    return;
  }
  console.log(`# Health detection (seed ${args.seed}, ${args.trials} detection trials, ${args.runs} × 10 min runs)\n`);
  console.log('## Time from the last heartbeat to suspect (threshold 8, 1 s heartbeats)\n');
  console.log('| network | detector | median | p99 | max | median @100 ms tick | p99 @100 ms tick |');
  console.log('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of detection) {
    console.log(
      `| ${r.network} | ${r.config} | ${r.medianMs} ms | ${r.p99Ms} ms | ${r.maxMs} ms | ${r.tickMedianMs} ms | ${r.tickP99Ms} ms |`,
    );
  }
  console.log('\n## False suspicions of a live peer (threshold 8)\n');
  console.log('| network | detector | simulated | continuous crossings | tracker suspicions (100 ms tick) | max phi |');
  console.log('| --- | --- | --- | --- | --- | --- |');
  for (const r of falseSuspicions) {
    console.log(
      `| ${r.network} | ${r.config} | ${r.minutes} min | ${r.continuous} | ${r.trackerSuspicions} | ${r.maxPhi} |`,
    );
  }
}

main();
