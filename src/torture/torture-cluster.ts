import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Random } from '../util/random.js';
import { type AdminAnswer, adminRequest, type ChecksumAnswer, type LocalStatus } from './admin-http.js';
import { TortureError } from './errors.js';
import { NodeProcess, type NodeSpec, type UnexpectedExit } from './node-process.js';
import { reservePort } from './ports.js';
import { FaultProxy } from './proxy/index.js';

/**
 * Watch history a torture node keeps. After the run the harness replays the whole run's history from the leader
 * (the reference watch, the change log the other watchers and the acknowledged writes are checked against), so a
 * node must not have compacted any of it. The default (100,000 revisions) was exceeded by a 5-minute run once
 * proposal batching made the cluster faster (seed 1402: 106,115 revisions; the reference watch could not start
 * at revision 2 and the run failed). 5,000,000 covers over an hour at the ~350 writes/s of a 16-client run.
 */
export const TORTURE_HISTORY_RETENTION_REVISIONS = 5_000_000;

import type { Target } from './workload.js';

export interface TortureClusterOptions {
  /** Founding members. */
  readonly nodes: number;
  /** Extra nodes that membership changes may add (they get hosts after the founders'). */
  readonly spares: number;
  /** Nodes live on 127.0.0.<hostBase + i>. */
  readonly hostBase: number;
  readonly tickMs: number;
  readonly electionTicks: number;
  /** The nodes' consensus engine. Default raft. */
  readonly consensus?: 'raft' | 'paxos';
  readonly unsafeLocalReads: boolean;
  /** `--snapshot-entries` for the nodes (keeping a fifth behind); 0 = their defaults. */
  readonly snapshotEntries: number;
  /** `--request-timeout-ms` for the nodes; 0 = their default. */
  readonly nodeRequestTimeoutMs?: number;
  readonly nodeLogLevel: string;
  /** Data directories go to `<dir>/data/<name>`, node logs to `<dir>/logs/<name>.log`. */
  readonly dir: string;
  /** Monotonic ms since the run started (for timestamps in the record). */
  readonly now: () => number;
  readonly log: (line: string) => void;
}

/** Short timeouts for the harness's own questions: a paused node must not stall the schedule. */
const STATUS_TIMEOUT_MS = 700;
const ADMIN_TIMEOUT_MS = 3000;

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Membership as the leader sees it. */
export interface MemberList {
  readonly voters: string[];
  readonly learners: string[];
}

/**
 * A real Cairn cluster for the torture harness: one `cairn start` process per node on its own loopback address,
 * and the fault proxy in front of every node's peer port (each node's `--initial-cluster` names the other nodes'
 * front doors), so faults can single out a link. It tracks which nodes are members, restarts and pauses them, and
 * undoes everything in `heal()` and `stop()`.
 */
export class TortureCluster {
  readonly proxy = new FaultProxy({ unknownSources: 'reject' });
  /** Every node ever started, members or not. */
  readonly processes = new Map<string, NodeProcess>();
  /** The members (voters and learners) as far as the harness knows, in the order they joined. */
  readonly members: string[] = [];
  readonly unexpectedExits: UnexpectedExit[] = [];
  /** Sync delays set through the test hook and not yet cleared, by node. */
  readonly syncDelays = new Map<string, number>();
  clusterId = '';
  private readonly spares: NodeSpec[] = [];
  /** Every spec, founders and spares (for the SDK watcher's endpoint list). */
  readonly specs: NodeSpec[] = [];
  private stopped = false;

  private constructor(private readonly o: TortureClusterOptions) {}

  /** Starts the founders and waits until they agree on a leader (throws CLUSTER_START_FAILED otherwise). */
  static async start(o: TortureClusterOptions, startTimeoutMs = 30_000): Promise<TortureCluster> {
    const c = new TortureCluster(o);
    try {
      await c.open(startTimeoutMs);
    } catch (error) {
      await c.stop();
      throw error;
    }
    return c;
  }

  private async open(startTimeoutMs: number): Promise<void> {
    const o = this.o;
    mkdirSync(join(o.dir, 'data'), { recursive: true });
    mkdirSync(join(o.dir, 'logs'), { recursive: true });
    for (let i = 0; i < o.nodes + o.spares; i++) {
      const name = `n${i + 1}`;
      const host = `127.0.0.${o.hostBase + i}`;
      // Which free ports a run uses does not matter to its schedule: the seeded generator is left alone.
      const peerPort = await reservePort(host, Math.random);
      const spec: NodeSpec = {
        name,
        host,
        peerPort,
        httpPort: await reservePort(host, Math.random, new Set([peerPort])),
        dataDir: join(o.dir, 'data', name),
        logFile: join(o.dir, 'logs', `${name}.log`),
      };
      this.specs.push(spec);
      if (i < o.nodes) {
        await this.proxy.addNode(name, { targetHost: host, targetPort: spec.peerPort });
      } else {
        this.spares.push(spec);
      }
    }
    await this.proxy.start();
    const founders = this.specs.slice(0, o.nodes);
    const initialCluster = founders.map((s) => `${s.name}=${this.proxy.frontDoor(s.name)}`).join(',');
    for (const spec of founders) {
      const node = this.createProcess(spec, this.argsFor(spec, initialCluster, null));
      this.members.push(spec.name);
      node.start();
    }
    const deadline = performance.now() + startTimeoutMs;
    while (performance.now() < deadline) {
      const leader = await this.leader();
      if (leader !== null) {
        const status = await this.status(leader);
        if (status.ok) {
          this.clusterId = status.body.clusterId;
          return;
        }
      }
      await sleep(200);
    }
    throw new TortureError('CLUSTER_START_FAILED', `no leader within ${startTimeoutMs} ms (see ${o.dir}/logs)`);
  }

  private argsFor(spec: NodeSpec, initialCluster: string, clusterId: string | null): string[] {
    const o = this.o;
    return [
      '--name',
      spec.name,
      '--data-dir',
      spec.dataDir,
      '--peer-listen',
      `${spec.host}:${spec.peerPort}`,
      '--http-listen',
      `${spec.host}:${spec.httpPort}`,
      '--initial-cluster',
      initialCluster,
      ...(clusterId === null ? [] : ['--initial-cluster-state', 'existing', '--cluster-id', clusterId]),
      '--tick-ms',
      String(o.tickMs),
      '--election-ticks',
      String(o.electionTicks),
      '--consensus',
      o.consensus ?? 'raft',
      '--log-level',
      o.nodeLogLevel,
      '--enable-test-hooks',
      ...(o.snapshotEntries > 0
        ? [
            '--snapshot-entries',
            String(o.snapshotEntries),
            '--snapshot-keep-entries',
            String(Math.floor(o.snapshotEntries / 5)),
          ]
        : []),
      '--history-retention-revisions',
      String(TORTURE_HISTORY_RETENTION_REVISIONS),
      ...(o.nodeRequestTimeoutMs ? ['--request-timeout-ms', String(o.nodeRequestTimeoutMs)] : []),
      ...(o.unsafeLocalReads ? ['--test-unsafe-local-reads'] : []),
    ];
  }

  private createProcess(spec: NodeSpec, args: string[]): NodeProcess {
    const node = new NodeProcess(spec, args, (exit) => {
      const atMs = this.o.now();
      this.unexpectedExits.push({ ...exit, atMs });
      if (!this.stopped) {
        this.o.log(
          exit.cause === 'crash'
            ? `!! node ${exit.node} CRASHED (code ${exit.code}, signal ${exit.signal}): see its log`
            : `!! node ${exit.node} was stopped by a signal the harness did not send (${exit.signal ?? `exit ${exit.code}`}): another program interfered`,
        );
      }
    });
    this.processes.set(spec.name, node);
    return node;
  }

  node(name: string): NodeProcess {
    const node = this.processes.get(name);
    if (!node) throw new Error(`no node ${name}`);
    return node;
  }

  origin(name: string): string {
    return this.node(name).apiOrigin;
  }

  /** The members, as targets for clients and watchers (whatever their state: a dead node is part of the test). */
  targets(): Target[] {
    return this.members.map((name) => ({ name, origin: this.origin(name) }));
  }

  /** API origins of every node the run may ever start (the SDK watcher's fixed endpoint list). */
  allOrigins(): string[] {
    return this.specs.map((s) => `http://${s.host}:${s.httpPort}`);
  }

  /** Members whose process runs (not killed, not paused). */
  runningMembers(): string[] {
    return this.members.filter((name) => this.processes.get(name)?.state === 'running');
  }

  status(name: string, timeoutMs = STATUS_TIMEOUT_MS): Promise<AdminAnswer<LocalStatus>> {
    return adminRequest<LocalStatus>(this.origin(name), 'GET', '/v1/cluster/status?local=true', timeoutMs);
  }

  /**
   * The leader: the node that says it leads in the highest term among the running members' answers (or the
   * leader they name in that term). Null when none is known.
   */
  async leader(): Promise<string | null> {
    const answers = await Promise.all(this.runningMembers().map((name) => this.status(name)));
    let best: LocalStatus | null = null;
    for (const a of answers) {
      if (!a.ok || a.body.leader === null) continue;
      if (best === null || a.body.term > best.term) best = a.body;
    }
    if (best === null || best.leader === null) return null;
    return this.members.includes(best.leader) ? best.leader : null;
  }

  /** The leader if known, else a random running member, else null. */
  async leaderOrRandom(random: Random): Promise<string | null> {
    const leader = await this.leader();
    if (leader !== null && this.processes.get(leader)?.state === 'running') return leader;
    const running = this.runningMembers();
    return running.length === 0 ? null : running[random.int(running.length)]!;
  }

  async kill(name: string): Promise<void> {
    await this.node(name).kill();
    this.syncDelays.delete(name);
  }

  start(name: string): void {
    this.node(name).start();
  }

  pause(name: string): boolean {
    return this.node(name).pause();
  }

  resume(name: string): boolean {
    return this.node(name).resume();
  }

  /** Slows every log sync of a node through its test hook (0 restores it). */
  async setSyncDelay(name: string, ms: number): Promise<boolean> {
    const a = await adminRequest(this.origin(name), 'POST', '/v1/test/sync-delay', ADMIN_TIMEOUT_MS, { ms });
    if (a.ok) {
      if (ms === 0) this.syncDelays.delete(name);
      else this.syncDelays.set(name, ms);
    }
    return a.ok;
  }

  /**
   * Sends a membership request to the leader (or any running member: followers forward it), retrying while the
   * cluster cannot take it yet. `done` decides from an error code that the change is already made (a retry after
   * an unknown outcome). Returns the last answer.
   */
  private async membershipRequest(
    method: 'POST' | 'DELETE',
    path: string,
    body: unknown,
    timeoutMs: number,
    done: (code: string) => boolean,
    retryable: (code: string) => boolean,
  ): Promise<{ ok: boolean; code: string; clusterId?: string }> {
    const deadline = performance.now() + timeoutMs;
    let last = 'NO_ATTEMPT';
    while (performance.now() < deadline && !this.stopped) {
      const running = this.runningMembers();
      const leader = await this.leader();
      const ask = leader ?? running[0];
      if (ask !== undefined) {
        const a = await adminRequest<{ clusterId: string }>(this.origin(ask), method, path, ADMIN_TIMEOUT_MS, body);
        if (a.ok) return { ok: true, code: 'OK', clusterId: a.body.clusterId };
        last = a.code;
        if (done(a.code)) return { ok: true, code: a.code };
        if (!retryable(a.code) && a.status !== 0 && a.status !== 503 && a.status !== 504)
          return { ok: false, code: last };
      }
      await sleep(300);
    }
    return { ok: false, code: last };
  }

  /** Membership from the leader's point of view, or null when no leader answers. */
  async memberList(): Promise<MemberList | null> {
    const leader = await this.leader();
    if (leader === null) return null;
    const a = await adminRequest<{ members: { name: string; role: string }[] }>(
      this.origin(leader),
      'GET',
      '/v1/cluster/members',
      ADMIN_TIMEOUT_MS,
    );
    if (!a.ok) return null;
    return {
      voters: a.body.members.filter((m) => m.role !== 'learner').map((m) => m.name),
      learners: a.body.members.filter((m) => m.role === 'learner').map((m) => m.name),
    };
  }

  get sparesLeft(): number {
    return this.spares.length;
  }

  /**
   * Adds a spare node as a learner and starts it (joining with the cluster id). Returns its name, or null with
   * the reason when the cluster did not take it.
   */
  async addLearner(timeoutMs: number): Promise<{ name: string | null; detail: string }> {
    const spec = this.spares.shift();
    if (!spec) return { name: null, detail: 'no spare node left' };
    await this.proxy.addNode(spec.name, { targetHost: spec.host, targetPort: spec.peerPort });
    const peer = this.proxy.frontDoor(spec.name);
    const added = await this.membershipRequest(
      'POST',
      '/v1/cluster/members',
      { name: spec.name, peer, http: `${spec.host}:${spec.httpPort}` },
      timeoutMs,
      (code) => code === 'INVALID_MEMBER', // "already a member": an earlier attempt that timed out made it
      (code) => code === 'CONF_CHANGE_PENDING',
    );
    if (!added.ok) {
      // The outcome may be unknown: if the cluster lists it after all, it must run.
      const list = await this.memberList();
      if (!list || ![...list.voters, ...list.learners].includes(spec.name)) {
        return { name: null, detail: `add refused: ${added.code}` };
      }
    }
    const initialCluster = [...this.members, spec.name]
      .map((name) => `${name}=${this.proxy.frontDoor(name)}`)
      .join(',');
    this.createProcess(spec, this.argsFor(spec, initialCluster, this.clusterId)).start();
    this.members.push(spec.name);
    return { name: spec.name, detail: 'added as learner' };
  }

  /** Promotes a learner once it caught up (LEARNER_NOT_READY is retried until the timeout). */
  async promote(name: string, timeoutMs: number): Promise<{ ok: boolean; code: string }> {
    return this.membershipRequest(
      'POST',
      `/v1/cluster/members/${name}/promote`,
      undefined,
      timeoutMs,
      (code) => code === 'INVALID_MEMBER', // "not a learner": already a voter
      (code) => code === 'LEARNER_NOT_READY' || code === 'CONF_CHANGE_PENDING',
    );
  }

  /** Removes a member, then kills its process (a removed node is not part of the cluster any more). */
  async remove(name: string, timeoutMs: number): Promise<{ ok: boolean; code: string }> {
    const r = await this.membershipRequest(
      'DELETE',
      `/v1/cluster/members/${name}`,
      undefined,
      timeoutMs,
      (code) => code === 'MEMBER_NOT_FOUND', // an earlier attempt that timed out made it
      (code) => code === 'CONF_CHANGE_PENDING',
    );
    if (r.ok) await this.dropMember(name);
    return r;
  }

  private async dropMember(name: string): Promise<void> {
    const i = this.members.indexOf(name);
    if (i >= 0) this.members.splice(i, 1);
    await this.kill(name);
  }

  /**
   * Undoes every fault: heals the network, resumes paused nodes, restarts stopped members, clears sync delays,
   * and aligns the harness's member list with the cluster's (a change whose answer was lost may have happened).
   */
  async heal(timeoutMs: number): Promise<string[]> {
    const notes: string[] = [];
    this.proxy.heal();
    for (const name of this.members) {
      const node = this.node(name);
      if (node.state === 'paused') node.resume();
      if (node.state === 'stopped') {
        node.start();
        notes.push(`restarted ${name}`);
      }
    }
    const deadline = performance.now() + timeoutMs;
    // Membership truth is the cluster's: a change whose answer was lost may or may not have happened.
    while (performance.now() < deadline) {
      const list = await this.memberList();
      if (list) {
        const listed = [...list.voters, ...list.learners];
        for (const name of [...this.members]) {
          if (!listed.includes(name)) {
            notes.push(`${name} is not a member after all: stopped`);
            await this.dropMember(name);
          }
        }
        for (const name of listed) {
          if (!this.members.includes(name) && this.processes.has(name)) {
            notes.push(`${name} is a member after all: restarted`);
            this.members.push(name);
            this.node(name).start();
          }
        }
        break;
      }
      await sleep(300);
    }
    for (const name of [...this.syncDelays.keys()]) {
      while (performance.now() < deadline && !(await this.setSyncDelay(name, 0))) await sleep(200);
    }
    return notes;
  }

  /** Restarts members whose process is gone (after heal: one that died again), at most a few times each. */
  restartStopped(maxStartsPerNode = 10): void {
    if (this.stopped) return;
    for (const name of this.members) {
      const node = this.node(name);
      if (node.state === 'stopped' && node.starts < maxStartsPerNode) {
        this.o.log(`restarting ${name}, which is not running`);
        node.start();
      }
    }
  }

  /** Every member's state machine checksum (null for a member that did not answer). */
  async checksums(): Promise<Map<string, ChecksumAnswer | null>> {
    const out = new Map<string, ChecksumAnswer | null>();
    await Promise.all(
      this.members.map(async (name) => {
        const a = await adminRequest<ChecksumAnswer>(this.origin(name), 'GET', '/v1/maintenance/checksum', 2000);
        out.set(name, a.ok ? a.body : null);
      }),
    );
    return out;
  }

  /** Kills every process, closes the proxy, and (unless `keepData`) deletes the data directories. */
  async stop(keepData = false): Promise<void> {
    this.stopped = true;
    await Promise.all([...this.processes.values()].map((p) => p.kill()));
    await this.proxy.close();
    if (!keepData) rmSync(join(this.o.dir, 'data'), { recursive: true, force: true });
  }
}
