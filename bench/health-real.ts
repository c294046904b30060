/**
 * Failure detection with real processes (`npm run bench:health`):
 *  1. detection time: N times, SIGSTOP a follower and time until the leader's /v1/cluster/health says `suspect`
 *     (then SIGCONT and wait until it is `alive` again); prints the median and p99;
 *  2. false suspicions: M minutes with a busy child process saturating one CPU core, with the leader's process
 *     pinned to that same core (taskset), so that node gets about half a core; meanwhile a client writes one at
 *     a time, 5 ms apart. Counts the peer-suspect events every node recorded (none is expected: nothing failed).
 *
 *   npm run bench:health [-- --stops 20 --busy-minutes 10 --json]
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { request } from 'undici';
import { LocalCluster, percentile, sleep } from './support/local-cluster.js';

interface Args {
  stops: number;
  busyMinutes: number;
  json: boolean;
}

function parse(argv: string[]): Args {
  const a: Args = { stops: 20, busyMinutes: 10, json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--stops') a.stops = Number(argv[++i]);
    else if (argv[i] === '--busy-minutes') a.busyMinutes = Number(argv[++i]);
    else if (argv[i] === '--json') a.json = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

async function json<T>(url: string): Promise<T> {
  const r = await request(url, { headersTimeout: 3000, bodyTimeout: 3000 });
  return (await r.body.json()) as T;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const cluster = new LocalCluster(3);
  await cluster.start();
  const names = cluster.names;
  const procs = names.map((n) => cluster.procs.get(n)!);
  const http = (i: number) => cluster.http(i);
  let busy: ReturnType<typeof spawn> | null = null;
  try {
    const leader = names.indexOf((await cluster.waitForLeader()).name);
    await sleep(5000); // detectors need samples
    const detections: number[] = [];
    for (let k = 0; k < args.stops; k++) {
      const victim = (leader + 1 + (k % 2)) % 3;
      procs[victim]!.kill('SIGSTOP');
      const stoppedAt = performance.now();
      let detectedAt = 0;
      while (!detectedAt && performance.now() - stoppedAt < 20_000) {
        const h = await json<{ nodes: { name: string; state: string }[] }>(`${http(leader)}/v1/cluster/health`);
        if (h.nodes.find((n) => n.name === names[victim])?.state === 'suspect') detectedAt = performance.now();
        else await sleep(20);
      }
      procs[victim]!.kill('SIGCONT');
      if (detectedAt) detections.push(Math.round(detectedAt - stoppedAt));
      for (let t = 0; t < 200; t++) {
        const h = await json<{ nodes: { name: string; state: string }[] }>(`${http(leader)}/v1/cluster/health`);
        if (h.nodes.find((n) => n.name === names[victim])?.state === 'alive') break;
        await sleep(100);
      }
      await sleep(1000 + Math.random() * 1000); // a random heartbeat phase for the next stop
    }

    // False suspicions under CPU pressure: a busy loop saturating core 0, and the leader pinned to that core.
    const eventsBefore = await countSuspicions(names.map((_, i) => http(i)));
    const pinned = await pinToCore0(procs[leader]!.pid!);
    busy = pinned
      ? spawn('taskset', ['-c', '0', process.execPath, '-e', 'for(;;){}'], { stdio: 'ignore' })
      : spawn(process.execPath, ['-e', 'for(;;){}'], { stdio: 'ignore' });
    const busyUntil = performance.now() + args.busyMinutes * 60_000;
    const writes = { ok: 0, failed: 0 };
    while (performance.now() < busyUntil) {
      try {
        const r = await request(`${http(leader)}/v1/kv/health-bench`, {
          method: 'PUT',
          body: String(writes.ok),
          headersTimeout: 5000,
          bodyTimeout: 5000,
        });
        await r.body.dump();
        if (r.statusCode === 200) writes.ok++;
        else writes.failed++;
      } catch {
        writes.failed++;
      }
      await sleep(5);
    }
    busy.kill('SIGKILL');
    busy = null;
    const eventsAfter = await countSuspicions(names.map((_, i) => http(i)));
    const result = {
      stops: args.stops,
      detected: detections.length,
      detectionMedianMs: percentile(detections, 50),
      detectionP99Ms: percentile(detections, 99),
      detectionsMs: detections,
      busyMinutes: args.busyMinutes,
      pinnedNode: pinned ? names[leader] : null,
      writesDuringBusy: writes,
      falseSuspicions: eventsAfter - eventsBefore,
    };
    if (args.json) console.log(JSON.stringify(result));
    else {
      console.log(
        `detection of a stopped node: median ${result.detectionMedianMs} ms, p99 ${result.detectionP99Ms} ms (${detections.length}/${args.stops} detected)`,
      );
      console.log(
        `false suspicions in ${args.busyMinutes} min with one core saturated by a busy process` +
          (pinned ? ` (and ${names[leader]} pinned to that core)` : ' (taskset missing: nothing pinned)') +
          `: ${result.falseSuspicions}; writes meanwhile: ${writes.ok} ok, ${writes.failed} failed`,
      );
    }
  } finally {
    busy?.kill('SIGKILL');
    await cluster.stop();
  }
}

/** Pins every thread of a process to CPU 0; false when taskset is missing or refuses. */
async function pinToCore0(pid: number): Promise<boolean> {
  try {
    await promisify(execFile)('taskset', ['-a', '-cp', '0', String(pid)]);
    return true;
  } catch {
    return false;
  }
}

async function countSuspicions(endpoints: string[]): Promise<number> {
  let n = 0;
  for (const e of endpoints) {
    const r = await json<{ events: { action: string }[] }>(`${e}/v1/cluster/events`);
    n += r.events.filter((x) => x.action === 'peer-suspect').length;
  }
  return n;
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : String(error));
  process.exit(1);
});
