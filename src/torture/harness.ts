import { appendFileSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { SeededRandom, systemRandom } from '../util/random.js';
import { adminRequest, type ChecksumAnswer, closeAdminConnections, type LocalStatus } from './admin-http.js';
import { type CheckSummary, checkInWorker } from './check-worker.js';
import { FAULT_KINDS } from './fault-kinds.js';
import { planFaults } from './fault-plan.js';
import { type FaultRecord, FaultRunner } from './fault-runner.js';
import { HistoryRecorder, type OpCounts } from './history-recorder.js';
import { KvHttp } from './kv-http.js';
import {
  electionTimeoutMs,
  resolveTortureOptions,
  TORTURE_DEFAULTS,
  type TortureOptions,
  type TortureOptionsInput,
} from './options.js';
import { compareChecksums, type ReplicaCheck } from './replica-check.js';
import { TortureCluster } from './torture-cluster.js';
import {
  type AcknowledgedWrite,
  checkAcknowledgedWrites,
  checkWatch,
  stateFromLog,
  type WatchCheckResult,
} from './watch-check.js';
import { type PrefixWatcher, RawWatcher, SdkWatcher } from './watchers.js';
import { type Target, Workload } from './workload.js';

/** The outcome of a run. `passed` is what the exit status says. */
export type TortureVerdict = 'linearizable' | 'not-linearizable' | 'unknown' | 'failed';

export interface WatcherResult extends WatchCheckResult {
  readonly id: string;
  readonly kind: 'raw' | 'sdk';
  readonly fromRevision: number;
  readonly streams: number;
  readonly errors: readonly string[];
}

export interface TortureResult {
  readonly verdict: TortureVerdict;
  readonly passed: boolean;
  /** The last line printed: `VERDICT: ...`. */
  readonly verdictLine: string;
  readonly runDir: string;
  readonly options: TortureOptions;
  readonly ops: { readonly total: number; readonly byKind: Record<string, OpCounts>; readonly totals: OpCounts };
  readonly opsPerSecond: number;
  readonly faults: readonly FaultRecord[];
  readonly faultCounts: Readonly<Record<string, number>>;
  readonly check: CheckSummary | null;
  readonly replicas: ReplicaCheck;
  readonly watchers: readonly WatcherResult[];
  readonly acknowledgedWrites: { readonly checked: number; readonly problems: readonly string[] };
  readonly finalState: { readonly ok: boolean; readonly detail: string };
  readonly crashes: readonly string[];
  readonly anomalies: readonly string[];
  /** Everything that made the run fail besides linearizability. */
  readonly failures: readonly string[];
  readonly durationsMs: Readonly<Record<string, number>>;
}

export interface TortureIo {
  /** A line for the console (the harness also keeps every line in `<runDir>/harness.log`). */
  readonly log: (line: string) => void;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** The workload stops early past this many operations: the checker takes at most 1,000,000 (docs/checker.md). */
const MAX_WORKLOAD_OPS = 900_000;

/** Notes of requests the harness's own client gave up on (no answer in time). */
const CLIENT_TIMEOUTS = new Set(['TimeoutError', 'AbortError', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

function timestamp(): string {
  return new Date().toISOString().replace(/[-:]/g, '').replace(/\..*$/, '').replace('T', '-');
}

/** The command line that repeats a run (same seed, same schedule; timings differ, see docs/testing.md). */
export function replayCommand(o: TortureOptions): string {
  const parts = ['npm run torture --'];
  if (o.endpoints.length > 0) parts.push(`--endpoints ${o.endpoints.join(',')}`);
  else parts.push(`--nodes ${o.nodes}`);
  parts.push(`--time ${o.timeSeconds}`);
  if (o.endpoints.length === 0) {
    const all = FAULT_KINDS.every((k) => o.faults.includes(k));
    parts.push(`--faults ${all ? 'all' : o.faults.length === 0 ? 'none' : o.faults.join(',')}`);
  }
  parts.push(`--seed ${o.seed}`, `--clients ${o.clients}`, `--keys ${o.keys}`);
  if (o.leaseReads > 0) parts.push(`--lease-reads ${o.leaseReads}`);
  if (o.thinkMs > 0) parts.push(`--think-ms ${o.thinkMs}`);
  if (o.snapshotEntries > 0) parts.push(`--snapshot-entries ${o.snapshotEntries}`);
  if (o.nodeRequestTimeoutMs > 0) parts.push(`--node-request-timeout-ms ${o.nodeRequestTimeoutMs}`);
  if (o.opTimeoutMs !== TORTURE_DEFAULTS.opTimeoutMs) parts.push(`--op-timeout-ms ${o.opTimeoutMs}`);
  if (o.unsafeLocalReads) parts.push('--unsafe-local-reads');
  return parts.join(' ');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);
}

/**
 * One torture run: start a cluster (or use `endpoints`), run the workload and the watchers while the fault
 * schedule plays, heal, check convergence, replicas, watches and acknowledged writes, then linearizability;
 * write the run directory and return the verdict. Every process and fault it created is gone when it returns
 * (or throws).
 */
export async function runTorture(input: TortureOptionsInput, io: TortureIo): Promise<TortureResult> {
  const o = resolveTortureOptions(input, () => systemRandom().int(2 ** 31));
  const external = o.endpoints.length > 0;
  const runDir = resolve(o.runDir ?? join(o.runsDir, `${timestamp()}-seed${o.seed}`));
  mkdirSync(runDir, { recursive: true });
  const origin = performance.now();
  const now = () => performance.now() - origin;
  const logFile = join(runDir, 'harness.log');
  const log = (line: string) => {
    const text = `[${(now() / 1000).toFixed(1).padStart(6)}s] ${line}`;
    io.log(text);
    appendFileSync(logFile, `${text}\n`);
  };
  const durations: Record<string, number> = {};
  const random = new SeededRandom(o.seed);
  const plan = external
    ? []
    : planFaults(random.fork(), {
        kinds: o.faults,
        durationMs: o.timeSeconds * 1000,
        electionTimeoutMs: electionTimeoutMs(o),
      });
  const workloadRandom = random.fork();
  const watcherRandom = random.fork();
  const prefix = external ? `torture/${timestamp()}-${o.seed}/` : 't/';
  writeFileSync(join(runDir, 'command.txt'), `${replayCommand(o)}\n`);
  writeFileSync(join(runDir, 'plan.json'), JSON.stringify(plan, null, 1));
  log(`run directory ${runDir} (run clock 0 = ${new Date(Date.now() - now()).toISOString()}; node logs use wall time)`);
  log(`replay: ${replayCommand(o)}`);

  let cluster: TortureCluster | null = null;
  const kv = new KvHttp({ timeoutMs: o.opTimeoutMs, connections: o.clients + 2 });
  const watchers: PrefixWatcher[] = [];
  let reference: RawWatcher | null = null;
  try {
    // ---- the cluster -------------------------------------------------------------------------------------------
    let targets: () => Target[];
    let t0 = now();
    if (external) {
      const list = o.endpoints.map((e, i) => {
        const url = new URL(e.includes('://') ? e : `http://${e}`);
        return { name: `e${i + 1}(${url.host})`, origin: `${url.protocol}//${url.host}` };
      });
      targets = () => list;
      log(`workload against ${list.map((t) => t.origin).join(', ')} (no faults), prefix ${prefix}`);
    } else {
      const spares = Math.min(20, plan.filter((p) => p.kind === 'membership').length);
      cluster = await TortureCluster.start({
        nodes: o.nodes,
        spares,
        hostBase: o.hostBase,
        tickMs: o.tickMs,
        electionTicks: o.electionTicks,
        consensus: o.consensus,
        unsafeLocalReads: o.unsafeLocalReads,
        snapshotEntries: o.snapshotEntries,
        nodeRequestTimeoutMs: o.nodeRequestTimeoutMs,
        nodeLogLevel: o.nodeLogLevel,
        dir: runDir,
        now,
        log,
      });
      const c = cluster;
      targets = () => c.targets();
      log(
        `${o.consensus} cluster of ${o.nodes} up (${c.members.map((m) => `${m}@${c.node(m).spec.host}`).join(', ')}), ` +
          `leader ${await c.leader()}; proxy in front of every peer port${o.unsafeLocalReads ? '; UNSAFE LOCAL READS' : ''}`,
      );
    }
    durations.start = now() - t0;

    const startRevision = await currentRevision(targets());
    log(`starting at revision ${startRevision}: ${o.clients} clients on ${o.keys} keys, ${o.watchers} watchers`);

    // ---- workload, watchers, faults ----------------------------------------------------------------------------
    const recorder = new HistoryRecorder();
    const workload = new Workload(
      {
        clients: o.clients,
        keys: o.keys,
        keyRotationMs: o.keyRotationSeconds * 1000,
        prefix,
        leaseReads: o.leaseReads,
        thinkMs: o.thinkMs,
        maxOps: MAX_WORKLOAD_OPS,
      },
      { kv, recorder, random: workloadRandom, targets, now },
    );
    const durationMs = o.timeSeconds * 1000;
    const stallMs = Math.max(2000, 4 * electionTimeoutMs(o));
    const allOrigins = cluster ? cluster.allOrigins() : targets().map((t) => t.origin);
    const startWatcher = (i: number, fromRevision: number) => {
      const id = `w${i + 1}`;
      const w =
        i === 0
          ? new SdkWatcher(id, prefix, fromRevision, allOrigins)
          : new RawWatcher(id, { prefix, fromRevision, stallMs }, { targets, random: watcherRandom.fork() });
      watchers.push(w);
      log(`watcher ${id} (${w.kind}) from revision ${fromRevision}`);
    };
    // The first two watch from the start; the others join during the run, from the revision then current.
    for (let i = 0; i < Math.min(2, o.watchers); i++) startWatcher(i, startRevision + 1);
    const lateWatchers: Promise<void>[] = [];
    for (let i = 2; i < o.watchers; i++) {
      const at = ((i - 1) / o.watchers) * durationMs;
      lateWatchers.push(
        (async () => {
          await sleep(at);
          startWatcher(i, (await currentRevision(targets())) + 1);
        })(),
      );
    }
    const runStart = now();
    workload.start();
    // Fault times are on the history's clock (ms since the harness started), like every operation's call and return.
    const runner = cluster ? new FaultRunner(plan, { cluster, now, log }) : null;
    const progress =
      o.progressSeconds > 0
        ? setInterval(() => {
            const t = recorder.totals();
            const faults = runner?.records.filter((r) => r.applied).length ?? 0;
            log(
              `progress: ${recorder.total} ops (ok ${t.ok}, failed ${t.failed}, unknown ${t.unknown}), ${faults} faults`,
            );
          }, o.progressSeconds * 1000)
        : null;
    await Promise.all([runner?.run(runStart + durationMs), sleep(durationMs)]);
    await Promise.all(lateWatchers);
    if (progress) clearInterval(progress);
    await workload.stop();
    durations.workload = now() - runStart;
    const opsPerSecond = recorder.total / (durations.workload / 1000);
    if (workload.full) log(`the history reached ${MAX_WORKLOAD_OPS} operations: the clients stopped early`);
    const totals = recorder.totals();
    log(
      `workload done: ${recorder.total} ops in ${(durations.workload / 1000).toFixed(1)} s (${opsPerSecond.toFixed(0)}/s): ` +
        `ok ${totals.ok}, failed ${totals.failed}, unknown ${totals.unknown}`,
    );

    // Requests the client gave up on. When the nodes' own request timeout (plus a forward's extra second and the
    // longest pause) is well below the client's, no request should ever get there: a node must answer TIMEOUT.
    const clientTimeouts = recorder.ops.filter((op) => op.return === null && CLIENT_TIMEOUTS.has(op.note ?? ''));
    const hungBoundMs = o.nodeRequestTimeoutMs + 2000 + 6 * electionTimeoutMs(o);
    const hungDetected = o.nodeRequestTimeoutMs > 0 && o.opTimeoutMs > hungBoundMs && clientTimeouts.length > 0;
    log(`client timeouts: ${clientTimeouts.length}`);

    // ---- heal and converge ---------------------------------------------------------------------------------------
    t0 = now();
    const healDeadline = performance.now() + o.healTimeoutSeconds * 1000;
    const remaining = () => Math.max(0, healDeadline - performance.now());
    const failures: string[] = [];
    if (hungDetected) {
      failures.push(
        `${clientTimeouts.length} requests got no answer within ${o.opTimeoutMs} ms although the nodes answer TIMEOUT ` +
          `after ${o.nodeRequestTimeoutMs} ms: ${clientTimeouts
            .slice(0, 5)
            .map((op) => `${op.id} ${op.op} ${op.key} on ${op.node} at ${(op.call / 1000).toFixed(1)} s`)
            .join(', ')}`,
      );
    }
    if (cluster) {
      const notes = await cluster.heal(remaining());
      log(`healed every fault${notes.length ? ` (${notes.join('; ')})` : ''}`);
    }
    const sentinel = await writeSentinel(kv, targets, `${prefix}~end`, remaining);
    if (sentinel === null) failures.push('the cluster did not accept a write within the heal timeout');
    else log(`sentinel write at revision ${sentinel}`);
    const finalRevision = sentinel ?? 0;
    // Final reads of every key on every node, recorded: each replica must show the last state.
    const keys = [...workload.usedKeys].sort();
    await Promise.all(
      targets().map(async (t) => {
        let seq = 0;
        for (const key of keys) {
          const call = now();
          const answer = await kv.get(t.origin, key);
          recorder.record(`final-${t.name}:${seq++}`, `final-${t.name}`, t.name, key, 'get', {}, call, now(), answer);
        }
      }),
    );
    log(`final reads: ${keys.length} keys on ${targets().length} nodes`);

    const replicas = await waitForReplicas(targets, finalRevision, remaining, external, () =>
      cluster?.restartStopped(),
    );
    log(replicas.detail);
    if (replicas.verdict === 'different') failures.push(replicas.detail);
    if (replicas.verdict === 'not-compared' && !external) failures.push(replicas.detail);
    durations.heal = now() - t0;

    // ---- watches, acknowledged writes, final state ---------------------------------------------------------------
    t0 = now();
    let watcherResults: WatcherResult[] = [];
    let ackCheck: ReturnType<typeof checkAcknowledgedWrites> = { checked: 0, problems: [], problemCount: 0 };
    let finalState = { ok: false, detail: 'not checked: no end marker was written' };
    if (sentinel !== null) {
      const refTargets = await referenceTarget(targets());
      reference = new RawWatcher(
        'reference',
        { prefix, fromRevision: startRevision + 1, stallMs },
        { targets: () => refTargets, random: watcherRandom.fork() },
      );
      const referenceComplete = await reference.waitFor(finalRevision, Math.max(5000, remaining()));
      await Promise.all(watchers.map((w) => w.waitFor(finalRevision, Math.max(2000, remaining()))));
      await Promise.all(watchers.map((w) => w.close()));
      await reference.close();
      const refBatches = reference.batches;
      watcherResults = watchers.map((w) => ({
        id: w.id,
        kind: w.kind,
        fromRevision: w.fromRevision,
        streams: w.streams,
        errors: w.errors,
        ...checkWatch(w.batches, refBatches, w.fromRevision, finalRevision),
      }));
      const refSelf = checkWatch(refBatches, refBatches, startRevision + 1, finalRevision);
      if (!referenceComplete) failures.push(`the reference watch did not reach revision ${finalRevision}`);
      if (!refSelf.ok) failures.push(`the reference change log is not in order: ${refSelf.problems.join('; ')}`);
      for (const w of watcherResults) {
        log(
          `watcher ${w.id} (${w.kind}, from ${w.fromRevision}, ${w.kind === 'sdk' ? 'the SDK reconnects by itself' : `${w.streams} streams`}): ${w.received} batches, ` +
            `${w.ok ? 'complete, in order, no duplicates' : `${w.problemCount} problems: ${w.problems.slice(0, 3).join('; ')}`}`,
        );
        if (!w.ok) failures.push(`watcher ${w.id}: ${w.problemCount} problems (${w.problems.slice(0, 3).join('; ')})`);
      }
      // Every acknowledged write is in the log at its revision; the log's final state is what a range read shows.
      ackCheck = checkAcknowledgedWrites(acknowledgedWrites(recorder), refBatches, startRevision + 1);
      log(`acknowledged writes in the change log: ${ackCheck.checked} checked, ${ackCheck.problemCount} problems`);
      if (ackCheck.problemCount > 0) {
        failures.push(
          `${ackCheck.problemCount} acknowledged writes not in the log: ${ackCheck.problems.slice(0, 3).join('; ')}`,
        );
      }
      finalState = await compareFinalState(targets(), prefix, refBatches, finalRevision, remaining);
      log(`final state: ${finalState.detail}`);
      if (!finalState.ok) failures.push(finalState.detail);
    }
    durations.watches = now() - t0;

    // ---- stop everything, then the linearizability check ---------------------------------------------------------
    const exits = cluster?.unexpectedExits ?? [];
    const crashes = exits
      .filter((e) => e.cause === 'crash')
      .map((e) => `${e.node} crashed at ${(e.atMs / 1000).toFixed(1)} s (code ${e.code}, signal ${e.signal})`);
    for (const c of crashes) failures.push(`node crash: ${c}`);
    const interference = exits.filter((e) => e.cause === 'outside-signal');
    if (interference.length > 0) {
      failures.push(
        `interference: ${interference.length} node processes were stopped by signals the harness did not send ` +
          `(${interference.map((e) => `${e.node} ${e.signal ?? `exit ${e.code}`} at ${(e.atMs / 1000).toFixed(1)} s`).join(', ')})`,
      );
    }
    await cluster?.stop(o.keepData);
    cluster = null;
    await kv.close();

    const historyPath = join(runDir, 'history.jsonl');
    writeFileSync(historyPath, recorder.toJsonLines());
    const faults = runner?.records ?? [];
    const faultCounts: Record<string, number> = {};
    for (const f of faults) if (f.applied) faultCounts[f.kind] = (faultCounts[f.kind] ?? 0) + 1;
    const appliedFaults = faults.filter((f) => f.applied).length;
    log(
      `faults injected: ${appliedFaults} (${
        Object.entries(faultCounts)
          .map(([k, n]) => `${k} ${n}`)
          .join(', ') || 'none'
      })`,
    );

    t0 = now();
    log(`checking ${recorder.total} operations for linearizability...`);
    const headerHtml = summaryHtml(o, recorder, faults, replicas, watcherResults, failures);
    const check = await checkInWorker(
      { historyPath, reportPath: join(runDir, 'report.html'), budgetMsPerKey: o.checkBudgetMsPerKey, headerHtml },
      o.checkTotalBudgetMs,
    );
    durations.check = now() - t0;
    log(`linearizability: ${check.verdict} (${check.keys} keys, ${(check.elapsedMs / 1000).toFixed(1)} s)`);
    // The first violation in full; the others are in the report.
    for (const line of check.violations[0]?.split('\n') ?? []) log(`  ${line}`);
    if (check.violations.length > 1)
      log(`  (${check.problemKeys.length - 1} more keys not linearizable: see the report)`);
    for (const k of check.problemKeys.filter((p) => p.verdict === 'unknown')) {
      log(`  key ${k.key}: undecided (${k.reason ?? 'budget'})`);
    }

    const reportPath = join(runDir, 'report.html');
    let verdict: TortureVerdict;
    let verdictLine: string;
    const summaryText = `${recorder.total} ops, ${appliedFaults} faults`;
    if (check.verdict === 'not-linearizable') {
      verdict = 'not-linearizable';
      const first = check.problemKeys.find((k) => k.verdict === 'not-linearizable');
      verdictLine = `VERDICT: NOT linearizable (${summaryText}; first violation on key ${first?.key}${
        failures.length ? `; also: ${failures.length} other failures` : ''
      }; report: ${reportPath})`;
    } else if (failures.length > 0) {
      verdict = 'failed';
      verdictLine = `VERDICT: FAILED (${summaryText}; history ${check.verdict}, but ${failures.length} other failures: ${failures[0]}; report: ${reportPath})`;
    } else if (check.verdict === 'unknown') {
      verdict = 'unknown';
      verdictLine = `VERDICT: unknown (${summaryText}; the checker ran out of budget on ${check.problemKeys.length} keys; report: ${reportPath})`;
    } else {
      verdict = 'linearizable';
      verdictLine = `VERDICT: linearizable (${summaryText}, ${replicas.verdict === 'identical' ? `replicas identical at applied ${replicas.applied}` : replicas.detail}, ${watcherResults.length} watches complete; report: ${reportPath})`;
    }
    const passed = verdict === 'linearizable';
    const result: TortureResult = {
      verdict,
      passed,
      verdictLine,
      runDir,
      options: o,
      ops: { total: recorder.total, byKind: recorder.counts, totals: recorder.totals() },
      opsPerSecond,
      faults,
      faultCounts,
      check,
      replicas,
      watchers: watcherResults,
      acknowledgedWrites: { checked: ackCheck.checked, problems: ackCheck.problems },
      finalState,
      crashes,
      anomalies: recorder.anomalies,
      failures,
      durationsMs: durations,
    };
    writeFileSync(join(runDir, 'summary.json'), JSON.stringify({ ...result, plan }, null, 1));
    if (recorder.anomalyCount > 0) {
      log(
        `${recorder.anomalyCount} unexpected answers (outcome taken as unknown): ${recorder.anomalies.slice(0, 5).join('; ')}`,
      );
    }
    log(`ops: ${recorder.total} (${JSON.stringify(recorder.counts)})`);
    log(verdictLine);
    if (passed && o.deleteRunDirOnPass) rmSync(runDir, { recursive: true, force: true });
    return result;
  } finally {
    for (const w of watchers) await w.close().catch(() => {});
    await reference?.close().catch(() => {});
    await cluster?.stop(o.keepData).catch(() => {});
    await kv.close();
    await closeAdminConnections();
  }
}

/** The writes the workload saw acknowledged, with the revision their answers named. */
function acknowledgedWrites(recorder: HistoryRecorder): AcknowledgedWrite[] {
  const acked: AcknowledgedWrite[] = [];
  for (const op of recorder.ops) {
    if (op.return === null || op.revision === undefined || op.op === 'get') continue;
    const out = op.output as { ok?: boolean; version?: number; deleted?: number };
    if (op.op === 'put' && out.ok === true) {
      acked.push({
        id: op.id,
        key: op.key,
        type: 'put',
        revision: op.revision,
        value: op.input.value!,
        version: out.version!,
      });
    } else if (op.op === 'delete' && out.deleted === 1) {
      acked.push({ id: op.id, key: op.key, type: 'delete', revision: op.revision });
    }
  }
  return acked;
}

/** The highest revision any target reports (a lagging node reports less; the watches start after it). */
async function currentRevision(targets: readonly Target[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const answers = await Promise.all(
      targets.map((t) => adminRequest<LocalStatus>(t.origin, 'GET', '/v1/cluster/status?local=true', 1000)),
    );
    const revisions = answers.filter((a) => a.ok).map((a) => (a.ok ? a.body.revision : 0));
    if (revisions.length > 0) return Math.max(...revisions);
    await sleep(200);
  }
  throw new Error('no node answered its status');
}

/** The node the reference watch reads from: the leader if one answers, else the first target. */
async function referenceTarget(targets: readonly Target[]): Promise<Target[]> {
  for (const t of targets) {
    const a = await adminRequest<LocalStatus>(t.origin, 'GET', '/v1/cluster/status?local=true', 1000);
    if (a.ok && a.body.leader !== null) {
      const leader = targets.find((x) => x.name === a.body.leader);
      return [leader ?? t];
    }
  }
  return targets.slice(0, 1);
}

/** Writes the end marker (retrying anywhere until it succeeds); its revision is the last of the run. */
async function writeSentinel(
  kv: KvHttp,
  targets: () => readonly Target[],
  key: string,
  remaining: () => number,
): Promise<number | null> {
  let i = 0;
  while (remaining() > 0) {
    const list = targets();
    const t = list[i++ % list.length]!;
    const answer = await kv.put(t.origin, key, 'end');
    if (answer.kind === 'ok' && answer.revision !== undefined) return answer.revision;
    await sleep(200);
  }
  return null;
}

/** Polls every node's checksum until they all stand at one applied index (past the sentinel), then compares. */
async function waitForReplicas(
  targets: () => readonly Target[],
  minRevision: number,
  remaining: () => number,
  external: boolean,
  /** Called at each poll (restarts members that died meanwhile). */
  onPoll: () => void,
): Promise<ReplicaCheck> {
  let last = new Map<string, ChecksumAnswer | null>();
  // An external cluster may have other traffic: give up comparing after a while instead of failing.
  const deadline = performance.now() + (external ? Math.min(10_000, remaining()) : remaining());
  while (performance.now() < deadline) {
    onPoll();
    last = new Map(
      await Promise.all(
        targets().map(async (t) => {
          const a = await adminRequest<ChecksumAnswer>(t.origin, 'GET', '/v1/maintenance/checksum', 2000);
          return [t.name, a.ok ? a.body : null] as const;
        }),
      ),
    );
    const compared = compareChecksums(last, minRevision);
    if (compared) return compared;
    await sleep(250);
  }
  const positions = [...last.entries()]
    .map(([n, a]) => `${n}: ${a ? `applied ${a.applied}, revision ${a.revision}` : 'no answer'}`)
    .join('; ');
  return {
    verdict: 'not-compared',
    applied: null,
    revision: null,
    nodes: Object.fromEntries(last),
    detail: `replicas did not reach one applied index in time (${positions})`,
  };
}

/** The prefix's keys by a linearizable range read must be the state the change log builds. */
async function compareFinalState(
  targets: readonly Target[],
  prefix: string,
  log: Parameters<typeof stateFromLog>[0],
  finalRevision: number,
  remaining: () => number,
): Promise<{ ok: boolean; detail: string }> {
  const expected = stateFromLog(log);
  const errors: string[] = [];
  // A few rounds over every node: one busy or restarting node must not fail the check.
  for (let round = 0; round < 5 && (round === 0 || remaining() > 0); round++) {
    for (const t of targets) {
      const a = await adminRequest<{ kvs: { key: string; value: string; version: number }[]; revision: number }>(
        t.origin,
        'GET',
        `/v1/kv?prefix=${encodeURIComponent(prefix)}`,
        5000,
      );
      if (!a.ok) {
        errors.push(`${t.name}: ${a.code} ${a.message}`.slice(0, 200));
        continue;
      }
      const problems: string[] = [];
      const seen = new Set<string>();
      for (const kv of a.body.kvs) {
        seen.add(kv.key);
        const value = Buffer.from(kv.value, 'base64').toString('utf8');
        const want = expected.get(kv.key);
        if (!want)
          problems.push(`${kv.key} exists (${JSON.stringify(value)}) but the log deleted it or never wrote it`);
        else if (want.value !== value || want.version !== kv.version) {
          problems.push(
            `${kv.key} is ${JSON.stringify(value)} v${kv.version}, the log says ${JSON.stringify(want.value)} v${want.version}`,
          );
        }
      }
      for (const key of expected.keys()) if (!seen.has(key)) problems.push(`${key} is missing`);
      if (a.body.revision < finalRevision)
        problems.push(`range read at revision ${a.body.revision} < ${finalRevision}`);
      return problems.length === 0
        ? { ok: true, detail: `${a.body.kvs.length} keys on ${t.name} match the change log` }
        : { ok: false, detail: `final state differs from the change log: ${problems.slice(0, 5).join('; ')}` };
    }
    await sleep(500);
  }
  return { ok: false, detail: `no node answered the final range read (${errors.slice(0, 3).join('; ')})` };
}

function summaryHtml(
  o: TortureOptions,
  recorder: HistoryRecorder,
  faults: readonly FaultRecord[],
  replicas: ReplicaCheck,
  watchers: readonly WatcherResult[],
  failures: readonly string[],
): string {
  const t = recorder.totals();
  const faultRows = faults
    .map(
      (f) =>
        `<tr><td>#${f.index}</td><td>${(f.startMs / 1000).toFixed(1)}–${(f.endMs / 1000).toFixed(1)} s</td><td>${escapeHtml(f.kind)}</td><td>${escapeHtml(f.applied ? f.detail : `skipped: ${f.detail}`)}</td></tr>`,
    )
    .join('\n');
  const watcherRows = watchers
    .map(
      (w) =>
        `<tr><td>${w.id} (${w.kind})</td><td>from ${w.fromRevision}, ${w.streams} streams, ${w.received} batches</td><td>${
          w.ok ? 'complete, in order' : escapeHtml(w.problems.slice(0, 5).join('; '))
        }</td></tr>`,
    )
    .join('\n');
  return `<section style="font-family: system-ui, sans-serif; margin: 1em 0; padding: 0.5em 1em; border: 1px solid #ccc">
<h2>Torture run — seed ${o.seed}</h2>
<p><code>${escapeHtml(replayCommand(o))}</code></p>
<p>${recorder.total} operations: ${t.ok} ok, ${t.failed} surely failed, ${t.unknown} unknown outcome.
Replicas: ${escapeHtml(replicas.detail)}.</p>
${failures.length ? `<p style="color:#b00"><b>Other failures:</b> ${escapeHtml(failures.join(' | '))}</p>` : ''}
<details><summary>${faults.filter((f) => f.applied).length} faults injected</summary>
<table>${faultRows}</table></details>
<details><summary>${watchers.length} watchers</summary><table>${watcherRows}</table></details>
</section>`;
}
