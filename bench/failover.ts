/**
 * Time to recover from a leader kill, with real processes (`npm run bench:failover`): N times, kill -9 the
 * leader of a 3-node cluster while a client writes, and measure from the kill to the first write acknowledged
 * afterwards (the client retries on other nodes); then restart the killed node and let it catch up.
 *
 *   npm run bench:failover [-- --kills 20 --consensus raft|paxos --json]
 */
import { Client } from '../src/client/client.js';
import { LocalCluster, percentile, sleep } from './support/local-cluster.js';

interface Args {
  kills: number;
  consensus: 'raft' | 'paxos';
  json: boolean;
}

function parse(argv: string[]): Args {
  const a: Args = { kills: 20, consensus: 'raft', json: false };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--kills') a.kills = Number(argv[++i]);
    else if (argv[i] === '--consensus') {
      const engine = argv[++i];
      if (engine !== 'raft' && engine !== 'paxos') throw new Error(`--consensus must be raft or paxos, not ${engine}`);
      a.consensus = engine;
    } else if (argv[i] === '--json') a.json = true;
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return a;
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  const cluster = new LocalCluster(3, ['--consensus', args.consensus]);
  await cluster.start();
  const client = new Client({ endpoints: cluster.endpoints(), timeoutMs: 2000, retries: 0 });
  const recoveries: number[] = [];
  try {
    for (let k = 0; k < args.kills; k++) {
      const leader = (await cluster.waitForLeader()).name;
      await client.put('failover/warm', String(k));
      const victim = cluster.procs.get(leader)!;
      const killedAt = performance.now();
      victim.kill('SIGKILL');
      await new Promise((r) => victim.once('exit', r));
      // The first write acknowledged after the kill: the cluster is serving again. The bench retries every 10 ms
      // itself (retries: 0), so the client's growing backoff does not add to the measured time.
      for (;;) {
        try {
          await client.put('failover/probe', String(k));
          break;
        } catch {
          await sleep(10);
        }
      }
      recoveries.push(Math.round(performance.now() - killedAt));
      cluster.startNode(cluster.names.indexOf(leader));
      await sleep(2500); // the restarted node rejoins and catches up before the next kill
    }
  } finally {
    await client.close();
    await cluster.stop();
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
