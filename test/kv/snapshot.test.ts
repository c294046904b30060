import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CHUNK_OVERHEAD } from '../../src/kv/snapshot.js';
import { KvStore } from '../../src/kv/store.js';
import type { WatchResponse } from '../../src/kv/types.js';
import { apply, openStore, put, settle, tempDir, text } from './helpers.js';
import { workload } from './workload.js';

async function chunksOf(store: KvStore, chunkBytes?: number): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of store.createSnapshotReader(chunkBytes === undefined ? {} : { chunkBytes }))
    chunks.push(chunk);
  return chunks;
}

async function restore(target: KvStore, chunks: Uint8Array[]) {
  const writer = target.createSnapshotWriter();
  for (const chunk of chunks) writer.write(chunk);
  return writer.finish();
}

/** Re-frames a chunk after its payload was edited, with a valid chunk hash (the documented format). */
function reframe(chunk: Uint8Array): Uint8Array {
  const copy = chunk.slice();
  const digest = createHash('sha256').update(copy.subarray(0, 16)).update(copy.subarray(CHUNK_OVERHEAD)).digest();
  copy.set(digest, 16);
  return copy;
}

test('a snapshot restores into a fresh store with an identical checksum, reads, leases and history', async () => {
  const source = await openStore({ limits: { historyRetentionRevisions: 150 } });
  const items = workload(400);
  source.applyBatch(items.slice(0, 300));
  const chunks = await chunksOf(source, 4096);
  assert.ok(chunks.length > 10);
  for (const chunk of chunks) assert.ok(chunk.length <= 4096, `chunk of ${chunk.length} bytes`);

  const target = await openStore({ limits: { historyRetentionRevisions: 150 } });
  apply(target, put('stale', 'state'));
  const info = await restore(target, chunks);
  assert.deepEqual(info, { appliedIndex: 300, revision: source.revision, oldestRevision: source.oldestRevision });
  assert.equal(target.checksum(), source.checksum());
  assert.equal(target.appliedIndex, 300);
  assert.equal(target.durableAppliedIndex, 300);
  assert.equal(target.get('stale'), null);
  assert.deepEqual(target.range({ start: '' }), source.range({ start: '' }));
  assert.deepEqual(target.leases(), source.leases());

  // Both continue identically from the snapshot's index.
  source.applyBatch(items.slice(300));
  target.applyBatch(items.slice(300));
  assert.equal(target.checksum(), source.checksum());

  // The restored history serves watches from the oldest retained revision.
  const fromSource: WatchResponse[] = [];
  const fromTarget: WatchResponse[] = [];
  source.watch({ prefix: '' }, source.oldestRevision, (r) => void fromSource.push(r));
  target.watch({ prefix: '' }, target.oldestRevision, (r) => void fromTarget.push(r));
  await settle(20);
  assert.ok(fromTarget.length > 100);
  assert.deepStrictEqual(fromTarget, fromSource);
  await source.close();
  await target.close();
});

test('records larger than a chunk are split across chunks; every chunk stays within chunkBytes', async () => {
  const source = await openStore();
  apply(source, put('big', 'x'.repeat(5_000)), put('k'.repeat(4096), 'y'.repeat(3_000)), put('big', 'z'.repeat(4_000)));
  const chunks = await chunksOf(source, 256);
  assert.ok(chunks.every((c) => c.length <= 256));
  const target = await openStore();
  await restore(target, chunks);
  assert.equal(target.checksum(), source.checksum());
  assert.equal(text(target.get('big')!.value), 'z'.repeat(4_000));
  assert.throws(() => source.createSnapshotReader({ chunkBytes: 100 }), { code: 'INVALID_ARGUMENT' });
  await source.close();
  await target.close();
});

test('a reader streams the state as of its creation, whatever is applied meanwhile', async () => {
  const source = await openStore();
  source.applyBatch(workload(100));
  const checksum = source.checksum();
  const reader = source.createSnapshotReader({ chunkBytes: 1024 });
  const first = reader.nextChunk()!;
  apply(source, put('later', '1'), { type: 'deleteRange', prefix: '' });
  const chunks = [first];
  for await (const chunk of reader) chunks.push(chunk);
  const target = await openStore();
  await restore(target, chunks);
  assert.equal(target.checksum(), checksum);
  assert.equal(target.appliedIndex, 100);
  await source.close();
  await target.close();
});

test('corrupted, reordered, forged or truncated streams are refused and the old state stays', async () => {
  const source = await openStore();
  source.applyBatch(workload(120));
  const chunks = await chunksOf(source, 2048);
  const target = await openStore();
  apply(target, put('mine', '1'));
  const before = target.checksum();

  const attempt = async (stream: Uint8Array[]): Promise<string> => {
    const writer = target.createSnapshotWriter();
    try {
      for (const chunk of stream) writer.write(chunk);
      await writer.finish();
      return 'accepted';
    } catch (error) {
      await writer.abort();
      return (error as { code: string }).code;
    }
  };
  const flipped = chunks.map((c, i) => {
    if (i !== 3) return c;
    const copy = c.slice();
    copy[CHUNK_OVERHEAD + 10]! ^= 0xff;
    return copy;
  });
  assert.equal(await attempt(flipped), 'SNAPSHOT_CORRUPT');
  const swapped = [chunks[0]!, chunks[2]!, chunks[1]!, ...chunks.slice(3)];
  assert.equal(await attempt(swapped), 'SNAPSHOT_CORRUPT');
  assert.equal(await attempt(chunks.slice(0, -1)), 'SNAPSHOT_CORRUPT', 'truncated');
  assert.equal(await attempt([...chunks, chunks.at(-1)!]), 'SNAPSHOT_CORRUPT', 'data after the last chunk');
  // A value edited inside the payload, with the chunk hash recomputed: only the whole-state checksum can tell.
  const forged = chunks.map((c, i) => {
    if (i !== chunks.length - 2) return c;
    const copy = c.slice();
    copy[CHUNK_OVERHEAD + Math.floor((copy.length - CHUNK_OVERHEAD) / 2)]! ^= 0x01;
    return reframe(copy);
  });
  assert.equal(await attempt(forged), 'SNAPSHOT_CORRUPT');
  assert.equal(await attempt([new Uint8Array(10)]), 'SNAPSHOT_CORRUPT');

  assert.equal(target.checksum(), before);
  assert.equal(text(target.get('mine')!.value), '1');
  const leftovers = fs.readdirSync((target as unknown as { options: { path: string } }).options.path);
  assert.deepEqual(leftovers.sort(), ['CURRENT', 'env-1'], 'partial restores are deleted');
  assert.equal(await attempt(chunks), 'accepted');
  assert.equal(target.checksum(), source.checksum());
  await source.close();
  await target.close();
});

test('an edited value with valid chunk hashes is caught by the whole-state checksum', async () => {
  const source = await openStore();
  apply(source, put('a', 'x'), put('forge', 'A'.repeat(64)), put('z', 'y'));
  const chunks = await chunksOf(source, 512);
  const pattern = Buffer.from('A'.repeat(64));
  const i = chunks.findIndex((c) => Buffer.from(c).indexOf(pattern) >= 0);
  assert.ok(i >= 0);
  const forged = chunks.slice();
  const copy = chunks[i]!.slice();
  copy[Buffer.from(copy).indexOf(pattern) + 5] = 0x42;
  forged[i] = reframe(copy);
  const target = await openStore();
  const writer = target.createSnapshotWriter();
  assert.throws(
    () => {
      for (const chunk of forged) writer.write(chunk);
    },
    { code: 'SNAPSHOT_CORRUPT', message: /state checksum mismatch/ },
  );
  await writer.abort();
  assert.equal(target.revision, 1);
  await source.close();
  await target.close();
});

test('one restore at a time; a snapshot older than the applied index is stale', async () => {
  const source = await openStore();
  source.applyBatch(workload(20));
  const chunks = await chunksOf(source);
  const target = await openStore();
  target.applyBatch(workload(30));
  const writer = target.createSnapshotWriter();
  assert.throws(() => target.createSnapshotWriter(), { code: 'SNAPSHOT_IN_PROGRESS' });
  for (const chunk of chunks) writer.write(chunk);
  await assert.rejects(writer.finish(), { code: 'SNAPSHOT_STALE' });
  assert.equal(target.appliedIndex, 30);
  const again = target.createSnapshotWriter();
  await again.abort();
  await source.close();
  await target.close();
});

test("watchers keep going across a restore, reading the new state's history", async () => {
  const source = await openStore();
  for (let i = 0; i < 10; i++) apply(source, put(`k${i}`, String(i)));
  const chunks = await chunksOf(source);
  const target = await openStore();
  const seen: number[] = [];
  target.watch({ prefix: '' }, 1, (r) => void seen.push(r.revision));
  await restore(target, chunks);
  await settle(10);
  assert.deepEqual(seen, [2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  apply(target, put('after', ''));
  await settle();
  assert.deepEqual(seen.slice(-1), [12]);
  await source.close();
  await target.close();
});

test('a crash in the middle of a restore leaves the old state usable', async () => {
  const dir = tempDir();
  const before = await KvStore.open({ path: dir });
  apply(before, put('mine', 'old'));
  const checksum = before.checksum();
  await before.close();
  const here = path.dirname(fileURLToPath(import.meta.url));
  const child = `
    const { KvStore } = await import(${JSON.stringify(path.resolve(here, '../../src/kv/store.js'))});
    const { workload } = await import(${JSON.stringify(path.resolve(here, './workload.js'))});
    const source = await KvStore.open({ path: ${JSON.stringify(tempDir())} });
    source.applyBatch(workload(200));
    const chunks = [];
    for await (const chunk of source.createSnapshotReader({ chunkBytes: 1024 })) chunks.push(chunk);
    const target = await KvStore.open({ path: ${JSON.stringify(dir)} });
    const writer = target.createSnapshotWriter();
    for (const chunk of chunks.slice(0, chunks.length / 2)) writer.write(chunk);
    process.kill(process.pid, 'SIGKILL');
  `;
  assert.throws(
    () => execFileSync(process.execPath, ['--input-type=module', '-e', child], { stdio: 'pipe' }),
    (error: { signal?: string }) => error.signal === 'SIGKILL',
  );
  assert.ok(fs.readdirSync(dir).includes('env-2'), 'the crash left a partial restore behind');
  const after = await KvStore.open({ path: dir });
  assert.equal(after.checksum(), checksum);
  assert.equal(text(after.get('mine')!.value), 'old');
  assert.deepEqual(fs.readdirSync(dir).sort(), ['CURRENT', 'env-1']);
  await after.close();
});

test('the restored state survives a restart; readers are aborted by close', async () => {
  const source = await openStore();
  source.applyBatch(workload(50));
  const dir = tempDir();
  const target = await KvStore.open({ path: dir });
  await restore(target, await chunksOf(source));
  await target.close();
  const reopened = await KvStore.open({ path: dir });
  assert.equal(reopened.checksum(), source.checksum());
  assert.equal(reopened.appliedIndex, 50);
  const reader = reopened.createSnapshotReader({ chunkBytes: 512 });
  reader.nextChunk();
  await reopened.close();
  assert.throws(() => reader.nextChunk(), { code: 'SNAPSHOT_ABORTED' });
  await source.close();
});
