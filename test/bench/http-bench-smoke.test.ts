import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ensureTools, parseArgs, parseH2load, runCairn } from '../../bench/http-bench.js';

test('h2load output is read as the etcd baseline reads it', () => {
  const out = `finished in 10.00s, 9600.10 req/s, 1.2MB/s
requests: 96001 total, 96257 started, 96001 done, 96000 succeeded, 1 failed, 1 errored, 0 timeout
time for request:     1.20ms    102.40ms     26.00ms      5.00ms    90.00%`;
  assert.deepEqual(parseH2load(out), { opsPerSec: 9600, meanMs: 26, succeeded: 96000, failed: 1 });
  assert.throws(() => parseH2load('garbage'), /cannot read h2load/);
  assert.throws(() => parseArgs(['--bogus']), /unknown argument/);
});

test('the benchmark runs end to end against a real 3-node cluster (smoke: seconds, no targets)', async () => {
  await ensureTools(false);
  const results = await runCairn(parseArgs(['--smoke', '--seconds', '1']));
  assert.equal(results.length, 4);
  for (const r of results) {
    assert.equal(r.failed, 0, `${r.op} at ${r.inflight} in flight: no failures`);
    assert.ok(r.succeeded > 0 && r.opsPerSec > 0, `${r.op} at ${r.inflight} in flight did work`);
  }
});
