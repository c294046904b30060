import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const MODULE = fileURLToPath(new URL('../../bench/support/local-cluster.js', import.meta.url));

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('an interrupted bench takes its cluster down with it: no node process or data directory is left', async () => {
  // A bench process that starts a cluster, reports its node pids and data directory, then waits to be killed.
  const script = `
    import { LocalCluster } from ${JSON.stringify(MODULE)};
    const c = new LocalCluster(3);
    await c.start();
    await c.waitForLeader();
    console.log(JSON.stringify({ pids: [...c.procs.values()].map((p) => p.pid), dir: c.dir }));
    setInterval(() => {}, 1000);
  `;
  const bench = spawn(process.execPath, ['--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const started = await new Promise<{ pids: number[]; dir: string }>((resolve, reject) => {
    let out = '';
    bench.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('\n')) resolve(JSON.parse(out) as { pids: number[]; dir: string });
    });
    bench.once('exit', (code) => reject(new Error(`the bench exited early (${code})`)));
  });
  assert.equal(started.pids.length, 3);
  assert.ok(started.pids.every(alive) && existsSync(started.dir));

  const exited = new Promise<number | null>((resolve) => bench.once('exit', (code) => resolve(code)));
  bench.kill('SIGTERM');
  assert.equal(await exited, 143);
  const deadline = Date.now() + 5000;
  while (started.pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(started.pids.filter(alive), [], 'every node process is gone');
  assert.equal(existsSync(started.dir), false, 'the data directory is removed');
});
