import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { KvStore } from '../../src/kv/store.js';
import type { KvTables } from '../../src/kv/tables.js';
import type { ApplyItem, WatchResponse } from '../../src/kv/types.js';
import { apply, openStore, put, settle, tempDir } from './helpers.js';
import { workload } from './workload.js';

function batches(items: ApplyItem[], size: number): ApplyItem[][] {
  const out: ApplyItem[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

test('two stores applying the same entries in different batches end with identical results and checksums', async () => {
  const items = workload(300);
  const a = await openStore();
  const b = await openStore();
  const resultsA = batches(items, 1).flatMap((batch) => a.applyBatch(batch));
  const resultsB = batches(items, 37).flatMap((batch) => b.applyBatch(batch));
  assert.deepStrictEqual(resultsB, resultsA);
  assert.equal(a.checksum(), b.checksum());
  assert.ok(a.revision > 100);
  apply(b, put('divergence', ''));
  assert.notEqual(a.checksum(), b.checksum());
  await a.close();
  await b.close();
});

test('close and reopen keeps the state, the applied index and the watch history', async () => {
  const dir = tempDir();
  const first = await KvStore.open({ path: dir });
  for (const batch of batches(workload(120), 10)) first.applyBatch(batch);
  const checksum = first.checksum();
  const { appliedIndex, revision, oldestRevision } = first;
  const leases = first.leases();
  await first.close();

  const second = await KvStore.open({ path: dir });
  assert.equal(second.checksum(), checksum);
  assert.deepEqual(
    [second.appliedIndex, second.revision, second.oldestRevision],
    [appliedIndex, revision, oldestRevision],
  );
  assert.equal(second.durableAppliedIndex, appliedIndex);
  assert.deepEqual(second.leases(), leases);
  const seen: WatchResponse[] = [];
  second.watch({ prefix: '' }, 2, (r) => {
    seen.push(r);
  });
  await settle(20);
  assert.deepEqual(
    seen.map((r) => r.revision),
    Array.from({ length: revision - 1 }, (_, i) => i + 2),
    'every revision since the first write is served from the stored history',
  );
  await second.close();
});

test('flush makes the applied index durable', async () => {
  const store = await openStore();
  assert.equal(store.durableAppliedIndex, 0);
  apply(store, put('a', '1'), put('b', '2'));
  assert.equal(store.appliedIndex, 2);
  assert.equal(store.durableAppliedIndex, 0);
  await store.flush();
  assert.equal(store.durableAppliedIndex, 2);
  await store.close();
  await assert.rejects(store.flush(), { code: 'CLOSED' });
});

test('with syncCommits every applied batch is durable at once', async () => {
  const store = await openStore({ syncCommits: true });
  apply(store, put('a', '1'), put('b', '2'));
  assert.equal(store.durableAppliedIndex, 2);
  await store.close();
});

test('after a crash (SIGKILL, no close) the state is consistent at an applied index and the log replay completes it', async () => {
  const dir = tempDir();
  const items = workload(200);
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = `
    const { KvStore } = await import(${JSON.stringify(path.resolve(here, '../../src/kv/store.js'))});
    const { workload } = await import(${JSON.stringify(path.resolve(here, './workload.js'))});
    const items = workload(200);
    const store = await KvStore.open({ path: ${JSON.stringify(dir)} });
    for (let i = 0; i < items.length; i += 7) store.applyBatch(items.slice(i, i + 7));
    process.kill(process.pid, 'SIGKILL');
  `;
  assert.throws(
    () => execFileSync(process.execPath, ['--input-type=module', '-e', child], { stdio: 'pipe' }),
    (error: { signal?: string }) => error.signal === 'SIGKILL',
  );
  const recovered = await KvStore.open({ path: dir });
  assert.ok(recovered.appliedIndex > 0 && recovered.appliedIndex <= items.length);
  // The node replays the log from appliedIndex + 1.
  recovered.applyBatch(items.slice(recovered.appliedIndex));
  const reference = await openStore();
  reference.applyBatch(items);
  assert.equal(recovered.checksum(), reference.checksum());
  await recovered.close();
  await reference.close();
});

test('compacted history is physically deleted in bounded batches', async () => {
  const store = await openStore({ historyDeleteBatchEvents: 5, limits: { historyRetentionRevisions: 1_000 } });
  const tables = () => (store as unknown as { tables: KvTables }).tables;
  for (let i = 0; i < 10; i++) apply(store, ...Array.from({ length: 10 }, (_, j) => put(`k${j}`, `${i}`)));
  assert.equal(store.revision, 101);
  apply(store, { type: 'compact', revision: 90 });
  assert.equal(store.oldestRevision, 90);
  // 88 revisions (2..89) of one event each are now compacted; each batch deletes at most 5 + 2 x new events.
  assert.equal(tables().hasHistoryBefore(90), true);
  let batchesNeeded = 0;
  while (tables().hasHistoryBefore(90)) {
    apply(store, null);
    batchesNeeded++;
    assert.ok(batchesNeeded < 100);
  }
  assert.ok(batchesNeeded >= 10, `deleted in ${batchesNeeded} bounded batches`);
  await assert.rejects(async () => store.watch({ prefix: '' }, 89, () => {}), {
    code: 'COMPACTED',
    oldestRevision: 90,
  });
  await store.close();
});

test('retention deletes history in steps of 1,024 revisions; the events kept meanwhile are never seen', async () => {
  const store = await openStore({ limits: { historyRetentionRevisions: 100 } });
  const reference = await openStore({ limits: { historyRetentionRevisions: 100 } });
  const tables = () => (store as unknown as { tables: KvTables }).tables;
  let deferred = 0;
  let deletions = 0;
  let behind = false;
  for (let i = 0; i < 3000; i++) {
    apply(store, put(`k${i % 7}`, `${i}`));
    const oldest = store.oldestRevision;
    if (oldest > 1024) {
      assert.equal(tables().hasHistoryBefore(oldest - 1024), false, `at most 1,024 revisions kept past ${oldest}`);
    }
    const kept = tables().hasHistoryBefore(oldest);
    if (kept) deferred++;
    else if (behind) deletions++;
    behind = kept;
  }
  assert.ok(deferred > 2000, `deletion deferred in ${deferred} of 3,000 batches`);
  assert.equal(deletions, 2, 'deleted twice: at 1,024 and 2,048 revisions past the first retained one');
  // The extra events are invisible: the same writes applied in other batches give the same checksum, and a
  // watch from before the oldest revision is refused.
  const all = Array.from({ length: 3000 }, (_, i) => put(`k${i % 7}`, `${i}`));
  for (let i = 0; i < all.length; i += 500) apply(reference, ...all.slice(i, i + 500));
  assert.equal(store.oldestRevision, reference.oldestRevision);
  assert.equal(store.checksum(), reference.checksum());
  await assert.rejects(async () => store.watch({ prefix: '' }, store.oldestRevision - 1, () => {}), {
    code: 'COMPACTED',
  });
  await store.close();
  await reference.close();
});

test('leftover environments of an interrupted restore are removed on open; a missing current one is refused', async () => {
  const dir = tempDir();
  const store = await KvStore.open({ path: dir });
  apply(store, put('a', '1'));
  await store.close();
  fs.mkdirSync(path.join(dir, 'env-7'));
  fs.writeFileSync(path.join(dir, 'env-7', 'data.mdb'), 'half a restore');
  const reopened = await KvStore.open({ path: dir });
  assert.equal(fs.existsSync(path.join(dir, 'env-7')), false);
  assert.equal(reopened.get('a')!.version, 1);
  await reopened.close();
  fs.writeFileSync(path.join(dir, 'CURRENT'), 'env-9\n');
  await assert.rejects(KvStore.open({ path: dir }), { code: 'STORAGE_CORRUPT' });
});
