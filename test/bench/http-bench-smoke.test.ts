import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureTools, parseArgs, parseH2load, runCairn } from '../../bench/http-bench.js';

test('h2load output is read as the etcd baseline reads it', () => {
  const out = `finished in 10.00s, 9600.10 req/s, 1.2MB/s
requests: 96001 total, 96257 started, 96001 done, 96000 succeeded, 1 failed, 1 errored, 0 timeout
time for request:     1.20ms    102.40ms     26.00ms      5.00ms    90.00%`;
  assert.deepEqual(parseH2load(out), { opsPerSec: 9600, meanMs: 26, succeeded: 96000, failed: 1 });
  // A run shorter than a second prints its duration in ms (seen in CI with the smoke's 1 s runs).
  const subSecond = `finished in 998.38ms, 9200.00 req/s, 672.44KB/s
requests: 9200 total, 9456 started, 9200 done, 9200 succeeded, 0 failed, 0 errored, 0 timeout
time for request:     8.83ms    203.32ms     27.54ms     22.09ms    88.52%`;
  assert.deepEqual(parseH2load(subSecond), { opsPerSec: 9200, meanMs: 27.54, succeeded: 9200, failed: 0 });
  assert.throws(() => parseH2load('garbage'), /cannot read h2load/);
  assert.throws(() => parseArgs(['--bogus']), /unknown argument/);
  assert.equal(parseArgs([]).warmupSeconds, 10, 'Cairn is warmed up by default');
  assert.equal(parseArgs(['--warmup-seconds', '0']).warmupSeconds, 0);
  assert.equal(parseArgs(['--smoke']).warmupSeconds, 0, 'the smoke run measures at once');
  assert.throws(() => parseArgs(['--warmup-seconds', '-1']), /warmup-seconds/);
});

test('the benchmark runs end to end against a real 3-node cluster (smoke: seconds, no targets)', async () => {
  await ensureTools(false);
  const results = await runCairn(parseArgs(['--smoke', '--seconds', '1']));
  assert.equal(results.length, 4);
  for (const r of results) {
    assert.equal(r.failed, 0, `${r.op} at ${r.inflight} in flight: no failures`);
    assert.ok(r.succeeded > 0 && r.opsPerSec > 0, `${r.op} at ${r.inflight} in flight did work`);
    assert.ok((r.cpuUsPerOp ?? 0) > 0, "the nodes' CPU per request is measured");
    const leader = r.leaderCpuUsPerOp ?? 0;
    assert.ok(leader > 0 && leader < r.cpuUsPerOp!, `the leader's share is measured (${leader} of ${r.cpuUsPerOp})`);
    assert.ok((r.messagesPerOp ?? 0) > 0, 'peer messages per request are measured');
  }
  // A put at 1 in flight is made durable on all three nodes: about one fsync on each per write.
  const put1 = results.find((r) => r.op === 'put' && r.inflight === 1)!;
  assert.ok(put1.fsyncsPerOp! >= 1.5 && put1.fsyncsPerOp! <= 4.5, `fsyncs per put at 1 in flight: ${put1.fsyncsPerOp}`);
  assert.ok(results.find((r) => r.op === 'get' && r.inflight === 1)!.fsyncsPerOp! < 0.01, 'reads do not fsync');
});
