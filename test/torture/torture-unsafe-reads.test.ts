import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parseFaultKinds } from '../../src/torture/fault-kinds.js';
import { runTorture } from '../../src/torture/harness.js';
import { liveChildCount } from '../../src/torture/process-registry.js';

/**
 * The harness can fail: nodes started with `--test-unsafe-local-reads` serve reads from their own state without
 * ReadIndex. The schedule only isolates the leader (for 2.5 s or more each time): the isolated node keeps
 * answering reads with what it had, while the clients' writes go through the others (a write sent to the
 * isolated node is forwarded over HTTP, which the proxy does not cut). Plain GETs are linearizable reads by
 * default, so the checker must find a read of an overwritten value. (Followers that lag a little already
 * serve stale reads in this mode; the partition makes it certain.)
 */
const dir = mkdtempSync(join(tmpdir(), 'cairn-torture-unsafe-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('unsafe local reads under leader isolation are caught as NOT linearizable', async () => {
  const lines: string[] = [];
  const result = await runTorture(
    {
      nodes: 3,
      timeSeconds: 12,
      faults: parseFaultKinds('isolate-leader'),
      seed: 3,
      clients: 6,
      thinkMs: 5,
      keys: 3,
      watchers: 1,
      unsafeLocalReads: true,
      runDir: join(dir, 'run'),
      progressSeconds: 0,
      healTimeoutSeconds: 60,
    },
    { log: (line) => lines.push(line) },
  );
  const context = () => `${result.verdictLine}\n${lines.join('\n')}`;
  assert.ok(
    result.faults.some((f) => f.applied && f.kind === 'isolate-leader'),
    `the leader was isolated\n${context()}`,
  );
  assert.equal(result.verdict, 'not-linearizable', context());
  assert.equal(result.passed, false);
  assert.match(result.verdictLine, /^VERDICT: NOT linearizable \(.*report: .*report\.html\)$/);
  // The violation is a read: a get that returned a value the key no longer had.
  assert.ok(result.check && result.check.violations.length > 0);
  assert.match(result.check.violations.join('\n'), /get\(\)/);
  // The report names the failing key; the history is there to replay the check.
  const report = readFileSync(join(result.runDir, 'report.html'), 'utf8');
  const firstKey = result.check.problemKeys.find((k) => k.verdict === 'not-linearizable')!.key;
  assert.ok(report.includes(firstKey));
  assert.ok(report.includes('Torture run'));
  assert.ok(existsSync(join(result.runDir, 'history.jsonl')));
  assert.equal(liveChildCount(), 0);
});
