import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { NODE_RUNTIME_FLAGS } from '../../src/node/runtime-flags.js';
import { freePortBase } from '../../src/util/free-ports.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

/** Clusters started and not yet stopped: killed when the bench itself is interrupted (Ctrl-C, kill). */
const running = new Set<LocalCluster>();
let signalsHandled = false;

function killRunningOnSignals(): void {
  if (signalsHandled) return;
  signalsHandled = true;
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    process.once(signal, () => {
      for (const cluster of running) cluster.killNow();
      process.exit(code);
    });
  }
}

/**
 * A local cluster of real `cairn start` processes for benchmarks: node i listens for peers on 127.0.0.(i+1) and
 * serves its API on 127.0.0.1; data in a temporary directory removed by `stop()`.
 */
export class LocalCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'cairn-bench-'));
  readonly names: string[];
  readonly procs = new Map<string, ChildProcess>();
  private base = 0;

  constructor(
    nodes: number,
    private readonly args: readonly string[] = [],
  ) {
    this.names = Array.from({ length: nodes }, (_, i) => `n${i + 1}`);
  }

  async start(): Promise<void> {
    // Peer ports base + i and API ports base + 100 + i.
    this.base = await freePortBase(
      '127.0.0.1',
      this.names.flatMap((_, i) => [i, i + 100]),
    );
    killRunningOnSignals();
    running.add(this);
    for (let i = 0; i < this.names.length; i++) this.startNode(i);
  }

  /** The API address of node i. */
  http(i: number): string {
    return `http://127.0.0.1:${this.base + 100 + i}`;
  }

  endpoints(): string[] {
    return this.names.map((_, i) => this.http(i));
  }

  startNode(i: number): ChildProcess {
    const name = this.names[i]!;
    const cluster = this.names.map((n, k) => `${n}=127.0.0.${k + 1}:${this.base + k}`).join(',');
    const child = spawn(
      process.execPath,
      [
        ...NODE_RUNTIME_FLAGS,
        MAIN,
        'start',
        '--name',
        name,
        '--data-dir',
        join(this.dir, name),
        '--peer-listen',
        `127.0.0.${i + 1}:${this.base + i}`,
        '--http-listen',
        `127.0.0.1:${this.base + 100 + i}`,
        '--initial-cluster',
        cluster,
        '--log-level',
        'error',
        ...this.args,
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    );
    this.procs.set(name, child);
    return child;
  }

  /** The leader as node `asked` sees it (only a running one), or null. */
  async leader(asked = 0): Promise<{ name: string; http: string } | null> {
    try {
      const r = await request(`${this.http(asked)}/v1/cluster/status?local=true`, { headersTimeout: 1000 });
      const s = (await r.body.json()) as { leader: string | null };
      if (!s.leader || this.procs.get(s.leader)?.exitCode !== null) return null;
      return { name: s.leader, http: this.http(this.names.indexOf(s.leader)) };
    } catch {
      return null;
    }
  }

  async waitForLeader(timeoutMs = 20_000): Promise<{ name: string; http: string }> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      for (let i = 0; i < this.names.length; i++) {
        const l = await this.leader(i);
        if (l) return l;
      }
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error('the cluster elected no leader');
  }

  async stop(): Promise<void> {
    await Promise.all(
      [...this.procs.values()].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) {
              resolve();
              return;
            }
            c.once('exit', () => resolve());
            c.kill('SIGCONT');
            c.kill('SIGTERM');
            setTimeout(() => c.kill('SIGKILL'), 5000).unref();
          }),
      ),
    );
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Synchronously SIGKILLs every node and removes the data: for a bench that is being interrupted. */
  killNow(): void {
    for (const c of this.procs.values()) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    running.delete(this);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The value at percentile p (nearest rank) of `values`, or null when empty. */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
