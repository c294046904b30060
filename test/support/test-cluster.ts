import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { Client } from '../../src/client/client.js';
import { NODE_RUNTIME_FLAGS } from '../../src/node/runtime-flags.js';
import { freePortBase } from '../../src/util/free-ports.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface TestNodeSpec {
  readonly name: string;
  /** Each node's peer traffic uses its own loopback address (127.0.0.N), as in production. */
  readonly host: string;
  readonly peerPort: number;
  readonly httpPort: number;
}

export interface TestClusterOptions {
  readonly nodes?: number;
  /** Extra `cairn start` flags for every node. */
  readonly args?: readonly string[];
  /** Runs once ports and data directories are chosen, before any node starts (to seed data directories). */
  readonly beforeStart?: (cluster: TestCluster) => Promise<void>;
  /** How long start() waits for the nodes to agree on a leader. Default 20,000 ms. */
  readonly leaderTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every node process this test file started that has not exited: killed if the file's process exits first. */
const liveChildren = new Set<ChildProcess>();

/** The node processes started by TestCluster in this process that are still running. */
export function liveNodeProcesses(): readonly ChildProcess[] {
  return [...liveChildren];
}
process.once('exit', () => {
  for (const child of liveChildren) child.kill('SIGKILL');
});

/**
 * Real Cairn node processes on loopback for integration tests: each node is `cairn start` in its own process
 * with its own data directory; nodes can be killed (-9), restarted, and added.
 */
export class TestCluster {
  readonly dir = mkdtempSync(join(tmpdir(), 'cairn-it-'));
  readonly specs = new Map<string, TestNodeSpec>();
  readonly processes = new Map<string, ChildProcess>();
  readonly logs = new Map<string, string[]>();
  private base = 0;

  private constructor(private readonly options: TestClusterOptions) {}

  static async start(options: TestClusterOptions = {}): Promise<TestCluster> {
    const c = new TestCluster(options);
    const n = options.nodes ?? 3;
    // Peer ports base + i and API ports base + 100 + i, room for 4 nodes added later.
    const slots = Array.from({ length: n + 4 }, (_, i) => i);
    c.base = await freePortBase('127.0.0.1', [...slots, ...slots.map((i) => i + 100)]);
    for (let i = 0; i < n; i++) c.specs.set(`n${i + 1}`, c.spec(i));
    try {
      await options.beforeStart?.(c);
      for (const name of c.specs.keys()) c.spawn(name, 'new');
      await c.waitForLeader(options.leaderTimeoutMs);
      const r = await request(`http://${c.httpOf('n1')}/v1/cluster/status?local=true`);
      c.clusterId = ((await r.body.json()) as { clusterId: string }).clusterId;
      return c;
    } catch (error) {
      // The caller never gets the cluster to stop, so stop it here: a node process left running keeps the test
      // file's process alive (its stdout pipes are open) and `node --test` waits for it forever — a CI run hung
      // until its 90-minute limit that way after one cluster failed to elect a leader.
      const report = c.report();
      await c.stop();
      throw new Error(`${(error as Error).message}\n${report}`, { cause: error });
    }
  }

  /** Each node's process state and the end of its output, for a failure message. */
  report(): string {
    return [...this.specs.keys()]
      .map((name) => {
        const p = this.processes.get(name);
        const state = !p
          ? 'not running'
          : p.exitCode !== null || p.signalCode !== null
            ? `exited (${p.exitCode ?? p.signalCode})`
            : 'running';
        return `--- ${name}: ${state}\n${(this.logs.get(name) ?? []).join('').slice(-1500)}`;
      })
      .join('\n');
  }

  private spec(i: number): TestNodeSpec {
    return { name: `n${i + 1}`, host: `127.0.0.${i + 1}`, peerPort: this.base + i, httpPort: this.base + 100 + i };
  }

  initialCluster(): string {
    return [...this.specs.values()].map((s) => `${s.name}=${s.host}:${s.peerPort}`).join(',');
  }

  httpOf(name: string): string {
    return `127.0.0.1:${this.specs.get(name)!.httpPort}`;
  }

  endpoints(names: readonly string[] = [...this.specs.keys()]): string[] {
    return names.map((n) => `http://${this.httpOf(n)}`);
  }

  /** A client of exactly these nodes (no discovery: tests pick the node that serves each request). */
  client(names?: readonly string[]): Client {
    return new Client({ endpoints: this.endpoints(names), timeoutMs: 10_000, retries: 6, discovery: false });
  }

  /** The founding members' cluster id (a joining node must be given it). */
  clusterId = '';

  spawn(name: string, state: 'new' | 'existing', extraArgs: readonly string[] = []): ChildProcess {
    const s = this.specs.get(name)!;
    const joinArgs = state === 'existing' ? ['--cluster-id', this.clusterId] : [];
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
        `${s.host}:${s.peerPort}`,
        '--http-listen',
        `127.0.0.1:${s.httpPort}`,
        '--initial-cluster',
        this.initialCluster(),
        '--initial-cluster-state',
        state,
        ...joinArgs,
        '--tick-ms',
        '50',
        '--log-level',
        'warn',
        // The CPU health rule off by default: a test machine running several clusters at once is often saturated
        // for longer than the rule's 30 s, and a degraded leader would hand leadership away mid-test. Tests of
        // that rule pass their own value (the last one given wins).
        '--cpu-saturated-percent',
        '100',
        ...(this.options.args ?? []),
        ...extraArgs,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const log = this.logs.get(name) ?? [];
    this.logs.set(name, log);
    const keep = (chunk: Buffer) => {
      log.push(chunk.toString('utf8'));
      if (log.length > 200) log.splice(0, log.length - 200);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.processes.set(name, child);
    liveChildren.add(child);
    child.once('exit', () => liveChildren.delete(child));
    return child;
  }

  /** Adds a node spec (for `member add`), not started yet. */
  addSpec(): TestNodeSpec {
    const spec = this.spec(this.specs.size);
    this.specs.set(spec.name, spec);
    return spec;
  }

  kill(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const p = this.processes.get(name);
    this.processes.delete(name);
    if (!p || p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      p.once('exit', () => resolve());
      p.kill(signal);
    });
  }

  async restart(name: string): Promise<void> {
    await this.kill(name);
    this.spawn(name, 'new');
    await this.waitForHttp(name);
  }

  async waitForHttp(name: string, timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      try {
        const r = await request(`http://${this.httpOf(name)}/v1/cluster/status?local=true`, { headersTimeout: 1000 });
        await r.body.dump();
        if (r.statusCode === 200) return;
      } catch {
        // not up yet
      }
      await sleep(100);
    }
    throw new Error(`${name} did not start: ${this.logs.get(name)?.join('').slice(-2000)}`);
  }

  /** The leader, as agreed by every running node (polls until they agree). */
  async waitForLeader(timeoutMs = 20_000, among: readonly string[] = [...this.processes.keys()]): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    const said = new Map<string, string>();
    while (Date.now() < deadline) {
      const leaders = new Set<string | null>();
      for (const name of among) {
        try {
          const r = await request(`http://${this.httpOf(name)}/v1/cluster/status?local=true`, { headersTimeout: 1000 });
          const s = (await r.body.json()) as { leader: string | null; term?: number };
          leaders.add(s.leader);
          said.set(name, `leader ${s.leader} term ${s.term}`);
        } catch (error) {
          leaders.add(null);
          said.set(name, String(error));
        }
      }
      const [only] = [...leaders];
      // A leader that is not among the running nodes is one they have not yet noticed is gone.
      if (leaders.size === 1 && only && among.includes(only)) return only;
      await sleep(100);
    }
    const last = [...said].map(([name, what]) => `${name}: ${what}`).join('; ');
    throw new Error(`no agreed leader among ${among.join(',')} (last answers: ${last})`);
  }

  async status(
    name: string,
  ): Promise<{ leader: string | null; term: number; applied: number; commit: number; revision: number }> {
    const r = await request(`http://${this.httpOf(name)}/v1/cluster/status?local=true`, { headersTimeout: 2000 });
    return (await r.body.json()) as never;
  }

  async stop(): Promise<void> {
    await Promise.all([...this.processes.keys()].map((n) => this.kill(n)));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Runs the `cairn` command line to completion. */
export function runCli(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr?.on('data', (c: Buffer) => {
      stderr += c.toString();
    });
    child.on('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

export { sleep };
