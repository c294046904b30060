/**
 * `npm run bench`: Cairn against etcd on the same machine, in the same run, under the same h2load settings.
 *
 * Starts a 3-node Cairn cluster of real processes on loopback (h2c on each node's API port), drives the leader
 * with h2load — PUT /v1/kv/bench-key with a 256-byte body, and linearizable GETs of it — at 256 requests in flight
 * (16 connections x 16 streams) and at 1 in flight, a fresh cluster for each; then runs
 * ../shared/bench/etcd-baseline.sh with the same settings (once per level, so a fresh etcd cluster for each too),
 * and prints one table with both systems and the ratios (median of --runs).
 *
 *   npm run bench [-- --seconds 10 --runs 3 --warmup-seconds 10 --json --skip-etcd --smoke --consensus raft|paxos]
 *
 * Each fresh Cairn cluster first serves every case of its level for --warmup-seconds, unmeasured (V8 warm-up;
 * 0 = measure from a cold start). etcd, compiled ahead of time, is measured as the baseline script does it.
 * --smoke: Cairn only, 2 s per case, no warm-up, no targets (what `npm test` runs so the benchmark never rots).
 */
import { execFile } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { request } from 'undici';
import { LocalCluster } from './support/local-cluster.js';

const exec = promisify(execFile);
const ETCD_BASELINE = fileURLToPath(new URL('../../../shared/bench/etcd-baseline.sh', import.meta.url));

export interface BenchArgs {
  seconds: number;
  runs: number;
  json: boolean;
  skipEtcd: boolean;
  smoke: boolean;
  /**
   * Unmeasured load on each fresh Cairn cluster before its cases, per case (its op and in-flight level): V8 runs
   * a fresh node's hot paths in its baseline tiers until they are optimized, which at 1 write in flight takes ~4 s
   * and ~6 s to reach its steady state (docs/performance.md, "How to measure"). Default 10, the length of a
   * measured case; 0 measures from a cold start.
   */
  warmupSeconds: number;
  extraNodeArgs: string[];
}

export interface Measurement {
  system: 'cairn' | 'etcd';
  op: 'put' | 'get';
  inflight: number;
  opsPerSec: number;
  meanMs: number;
  succeeded: number;
  failed: number;
  /** Cairn only, summed over the three nodes: peer messages sent, log fsyncs and CPU µs per request served. */
  messagesPerOp?: number;
  fsyncsPerOp?: number;
  cpuUsPerOp?: number;
  /** Cairn only: the leader's share of cpuUsPerOp (the leader does the HTTP work, so it saturates first). */
  leaderCpuUsPerOp?: number;
}

interface Case {
  op: 'put' | 'get';
  conns: number;
  streams: number;
}

/** In-flight levels, each measured on a fresh cluster, as etcd-baseline.sh (run once per level) does for etcd. */
const LEVELS = [
  { conns: 16, streams: 16 },
  { conns: 1, streams: 1 },
] as const;

/** Per level, puts then linearizable gets: the etcd script's order. */
const CASES: Case[] = LEVELS.flatMap(({ conns, streams }) => [
  { op: 'put' as const, conns, streams },
  { op: 'get' as const, conns, streams },
]);

export function parseArgs(argv: string[]): BenchArgs {
  const a: BenchArgs = {
    seconds: 10,
    runs: 1,
    json: false,
    skipEtcd: false,
    smoke: false,
    warmupSeconds: 10,
    extraNodeArgs: [],
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--json') a.json = true;
    else if (arg === '--skip-etcd') a.skipEtcd = true;
    else if (arg === '--smoke') {
      a.smoke = true;
      a.skipEtcd = true;
      a.seconds = 2;
      a.warmupSeconds = 0;
    } else if (arg === '--seconds') a.seconds = Number(argv[++i]);
    else if (arg === '--warmup-seconds') a.warmupSeconds = Number(argv[++i]);
    else if (arg === '--runs') a.runs = Number(argv[++i]);
    else if (arg === '--node-arg') a.extraNodeArgs.push(String(argv[++i]));
    else if (arg === '--consensus') a.extraNodeArgs.push('--consensus', String(argv[++i]));
    else throw new Error(`unknown argument ${arg} (see the header of bench/http-bench.ts)`);
  }
  if (!(a.seconds > 0) || !(a.runs >= 1)) throw new Error('--seconds and --runs must be positive');
  if (!(a.warmupSeconds >= 0)) throw new Error('--warmup-seconds must be 0 or more');
  return a;
}

export async function ensureTools(withEtcd: boolean): Promise<void> {
  const need: string[] = [];
  const has = async (cmd: string) =>
    exec('sh', ['-c', `command -v ${cmd}`])
      .then(() => true)
      .catch(() => false);
  if (!(await has('h2load'))) need.push('nghttp2-client');
  if (withEtcd && !(await has('etcd'))) need.push('etcd-server');
  if (need.length === 0) return;
  await exec(
    'sh',
    ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${need.join(' ')}`],
    {
      maxBuffer: 64 * 1024 * 1024,
    },
  );
}

/** Parses h2load's summary (the same fields the etcd baseline script reads). */
export function parseH2load(out: string): { opsPerSec: number; meanMs: number; succeeded: number; failed: number } {
  // The duration is printed in ms (or us) when the run took under a second: "finished in 998.38ms, 9200.00 req/s".
  const rps = /finished in [\d.]+(?:us|ms|s), ([\d.]+) req\/s/.exec(out);
  const t = /time for request:\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)/.exec(out);
  const ok = /requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed/.exec(out);
  if (!rps || !t || !ok) throw new Error(`cannot read h2load's output:\n${out}`);
  const ms = (v: string, u: string) => Number(v) * ({ us: 0.001, ms: 1, s: 1000 } as Record<string, number>)[u]!;
  return {
    opsPerSec: Math.round(Number(rps[1])),
    meanMs: Number(ms(t[5]!, t[6]!).toFixed(3)),
    succeeded: Number(ok[1]),
    failed: Number(ok[2]),
  };
}

async function h2load(url: string, c: Case, seconds: number, bodyFile: string): Promise<Measurement> {
  const args = ['-D', String(seconds), '-c', String(c.conns), '-m', String(c.streams)];
  if (c.op === 'put') args.push('-d', bodyFile, '-H', ':method: PUT');
  args.push(`${url}/v1/kv/bench-key`);
  const { stdout } = await exec('h2load', args, { maxBuffer: 16 * 1024 * 1024 });
  return { system: 'cairn', op: c.op, inflight: c.conns * c.streams, ...parseH2load(stdout) };
}

/** The counters the per-request costs are computed from, summed over the nodes' /metrics (and the leader's CPU). */
async function scrapeCosts(
  endpoints: readonly string[],
  leader: string,
): Promise<{ messages: number; fsyncs: number; cpuSeconds: number; leaderCpuSeconds: number }> {
  const total = { messages: 0, fsyncs: 0, cpuSeconds: 0, leaderCpuSeconds: 0 };
  for (const e of endpoints) {
    const text = await (await request(`${e}/metrics`)).body.text();
    for (const line of text.split('\n')) {
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      if (line.startsWith('cairn_peer_messages_sent_total{')) total.messages += value;
      else if (line.startsWith('cairn_storage_fsync_duration_seconds_count')) total.fsyncs += value;
      else if (line.startsWith('cairn_process_process_cpu_seconds_total')) {
        total.cpuSeconds += value;
        if (e === leader) total.leaderCpuSeconds += value;
      }
    }
  }
  return total;
}

/**
 * Measures Cairn the way etcd-baseline.sh measures etcd: for each in-flight level a freshly started cluster (one
 * seed write, no warm-up) serves puts, then gets. Before the eighth session one cluster served every case, so
 * Cairn's puts at 1 in flight ran right after 10 s of puts at 256 (a larger heap and store, V8 still collecting
 * what that load left), while etcd's ran on a fresh cluster (docs/performance.md).
 */
export async function runCairn(args: BenchArgs): Promise<Measurement[]> {
  const results: Measurement[] = [];
  for (const level of LEVELS) {
    const cases = CASES.filter((c) => c.conns === level.conns && c.streams === level.streams);
    results.push(...(await runCairnCases(args, cases)));
  }
  return results;
}

async function runCairnCases(args: BenchArgs, cases: readonly Case[]): Promise<Measurement[]> {
  const cluster = new LocalCluster(3, args.extraNodeArgs);
  const body = join(cluster.dir, 'value-256.bin');
  writeFileSync(body, Buffer.alloc(256, 'x'));
  try {
    await cluster.start();
    const url = (await cluster.waitForLeader()).http;
    const seed = await request(`${url}/v1/kv/bench-key`, { method: 'PUT', body: Buffer.alloc(256, 'x') });
    await seed.body.dump();
    // Unmeasured: each case's load first, so that V8 has optimized the paths the measured runs take.
    if (args.warmupSeconds > 0) for (const c of cases) await h2load(url, c, args.warmupSeconds, body);
    const results: Measurement[] = [];
    for (const c of cases) {
      const before = await scrapeCosts(cluster.endpoints(), url);
      const m = await h2load(url, c, args.seconds, body);
      const after = await scrapeCosts(cluster.endpoints(), url);
      const per = (x: number) => (m.succeeded > 0 ? x / m.succeeded : 0);
      results.push({
        ...m,
        messagesPerOp: Number(per(after.messages - before.messages).toFixed(3)),
        fsyncsPerOp: Number(per(after.fsyncs - before.fsyncs).toFixed(3)),
        cpuUsPerOp: Math.round(per(after.cpuSeconds - before.cpuSeconds) * 1e6),
        leaderCpuUsPerOp: Math.round(per(after.leaderCpuSeconds - before.leaderCpuSeconds) * 1e6),
      });
    }
    return results;
  } finally {
    await cluster.stop();
  }
}

async function runEtcd(args: BenchArgs): Promise<Measurement[]> {
  if (!existsSync(ETCD_BASELINE)) throw new Error(`etcd baseline script not found at ${ETCD_BASELINE}`);
  const results: Measurement[] = [];
  for (const [conns, streams] of [
    [16, 16],
    [1, 1],
  ] as const) {
    const { stdout } = await exec(
      'bash',
      [ETCD_BASELINE, '-c', String(conns), '-m', String(streams), '-d', String(args.seconds)],
      {
        maxBuffer: 16 * 1024 * 1024,
      },
    );
    for (const line of stdout.split('\n').filter((l) => l.startsWith('{'))) {
      const r = JSON.parse(line) as {
        op: 'put' | 'get';
        inflight: number;
        opsPerSec: number;
        meanMs: number;
        succeeded: number;
        failed: number;
      };
      results.push({
        system: 'etcd',
        op: r.op,
        inflight: r.inflight,
        opsPerSec: r.opsPerSec,
        meanMs: r.meanMs,
        succeeded: r.succeeded,
        failed: r.failed,
      });
    }
  }
  return results;
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function summarize(all: Measurement[]): Measurement[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of all) {
    const k = `${m.system}/${m.op}/${m.inflight}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  return [...groups.values()].map((ms) => ({
    ...ms[0]!,
    opsPerSec: Math.round(median(ms.map((m) => m.opsPerSec))),
    meanMs: Number(median(ms.map((m) => m.meanMs)).toFixed(3)),
    succeeded: ms.reduce((a, m) => a + m.succeeded, 0),
    failed: ms.reduce((a, m) => a + m.failed, 0),
    ...(ms[0]!.cpuUsPerOp === undefined
      ? {}
      : {
          messagesPerOp: Number(median(ms.map((m) => m.messagesPerOp ?? 0)).toFixed(3)),
          fsyncsPerOp: Number(median(ms.map((m) => m.fsyncsPerOp ?? 0)).toFixed(3)),
          cpuUsPerOp: Math.round(median(ms.map((m) => m.cpuUsPerOp ?? 0))),
          leaderCpuUsPerOp: Math.round(median(ms.map((m) => m.leaderCpuUsPerOp ?? 0))),
        }),
  }));
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  await ensureTools(!args.skipEtcd);
  const all: Measurement[] = [];
  for (let run = 0; run < args.runs; run++) {
    all.push(...(await runCairn(args)));
    if (!args.skipEtcd) all.push(...(await runEtcd(args)));
  }
  const rows = summarize(all);
  const find = (system: string, op: string, inflight: number) =>
    rows.find((r) => r.system === system && r.op === op && r.inflight === inflight);
  const ratios = CASES.map((c) => {
    const cairn = find('cairn', c.op, c.conns * c.streams);
    const etcd = find('etcd', c.op, c.conns * c.streams);
    return {
      op: c.op,
      inflight: c.conns * c.streams,
      throughputRatio: cairn && etcd ? Number((cairn.opsPerSec / etcd.opsPerSec).toFixed(2)) : null,
      latencyRatio: cairn && etcd ? Number((cairn.meanMs / etcd.meanMs).toFixed(2)) : null,
    };
  });
  const ratio = (op: string, inflight: number) => ratios.find((r) => r.op === op && r.inflight === inflight);
  const targets = [
    { target: 'puts/s at 256 in flight >= 1.5 x etcd', value: ratio('put', 256)?.throughputRatio ?? null, min: 1.5 },
    { target: 'put mean latency at 1 in flight <= etcd', value: ratio('put', 1)?.latencyRatio ?? null, max: 1 },
    {
      target: 'linearizable gets/s at 256 in flight >= 1.5 x etcd',
      value: ratio('get', 256)?.throughputRatio ?? null,
      min: 1.5,
    },
  ].map((t) => ({
    ...t,
    met: t.value === null ? null : 'min' in t ? t.value >= (t.min as number) : t.value <= (t.max as number),
  }));
  if (args.json) {
    console.log(
      JSON.stringify({
        seconds: args.seconds,
        warmupSeconds: args.warmupSeconds,
        runs: args.runs,
        results: rows,
        ratios,
        targets,
      }),
    );
  } else {
    console.log(
      `h2load, ${args.seconds} s per case (Cairn warmed up ${args.warmupSeconds} s per case), median of ${args.runs} run(s), 256-byte values, 3 nodes on loopback`,
    );
    console.log(
      'op   in-flight  cairn ops/s  cairn mean ms  etcd ops/s  etcd mean ms  ops ratio  latency ratio   cairn cpu µs/op (leader)  msgs/op  fsyncs/op',
    );
    for (const c of CASES) {
      const n = c.conns * c.streams;
      const a = find('cairn', c.op, n);
      const e = find('etcd', c.op, n);
      const r = ratios.find((x) => x.op === c.op && x.inflight === n)!;
      console.log(
        [
          c.op.padEnd(4),
          String(n).padStart(9),
          String(a?.opsPerSec ?? '-').padStart(12),
          String(a?.meanMs ?? '-').padStart(14),
          String(e?.opsPerSec ?? '-').padStart(11),
          String(e?.meanMs ?? '-').padStart(13),
          String(r.throughputRatio ?? '-').padStart(10),
          String(r.latencyRatio ?? '-').padStart(14),
          `${a?.cpuUsPerOp ?? '-'} (${a?.leaderCpuUsPerOp ?? '-'})`.padStart(26),
          String(a?.messagesPerOp ?? '-').padStart(8),
          String(a?.fsyncsPerOp ?? '-').padStart(10),
        ].join(' '),
      );
    }
    for (const t of targets) {
      const verdict = t.met === null ? 'not measured' : t.met ? 'met' : 'NOT met';
      console.log(`target: ${t.target}: ${t.value ?? '-'} — ${verdict}`);
    }
  }
  const failed = rows.filter((r) => r.system === 'cairn').reduce((a, r) => a + r.failed, 0);
  return failed > 0 ? 1 : 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error instanceof Error ? error.message : String(error));
      process.exit(1);
    },
  );
}
