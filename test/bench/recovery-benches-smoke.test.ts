import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const script = (name: string) => fileURLToPath(new URL(`../../bench/${name}.js`, import.meta.url));

// Smoke runs of the failover and health benchmarks (one kill, one stop, no busy phase), so they never rot.

test('bench:failover measures the recovery from one leader kill -9', async () => {
  const { stdout } = await run(process.execPath, [script('failover'), '--kills', '1', '--json'], { timeout: 60_000 });
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { kills: number; recoveriesMs: number[] };
  assert.equal(result.kills, 1);
  assert.ok(result.recoveriesMs[0]! > 0 && result.recoveriesMs[0]! < 30_000, `recovery ${result.recoveriesMs[0]} ms`);
  await assert.rejects(run(process.execPath, [script('failover'), '--consensus', 'zab']), /raft or paxos/);
});

test('bench:health times the detection of one stopped node', async () => {
  const { stdout } = await run(
    process.execPath,
    [script('health-real'), '--stops', '1', '--busy-minutes', '0', '--json'],
    {
      timeout: 90_000,
    },
  );
  const result = JSON.parse(stdout.trim().split('\n').pop()!) as { detected: number; detectionsMs: number[] };
  assert.equal(result.detected, 1);
  assert.ok(result.detectionsMs[0]! > 0 && result.detectionsMs[0]! < 20_000, `detection ${result.detectionsMs[0]} ms`);
});
