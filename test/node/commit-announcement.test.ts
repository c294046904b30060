import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestCluster } from '../support/test-cluster.js';

/** How long after a write was acknowledged by `writer` a stale read on `reader` first sees it (polled every 2 ms). */
async function msUntilVisible(cluster: TestCluster, writer: string, reader: string, key: string): Promise<number> {
  const w = cluster.client([writer]);
  const r = cluster.client([reader]);
  try {
    await w.put(key, 'v');
    const start = performance.now();
    for (;;) {
      if ((await r.get(key, { consistency: 'stale' }))?.text() === 'v') return performance.now() - start;
      if (performance.now() - start > 5_000) throw new Error(`${reader} did not see ${key} within 5 s`);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
  } finally {
    await Promise.all([w.close(), r.close()]);
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

for (const delayArgs of [[], ['--commit-announce-delay-ms', '0']]) {
  const label = delayArgs.length === 0 ? 'the default 10 ms' : 'announced at once (0 ms)';
  describe(`commit announcements on an idle cluster of real processes: ${label}`, () => {
    // Heartbeats every 500 ms: without the announcement an idle follower would learn of a commit only with the
    // next heartbeat, on average 250 ms later (measured: ~460 ms with the timer switched off).
    let cluster: TestCluster;
    before(async () => {
      cluster = await TestCluster.start({
        nodes: 3,
        args: ['--tick-ms', '500', '--election-ticks', '3', ...delayArgs],
      });
    });
    after(async () => {
      await cluster?.stop();
    });

    test("a follower applies an idle leader's write within milliseconds, not a heartbeat later", async () => {
      const leader = await cluster.waitForLeader();
      const follower = [...cluster.specs.keys()].find((n) => n !== leader)!;
      const delays: number[] = [];
      for (let i = 0; i < 7; i++) {
        delays.push(await msUntilVisible(cluster, leader, follower, `announce/${i}`));
        // Let the cluster go idle again (no append in flight to carry the commit index).
        await new Promise((resolve) => setTimeout(resolve, 30));
      }
      const m = median(delays);
      assert.ok(m < 100, `median ${m.toFixed(1)} ms (all: ${delays.map((d) => d.toFixed(1)).join(', ')})`);
    });
  });
}
