import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkHistory, type HistoryOp, parseHistoryText } from '../../src/check/index.js';
import { KvHttp, type OpAnswer } from '../../src/torture/kv-http.js';
import { liveChildCount } from '../../src/torture/process-registry.js';
import { TortureCluster } from '../../src/torture/torture-cluster.js';

/** Bugs the torture harness found, each pinned down (docs/testing.md, "Bugs found"). */

const HISTORIES = fileURLToPath(new URL('../../../test/torture/histories/', import.meta.url));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('a write answered UNAVAILABLE must not take effect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-torture-regression-'));
  let cluster: TortureCluster | undefined;
  const kv = new KvHttp({ timeoutMs: 10_000, connections: 32 });
  after(async () => {
    await kv.close();
    await cluster?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the recorded history: a delete answered UNAVAILABLE that took effect is NOT linearizable', () => {
    const history = parseHistoryText(readFileSync(join(HISTORIES, 'unavailable-but-applied.jsonl'), 'utf8'));
    const result = checkHistory(history);
    assert.equal(result.verdict, 'not-linearizable');
    const violation = result.keys[0]!.violation!;
    assert.equal(violation.failedOp.clientId, 'final-n1');
    assert.match(violation.pending.map((p) => p.reason).join('\n'), /read absent but the key is "c0-290" v5/);
    // Had the node said TIMEOUT (outcome unknown) for that delete, the same history would be linearizable.
    const honest = history.map((op) =>
      op.id === 'c0:290' ? ({ ...op, return: null, output: null } as HistoryOp) : op,
    );
    assert.equal(checkHistory(honest).verdict, 'linearizable');
  });

  test('a paused leader that resumes with writes queued on open connections: no UNAVAILABLE write is applied', async () => {
    // Before the fix, every one of these writes was answered UNAVAILABLE ("this node is no longer the leader")
    // and applied anyway: the resumed leader's engine had stepped down, forwarded the proposal to the new leader
    // inside Raft, and reported NotLeader at the same time.
    cluster = await TortureCluster.start({
      nodes: 3,
      spares: 0,
      hostBase: 1,
      tickMs: 50,
      electionTicks: 10,
      unsafeLocalReads: false,
      snapshotEntries: 0,
      nodeLogLevel: 'warn',
      dir,
      now: () => performance.now(),
      log: () => {},
    });
    const c = cluster;
    const writes = 30;
    let answered = 0;
    const appliedDespiteUnavailable: string[] = [];
    for (let round = 0; round < 2; round++) {
      const leader = await c.leader();
      assert.ok(leader !== null, 'a leader');
      // Open (keep-alive) connections: what is queued on them is read as soon as the node resumes, in the same
      // event-loop turn as the new leader's messages.
      await Promise.all(Array.from({ length: writes }, (_, i) => kv.get(c.origin(leader), `warm/${i}`)));
      c.pause(leader);
      await sleep(1500); // several election timeouts: the others elect a new leader
      const pending = Array.from({ length: writes }, (_, i) => {
        const key = `r${round}/k${i}`;
        return kv.put(c.origin(leader), key, 'v').then((answer): [string, OpAnswer] => [key, answer]);
      });
      await sleep(300);
      c.resume(leader);
      const other = c.members.find((m) => m !== leader)!;
      for (const [key, answer] of await Promise.all(pending)) {
        answered++;
        if (answer.kind !== 'failed') continue;
        const read = await kv.get(c.origin(other), key);
        if (read.kind === 'ok' && (read.output as { found: boolean }).found) {
          appliedDespiteUnavailable.push(`${key} (${answer.code}: ${answer.message})`);
        }
      }
      await sleep(500);
    }
    assert.equal(answered, 2 * writes);
    assert.deepEqual(appliedDespiteUnavailable, []);
    await cluster.stop();
    cluster = undefined;
    assert.equal(liveChildCount(), 0);
  });
});
