import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LogStore } from '../../src/storage/log-store.js';
import { SeededRandom } from '../../src/util/random.js';
import { CRASH_GROUPS, CRASH_STORE_OPTIONS, crashPayload, crashSnapshotData } from './fixtures/crash-payload.js';
import { tempDir } from './helpers.js';

const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.js', import.meta.url));

interface Acked {
  group: number;
  first: number;
  last: number;
  term: number;
}

/** Runs the writer until it has acknowledged `minAcks` persists, waits `extraMs` more, then kills it with SIGKILL. */
function runAndKill(dir: string, run: number, minAcks: number, extraMs: number): Promise<Acked[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [WRITER, dir, String(run)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    let killScheduled = false;
    const guard = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      output += chunk;
      if (!killScheduled && output.split('\n').length > minAcks) {
        killScheduled = true;
        setTimeout(() => child.kill('SIGKILL'), extraMs);
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(guard);
      if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (code ${code}, signal ${signal})`));
      // Only whole lines count: a line is printed after its persist resolved.
      const lines = output.split('\n').slice(0, -1);
      resolve(
        lines.map((line) => {
          const [group, first, last, term] = line.split(' ').map(Number);
          return { group: group!, first: first!, last: last!, term: term! };
        }),
      );
    });
  });
}

test('kill -9 at random moments: every acknowledged entry survives with its contents', async () => {
  const { dir, cleanup } = tempDir('cairn-crash-');
  const random = new SeededRandom(99);
  const acked: Acked[] = [];
  try {
    for (let run = 1; run <= 6; run++) {
      const got = await runAndKill(dir, run, 5 + random.int(60), random.int(40));
      acked.push(...got);
      const store = await LogStore.open({ dir, ...CRASH_STORE_OPTIONS });
      try {
        for (const group of CRASH_GROUPS) {
          const view = store.group(group);
          const mine = acked.filter((a) => a.group === group);
          const maxAcked = Math.max(0, ...mine.map((a) => a.last));
          assert.ok(
            view.lastIndex() >= maxAcked,
            `run ${run} group ${group}: last ${view.lastIndex()} < acked ${maxAcked}`,
          );
          assert.ok(view.initialState().hardState.commit >= maxAcked, `run ${run} group ${group}: hard state lost`);
          const snapshot = view.snapshot();
          assert.deepEqual(
            [...snapshot.data],
            snapshot.meta.index === 0 ? [] : [...crashSnapshotData(group, snapshot.meta.index)],
          );
          for (const a of mine) {
            const from = Math.max(a.first, view.firstIndex());
            assert.ok(
              a.first >= view.firstIndex() || a.first <= snapshot.meta.index,
              'only compacted entries may be gone',
            );
            if (from > a.last) continue;
            const got = view.entries(from, a.last + 1, Number.MAX_SAFE_INTEGER);
            assert.equal(got.length, a.last + 1 - from);
            for (const e of got) {
              assert.equal(e.term, a.term, `run ${run} group ${group} entry ${e.index}`);
              assert.deepEqual([...e.data], [...crashPayload(group, e.index, a.term)], `entry ${e.index} contents`);
            }
          }
        }
      } finally {
        await store.close();
      }
    }
    assert.ok(acked.length > 30, `the writer made progress (${acked.length} acknowledged persists)`);
  } finally {
    cleanup();
  }
});
