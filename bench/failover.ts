/**
 * Time to recover from a leader kill, with real processes (`npm run bench:failover`): N times, kill -9 the
 * leader of a 3-node cluster while a client writes, and measure from the kill to the first write acknowledged
 * afterwards (the client retries on other nodes); then restart the killed node and let it catch up.
 *
 *   npm run bench:failover [-- --kills 20 --consensus raft|paxos --json]
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { Client } from '../src/client/client.js';

const MAIN = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

interface Args {
  kills: number;
  consensus: 'raft' | 'paxos';
  json: boolean;
}

function parse(argv: string[]): Args {
  const a: Args = { kills: 20, consensus: 'raft', json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--kills') a.kills = Number(argv[++i]);
    else if (argv[i] === '--consensus') a.consensus = argv[++i] === 'paxos' ? 'paxos' : 'raft';
    else if (argv[i] === '--json') a.json = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const dir = mkdtempSync(join(tmpdir(), 'cairn-failover-'));
  const base = 24_000 + Math.floor(Math.random() * 20_000);
  const names = ['n1', 'n2', 'n3'];
  const initial = names.map((n, i) => `${n}=127.0.0.${i + 1}:${base + i}`).join(',');
  const procs = new Map<string, ChildProcess>();
  const start = (i: number) => {
    const n = names[i]!;
    procs.set(
      n,
      spawn(
        process.execPath,
        [
          MAIN,
          'start',
          '--name',
          n,
          '--data-dir',
          join(dir, n),
          '--peer-listen',
          `127.0.0.${i + 1}:${base + i}`,
          '--http-listen',
          `127.0.0.1:${base + 100 + i}`,
          '--initial-cluster',
          initial,
          '--log-level',
          'error',
          '--consensus',
          args.consensus,
        ],
        { stdio: 'ignore' },
      ),
    );
  };
  for (let i = 0; i < names.length; i++) start(i);
  const endpoints = names.map((_, i) => `http://127.0.0.1:${base + 100 + i}`);
  const client = new Client({ endpoints, timeoutMs: 2000, retries: 20 });
  const leaderOf = async (): Promise<string | null> => {
    for (const e of endpoints) {
      try {
        const r = await request(`${e}/v1/cluster/status?local=true`, { headersTimeout: 500 });
        const s = (await r.body.json()) as { leader: string | null };
        if (s.leader && procs.get(s.leader)?.exitCode === null) return s.leader;
      } catch {
        // down
      }
    }
    return null;
  };
  const recoveries: number[] = [];
  try {
    for (let t = 0; t < 100 && !(await leaderOf()); t++) await sleep(200);
    for (let k = 0; k < args.kills; k++) {
      const leader = await leaderOf();
      if (!leader) throw new Error('no leader');
      await client.put('failover/warm', String(k));
      const victim = procs.get(leader)!;
      const killedAt = performance.now();
      victim.kill('SIGKILL');
      await new Promise((r) => victim.once('exit', r));
      // The first write acknowledged after the kill: the cluster is serving again.
      for (;;) {
        try {
          await client.put('failover/probe', String(k));
          break;
        } catch {
          await sleep(10);
        }
      }
      recoveries.push(Math.round(performance.now() - killedAt));
      start(names.indexOf(leader));
      await sleep(2500); // the restarted node rejoins and catches up before the next kill
    }
  } finally {
    await client.close();
    for (const p of procs.values()) p.kill('SIGKILL');
    await sleep(200);
    rmSync(dir, { recursive: true, force: true });
  }
  const result = {
    consensus: args.consensus,
    kills: recoveries.length,
    medianMs: percentile(recoveries, 50),
    p90Ms: percentile(recoveries, 90),
    maxMs: percentile(recoveries, 100),
    recoveriesMs: recoveries,
  };
  if (args.json) console.log(JSON.stringify(result));
  else
    console.log(
      `${args.consensus}: recovery from a leader kill -9 (to the next acknowledged write), ${result.kills} kills: median ${result.medianMs} ms, p90 ${result.p90Ms} ms, max ${result.maxMs} ms`,
    );
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
