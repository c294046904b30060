import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { Pool } from 'undici';
import { STRATEGY_NAMES, type StrategyName } from '../src/balancer/types.js';
import { Gateway } from '../src/gateway/gateway.js';
import type { BackendSpec } from '../src/gateway/options.js';
import { SeededRandom } from '../src/util/random.js';

/**
 * `npm run bench:lb`: how each balancing strategy copes with one slow backend.
 *
 * Three backends run in a worker thread (their own event loop, so their timers are not disturbed by the load):
 * `fast-1` and `fast-2` take 2 ms per request, `slow` 10 ms (5× slower), each ±20 % uniform jitter, and each
 * serves at most `WORKERS` requests at once (a server with finite capacity; more requests wait in its queue).
 * The requests go through the gateway (`src/gateway`, the balancer's health layer included) with a fixed number
 * of requests in flight, from 256 simulated client addresses (X-Forwarded-For, trusted, for ip-hash) over 1,000
 * keys (for url-hash). The gateway's zone is `a`; `fast-1` and `slow` are in zone `a`, `fast-2` in zone `b`.
 * Every strategy runs `--runs` times (interleaved, each with a fresh gateway) and the medians are reported.
 *
 * Usage: node dist/bench/lb.js [--requests 2000] [--concurrency 16] [--runs 3] [--json] [--strategies rr,…] [--verbose]
 */

interface BackendModel {
  readonly name: string;
  readonly serviceMs: number;
  readonly zone: string;
  /** Its capacity relative to the others, as an operator would configure it (`cairn start --weight`). */
  readonly weight: number;
}

const BACKENDS: readonly BackendModel[] = [
  { name: 'fast-1', serviceMs: 2, zone: 'a', weight: 5 },
  { name: 'slow', serviceMs: 10, zone: 'a', weight: 1 },
  { name: 'fast-2', serviceMs: 2, zone: 'b', weight: 5 },
];
const WORKERS = 2;
const JITTER = 0.2;
const MAX_QUEUE = 100_000;
const CLIENT_ADDRESSES = 256;
const KEYS = 1_000;
/** Requests per run before measuring (connections opened, code warmed up). */
const WARMUP_REQUESTS = 300;
/** `--strategies rr,least-time`: run only these (the rr/least-time check needs both). */
const ONLY = flagValue('--strategies')?.split(',');
/** `--verbose`: per-run, per-backend latencies and the gateway's final EWMAs on stderr. */
const VERBOSE = process.argv.includes('--verbose');

interface RunResult {
  strategy: StrategyName;
  p50Ms: number;
  p99Ms: number;
  shares: Record<string, number>;
}

/** A run's result plus what only the table shows. */
interface MeasuredRun extends RunResult {
  requestsPerSecond: number;
}

// ——— backends (worker thread) ———

function runBackends(): void {
  const random = new SeededRandom((workerData as { seed: number }).seed);
  const servers = BACKENDS.map((model) => {
    let busy = 0;
    const queue: (() => void)[] = [];
    const release = () => {
      busy--;
      const next = queue.shift();
      if (next) next();
    };
    const serve = (res: http.ServerResponse) => {
      busy++;
      const ms = model.serviceMs * (1 - JITTER + 2 * JITTER * random.next());
      setTimeout(() => {
        res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': 5 });
        res.end('value');
        release();
      }, ms);
    };
    return http.createServer((req, res) => {
      req.resume();
      if (req.url === '/healthz') {
        res.end('{"status":"ok"}');
        return;
      }
      if (busy < WORKERS) serve(res);
      else if (queue.length < MAX_QUEUE) queue.push(() => serve(res));
      else {
        res.writeHead(429);
        res.end();
      }
    });
  });
  Promise.all(
    servers.map(
      (s) =>
        new Promise<number>((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port))),
    ),
  ).then((ports) => parentPort?.postMessage({ ports }));
}

// ——— load (main thread) ———

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

interface LoadJob {
  url: string;
  requests: number;
  warmup: number;
  concurrency: number;
  seed: number;
}

interface LoadResult {
  /** Wall time of the measured requests, ms. */
  elapsedMs: number;
  latencies: number[];
  backends: string[];
  errors: number;
}

/** The load generator (its own worker thread, so the gateway's event loop measures only the backends). */
function runLoad(): void {
  parentPort?.on('message', async (job: LoadJob) => {
    const pool = new Pool(job.url, { connections: job.concurrency });
    const random = new SeededRandom(job.seed);
    const result: LoadResult = { elapsedMs: 0, latencies: [], backends: [], errors: 0 };
    let measuredFrom = 0;
    let issued = 0;
    const loop = async () => {
      while (issued < job.warmup + job.requests) {
        const index = issued++;
        if (index === job.warmup) measuredFrom = performance.now();
        const key = `key-${random.int(KEYS)}`;
        const client = `10.1.${random.int(CLIENT_ADDRESSES)}.7`;
        const started = performance.now();
        const r = await pool.request({ method: 'GET', path: `/v1/kv/${key}`, headers: { 'x-forwarded-for': client } });
        await r.body.dump();
        const elapsed = performance.now() - started;
        if (r.statusCode !== 200) result.errors++;
        if (index < job.warmup) continue;
        result.latencies.push(elapsed);
        result.backends.push(String(r.headers['cairn-backend']));
      }
    };
    await Promise.all(Array.from({ length: job.concurrency }, loop));
    result.elapsedMs = performance.now() - measuredFrom;
    await pool.close();
    parentPort?.postMessage(result);
  });
}

async function runOnce(
  load: Worker,
  strategy: StrategyName,
  backends: readonly BackendSpec[],
  requests: number,
  concurrency: number,
  seed: number,
): Promise<MeasuredRun> {
  const gateway = new Gateway({
    endpoints: backends,
    discovery: false,
    health: false,
    strategy,
    zone: 'a',
    trustForwardedFor: true,
    random: new SeededRandom(seed),
  });
  const address = await gateway.listen('127.0.0.1', 0);
  const job: LoadJob = {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    warmup: WARMUP_REQUESTS,
    concurrency,
    seed: seed + 1,
  };
  const result = await new Promise<LoadResult>((resolve, reject) => {
    const done = (r: LoadResult) => {
      load.off('error', reject);
      resolve(r);
    };
    load.once('message', done);
    load.once('error', reject);
    load.postMessage(job);
  });
  const finalEwma = gateway.status().backends.map((b) => [b.name, b.ewmaMs]);
  await gateway.close();
  if (result.errors > 0) throw new Error(`${strategy}: ${result.errors} requests failed`);
  if (VERBOSE) {
    const by = new Map<string, number[]>();
    result.backends.forEach((name, i) => {
      const list = by.get(name) ?? [];
      list.push(result.latencies[i]!);
      by.set(name, list);
    });
    const parts = [...by].map(([name, xs]) => {
      xs.sort((a, b) => a - b);
      return `${name} n=${xs.length} p50=${percentile(xs, 50).toFixed(1)} p99=${percentile(xs, 99).toFixed(1)}`;
    });
    console.error(`${strategy}: ${parts.join(' | ')} | gateway ewma ${JSON.stringify(finalEwma)}`);
  }
  const latencies = result.latencies.sort((a, b) => a - b);
  const served = new Map<string, number>(backends.map((b) => [b.name ?? b.url, 0]));
  for (const name of result.backends) served.set(name, (served.get(name) ?? 0) + 1);
  return {
    strategy,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    shares: Object.fromEntries([...served].map(([name, n]) => [name, n / latencies.length])),
    requestsPerSecond: (latencies.length * 1000) / result.elapsedMs,
  };
}

function startWorker<T>(role: 'backends' | 'load'): Promise<{ worker: Worker; ready: T }> {
  const worker = new Worker(new URL(import.meta.url), { workerData: { role, seed: 42 } });
  return new Promise((resolve, reject) => {
    worker.once('message', (ready: T) => resolve({ worker, ready }));
    worker.once('error', reject);
  });
}

function flagValue(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i < 0 ? undefined : process.argv[i + 1];
}

function argument(name: string, fallback: number): number {
  const text = flagValue(name);
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!Number.isInteger(v) || v <= 0) throw new Error(`${name} must be a positive integer`);
  return v;
}

async function main(): Promise<void> {
  const json = process.argv.includes('--json');
  const requests = argument('--requests', 2_000);
  const concurrency = argument('--concurrency', 16);
  const runs = argument('--runs', 3);
  const unknown = ONLY?.filter((name) => !(STRATEGY_NAMES as readonly string[]).includes(name)) ?? [];
  if (unknown.length > 0) throw new Error(`--strategies: unknown ${unknown.join(', ')}`);
  const { worker, ready } = await startWorker<{ ports: number[] }>('backends');
  const { worker: load } = await startWorker<'ready'>('load');
  const ports = ready.ports;
  const backends: BackendSpec[] = BACKENDS.map((model, i) => ({
    url: `127.0.0.1:${ports[i]}`,
    name: model.name,
    zone: model.zone,
    region: 'r',
    weight: model.weight,
  }));
  const results = new Map<StrategyName, MeasuredRun[]>(STRATEGY_NAMES.map((s) => [s, []]));
  for (let run = 0; run < runs; run++) {
    for (const strategy of STRATEGY_NAMES) {
      if (ONLY && !ONLY.includes(strategy)) continue;
      results.get(strategy)!.push(await runOnce(load, strategy, backends, requests, concurrency, 1000 * run + 7));
    }
  }
  await worker.terminate();
  await load.terminate();

  const summary: MeasuredRun[] = STRATEGY_NAMES.filter((s) => !ONLY || ONLY.includes(s)).map((strategy) => {
    const all = results.get(strategy)!;
    return {
      strategy,
      requestsPerSecond: Math.round(median(all.map((r) => r.requestsPerSecond))),
      p50Ms: round(median(all.map((r) => r.p50Ms))),
      p99Ms: round(median(all.map((r) => r.p99Ms))),
      shares: Object.fromEntries(
        BACKENDS.map((b) => [b.name, round(median(all.map((r) => r.shares[b.name] ?? 0)), 3)]),
      ),
    };
  });
  const rr = summary.find((r) => r.strategy === 'rr');
  const lt = summary.find((r) => r.strategy === 'least-time');
  const ratio = rr && lt ? lt.p99Ms / rr.p99Ms : Number.NaN;
  if (json) {
    console.log(
      JSON.stringify(summary.map(({ strategy, p50Ms, p99Ms, shares }) => ({ strategy, p50Ms, p99Ms, shares }))),
    );
  } else {
    console.log(
      `${requests} requests per run, ${concurrency} in flight, median of ${runs} runs; ` +
        `backends: ${BACKENDS.map((b) => `${b.name} ${b.serviceMs} ms (zone ${b.zone}, weight ${b.weight})`).join(', ')}; ` +
        `${WORKERS} requests served at once per backend; gateway zone a`,
    );
    const header = ['strategy', 'p50 ms', 'p99 ms', 'req/s', ...BACKENDS.map((b) => b.name)];
    const rows = summary.map((r) => [
      r.strategy,
      r.p50Ms.toFixed(2),
      r.p99Ms.toFixed(2),
      String(r.requestsPerSecond),
      ...BACKENDS.map((b) => `${((r.shares[b.name] ?? 0) * 100).toFixed(1)} %`),
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    for (const row of [header, ...rows]) console.log(row.map((c, i) => c.padEnd(widths[i]!)).join('  '));
    if (rr && lt) {
      console.log(`least-time p99 / rr p99 = ${ratio.toFixed(3)} (must be ≤ 0.5): ${ratio <= 0.5 ? 'PASS' : 'FAIL'}`);
    }
  }
  if (rr && lt && !(ratio <= 0.5)) process.exitCode = 1;
}

function round(value: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}

if (isMainThread) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
} else if ((workerData as { role: string }).role === 'load') {
  runLoad();
  parentPort?.postMessage('ready');
} else {
  runBackends();
}
