import assert from 'node:assert/strict';
import {
  appendFileSync,
  closeSync,
  existsSync,
  readdirSync,
  readFileSync,
  statSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { crc32 } from 'node:zlib';
import { StorageError } from '../../src/storage/errors.js';
import { LogStore } from '../../src/storage/log-store.js';
import type { LogStoreOptions } from '../../src/storage/log-store-options.js';
import { SeededRandom } from '../../src/util/random.js';
import { CONF, entries, fileDataBytes, nonZeroLength, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

function freshDir(): string {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return dir;
}

function segmentPaths(dir: string): string[] {
  const wal = join(dir, 'wal');
  return readdirSync(wal)
    .filter((f) => f.endsWith('.wal'))
    .sort()
    .map((f) => join(wal, f));
}

function lastSegment(dir: string): string {
  const paths = segmentPaths(dir);
  return paths[paths.length - 1]!;
}

/** Everything a store shows, in plain values, to compare across a restart. */
function fingerprint(store: LogStore): unknown {
  return store.groupIds().map((g) => {
    const view = store.group(g);
    const snapshot = view.snapshot();
    return {
      group: g,
      first: view.firstIndex(),
      last: view.lastIndex(),
      state: view.initialState(),
      snapshot: { meta: snapshot.meta, data: [...snapshot.data] },
      entries: view
        .entries(view.firstIndex(), view.lastIndex() + 1, Number.MAX_SAFE_INTEGER)
        .map((e) => [e.index, e.term, e.type, [...e.data]]),
    };
  });
}

async function assertOpenFails(options: LogStoreOptions, code: string): Promise<void> {
  await assert.rejects(LogStore.open(options), (error: unknown) => {
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.code, code, error.message);
    return true;
  });
}

/** Writes `batches` commits of 4 entries to group 1; returns the file size after each commit. */
async function writeBatches(options: LogStoreOptions, batches: number): Promise<number[]> {
  const store = await LogStore.open(options);
  await store.bootstrap(1, CONF);
  const sizes: number[] = [];
  for (let b = 0; b < batches; b++) {
    await store.persist([
      { group: 1, entries: entries(b * 4 + 1, 4, 1, 50), hardState: { term: 1, vote: 'n1', commit: b } },
    ]);
    sizes.push(store.stats().walBytes);
  }
  await store.close();
  return sizes;
}

test('a restart restores every group, entry, hard state, snapshot and metadata record', async () => {
  const dir = freshDir();
  // Small segments: rotation, segment deletion and group rewrites all happen along the way.
  const options: LogStoreOptions = { dir, segmentMaxBytes: 8192, checkpointSegments: 3, cacheMaxBytes: 4096 };
  const random = new SeededRandom(7);
  const store = await LogStore.open(options);
  const groups = Array.from({ length: 12 }, (_, g) => g + 100);
  await Promise.all(groups.map((g) => store.bootstrap(g, CONF)));
  await store.setMeta('cluster', new Uint8Array([1, 2, 3]));
  for (let round = 0; round < 60; round++) {
    const writes = groups
      .filter(() => random.chance(0.6))
      .map((g) => {
        const view = store.group(g);
        const first = view.lastIndex() + 1 - (random.chance(0.1) ? 1 : 0); // sometimes replace the last entry
        return {
          group: g,
          entries: entries(
            Math.max(view.firstIndex(), first),
            1 + random.int(4),
            1 + Math.floor(round / 10),
            random.int(120),
          ),
          hardState: { term: 1 + Math.floor(round / 10), vote: 'n2', commit: view.lastIndex() },
        };
      });
    await store.persist(writes);
    for (const g of groups) {
      const view = store.group(g);
      if (random.chance(0.05) && view.lastIndex() > view.snapshotMeta().index) {
        await store.createSnapshot(g, view.lastIndex(), CONF, new Uint8Array(random.int(200)).fill(round));
        await store.compact(g, Math.max(0, view.lastIndex() - 3));
      }
    }
  }
  await store.deleteGroup(groups[0]!);
  const before = fingerprint(store);
  const segmentsBefore = store.stats().segments;
  await store.close();

  const reopened = await LogStore.open(options);
  assert.deepEqual(fingerprint(reopened), before);
  assert.deepEqual([...reopened.getMeta('cluster')!], [1, 2, 3]);
  assert.equal(reopened.stats().discardedTailBytes, 0);
  assert.ok(segmentsBefore <= 6, `old segments are deleted (${segmentsBefore} left)`);
  assert.equal(readdirSync(join(dir, 'snap')).length, groups.length - 1 - countEmptySnapshots(reopened));
  await reopened.close();
});

function countEmptySnapshots(store: LogStore): number {
  return store.groupIds().filter((g) => store.group(g).snapshot().data.length === 0).length;
}

test('a torn last commit (cut short at any byte) is discarded and the rest is intact', async () => {
  const dir = freshDir();
  const sizes = await writeBatches({ dir }, 5);
  const [before, full] = [sizes[3]!, sizes[4]!];
  const path = lastSegment(dir);
  const pristine = readFileSync(path);
  for (const cut of [1, 9, 30, (full - before) >> 1, full - before - 1]) {
    const torn = pristine.subarray(0, full - cut);
    writeFileSync(path, torn);
    const store = await LogStore.open({ dir });
    assert.equal(store.group(1).lastIndex(), 16, `cut ${cut}: the last commit is gone`);
    assert.equal(store.group(1).initialState().hardState.commit, 3);
    // Zeros at the very end of the torn bytes read as preallocated space, not as discarded data.
    const discarded = Math.max(before, nonZeroLength(torn)) - before;
    assert.equal(store.stats().discardedTailBytes, discarded);
    if (discarded > 0) assert.equal(statSync(path).size, before, 'the torn tail is truncated away');
    await store.close();
  }
});

test('a garbled tail is discarded; zeros after the last commit are kept as preallocated space', async () => {
  const dir = freshDir();
  const sizes = await writeBatches({ dir }, 3);
  const path = lastSegment(dir);
  const pristine = readFileSync(path);

  const garbled = Buffer.from(pristine);
  for (let i = sizes[2]! - 12; i < sizes[2]!; i++) garbled[i] = 0xa5;
  writeFileSync(path, garbled);
  let store = await LogStore.open({ dir });
  assert.equal(store.group(1).lastIndex(), 8, 'the garbled last commit is dropped');
  assert.equal(statSync(path).size, sizes[1], 'and cut off with the zeros after it');
  await store.close();

  appendFileSync(path, Buffer.alloc(4096));
  store = await LogStore.open({ dir });
  assert.equal(store.group(1).lastIndex(), 8);
  assert.equal(store.stats().discardedTailBytes, 0);
  assert.equal(statSync(path).size, sizes[1]! + 4096, 'zeros are not cut');
  await store.persist([{ group: 1, entries: entries(9, 1, 1) }]);
  await store.close();
  store = await LogStore.open({ dir });
  assert.equal(store.group(1).lastIndex(), 9, 'writing continues over the zeros');
  await store.close();
});

test('the active segment is preallocated with zeros ahead of its data, and cut back when the next one starts', async () => {
  const dir = freshDir();
  const options = { dir, segmentMaxBytes: 16 * 1024, preallocateBytes: 4096 };
  const store = await LogStore.open(options);
  await store.bootstrap(1, CONF);
  for (let b = 0; b < 40; b++) {
    await store.persist([
      { group: 1, entries: entries(b * 4 + 1, 4, 1, 400), hardState: { term: 1, vote: 'n1', commit: 0 } },
    ]);
    const paths = segmentPaths(dir);
    const active = paths[paths.length - 1]!;
    let closedBytes = 0;
    for (const closed of paths.slice(0, -1)) {
      const size = statSync(closed).size;
      // A commit ends with its record count (u32 LE): up to 3 zero bytes. Preallocation would leave thousands.
      assert.ok(size - fileDataBytes(closed) <= 3, `batch ${b}: a closed segment holds data only`);
      closedBytes += size;
    }
    const dataBytes = store.stats().walBytes - closedBytes;
    const fileBytes = statSync(active).size;
    assert.ok(fileBytes >= dataBytes, `batch ${b}: the file holds the data`);
    assert.ok(fileBytes <= Math.max(dataBytes + 4096, 16 * 1024), `batch ${b}: at most one chunk ahead`);
    if (dataBytes < 16 * 1024) assert.ok(fileBytes > dataBytes, `batch ${b}: zeros follow the data`);
  }
  assert.ok(store.stats().segments >= 3, `several segments (${store.stats().segments})`);
  const before = fingerprint(store);
  await store.close();
  const reopened = await LogStore.open(options);
  assert.deepEqual(fingerprint(reopened), before);
  assert.equal(reopened.stats().discardedTailBytes, 0);
  await reopened.close();
});

test('with preallocateBytes 0 the log is appended: files end at their data', async () => {
  const dir = freshDir();
  const sizes = await writeBatches({ dir, preallocateBytes: 0 }, 3);
  assert.equal(statSync(lastSegment(dir)).size, sizes[2]);
});

/** Writes 3 commits of one 2,000-byte entry each (every commit spans whole sectors); returns the data sizes. */
async function writeWideBatches(dir: string): Promise<number[]> {
  const store = await LogStore.open({ dir });
  await store.bootstrap(1, CONF);
  const sizes: number[] = [];
  for (let b = 0; b < 3; b++) {
    await store.persist([{ group: 1, entries: entries(b + 1, 1, 1, 2000) }]);
    sizes.push(store.stats().walBytes);
  }
  await store.close();
  return sizes;
}

test('a commit torn on its way into zeros (a sector missing, its COMMIT intact) is discarded', async () => {
  const dir = freshDir();
  const sizes = await writeWideBatches(dir);
  const path = lastSegment(dir);
  const torn = readFileSync(path);
  const sector = Math.ceil((sizes[1]! + 100) / 512) * 512;
  assert.ok(sector + 512 < sizes[2]! - 30, 'the zeroed sector is before the last COMMIT record');
  torn.fill(0, sector, sector + 512);
  writeFileSync(path, torn);
  const store = await LogStore.open({ dir });
  assert.equal(store.group(1).lastIndex(), 2, 'the unfinished commit is dropped');
  assert.ok(store.stats().discardedTailBytes > 0);
  assert.equal(statSync(path).size, sizes[1], 'its bytes are cut off');
  await store.persist([{ group: 1, entries: entries(3, 1, 1) }]);
  await store.close();
  const reopened = await LogStore.open({ dir });
  assert.equal(reopened.group(1).lastIndex(), 3);
  await reopened.close();
});

test('a flipped bit before the last COMMIT, or zeros in a commit followed by later ones, is CORRUPTED', async () => {
  const dir = freshDir();
  const sizes = await writeWideBatches(dir);
  const path = lastSegment(dir);
  const pristine = readFileSync(path);

  const flipped = Buffer.from(pristine);
  flipped[sizes[1]! + 700] = flipped[sizes[1]! + 700]! ^ 0x04;
  writeFileSync(path, flipped);
  await assertOpenFails({ dir }, 'CORRUPTED');

  const zeroedEarlier = Buffer.from(pristine);
  const sector = Math.ceil((sizes[0]! + 100) / 512) * 512;
  assert.ok(sector + 512 < sizes[1]! - 30);
  zeroedEarlier.fill(0, sector, sector + 512);
  writeFileSync(path, zeroedEarlier);
  await assertOpenFails({ dir }, 'CORRUPTED');

  writeFileSync(path, pristine);
  const store = await LogStore.open({ dir });
  assert.equal(store.group(1).lastIndex(), 3);
  await store.close();
});

test('damage before the last commit is CORRUPTED, never silently dropped', async () => {
  const dir = freshDir();
  const sizes = await writeBatches({ dir }, 4);
  const path = lastSegment(dir);
  const pristine = readFileSync(path);
  // One flipped bit inside the second commit: later commits are intact, so this is not a torn tail.
  const damaged = Buffer.from(pristine);
  const at = sizes[0]! + 40;
  damaged[at] = damaged[at]! ^ 0x01;
  writeFileSync(path, damaged);
  await assertOpenFails({ dir }, 'CORRUPTED');
  writeFileSync(path, pristine);
  const store = await LogStore.open({ dir });
  assert.equal(store.group(1).lastIndex(), 16);
  await store.close();
});

test('damage in an older segment, or a missing segment, is CORRUPTED', async () => {
  const dir = freshDir();
  await writeBatches({ dir, segmentMaxBytes: 1024 }, 12);
  const paths = segmentPaths(dir);
  assert.ok(paths.length >= 3, `several segments (${paths.length})`);
  const middle = paths[1]!;
  const pristine = readFileSync(middle);
  const damaged = Buffer.from(pristine);
  damaged[damaged.length - 5] = damaged[damaged.length - 5]! ^ 0x80;
  writeFileSync(middle, damaged);
  await assertOpenFails({ dir }, 'CORRUPTED');
  writeFileSync(middle, pristine.subarray(0, pristine.length - 3));
  await assertOpenFails({ dir }, 'CORRUPTED');
  unlinkSync(middle);
  await assertOpenFails({ dir }, 'CORRUPTED');
});

test('a segment left header-only by a crash during rotation is removed', async () => {
  const dir = freshDir();
  await writeBatches({ dir }, 2);
  const path = lastSegment(dir);
  const next = join(dir, 'wal', `${'2'.padStart(16, '0')}.wal`);
  writeFileSync(next, readFileSync(path).subarray(0, 20));
  const store = await LogStore.open({ dir });
  assert.equal(store.group(1).lastIndex(), 8);
  assert.equal(existsSync(next), false);
  await store.close();
});

test('a damaged entry read back from the file is CORRUPTED', async () => {
  const dir = freshDir();
  await writeBatches({ dir }, 2);
  const store = await LogStore.open({ dir, cacheMaxBytes: 0 });
  assert.equal(store.group(1).entries(1, 9, Number.MAX_SAFE_INTEGER).length, 8);
  // Entry 6's data is 50 bytes of 0x06; damage it behind the open store's back.
  const path = lastSegment(dir);
  const file = readFileSync(path);
  const at = file.indexOf(Buffer.alloc(50, 6));
  assert.ok(at > 0);
  file[at + 10] = 0x99;
  writeFileSync(path, file);
  assert.throws(
    () => store.group(1).entries(5, 8, Number.MAX_SAFE_INTEGER),
    (e: unknown) => e instanceof StorageError && e.code === 'CORRUPTED',
  );
  assert.equal(store.group(1).entries(1, 5, Number.MAX_SAFE_INTEGER).length, 4);
  await store.close();
});

test('snapshot files are checked: missing is CORRUPTED at open, damaged is CORRUPTED on read', async () => {
  const dir = freshDir();
  let store = await LogStore.open({ dir });
  await store.bootstrap(1, CONF);
  await store.persist([{ group: 1, entries: entries(1, 3, 1) }]);
  await store.createSnapshot(1, 2, CONF, new Uint8Array(100).fill(7));
  await store.close();
  const [file] = readdirSync(join(dir, 'snap'));
  const path = join(dir, 'snap', file!);
  const pristine = readFileSync(path);
  const damaged = Buffer.from(pristine);
  damaged[50] = 8;
  writeFileSync(path, damaged);
  store = await LogStore.open({ dir });
  assert.equal(store.group(1).snapshotMeta().index, 2);
  assert.throws(
    () => store.group(1).snapshot(),
    (e: unknown) => e instanceof StorageError && e.code === 'CORRUPTED',
  );
  await store.close();
  truncateSync(path, 10);
  await assertOpenFails({ dir }, 'CORRUPTED');
  unlinkSync(path);
  await assertOpenFails({ dir }, 'CORRUPTED');
});

test('snapshot files nothing points at (a replaced snapshot, a crash mid-write) are deleted', async () => {
  const dir = freshDir();
  let store = await LogStore.open({ dir });
  await store.bootstrap(1, CONF);
  await store.persist([{ group: 1, entries: entries(1, 5, 1) }]);
  await store.createSnapshot(1, 2, CONF, new Uint8Array([1]));
  await store.createSnapshot(1, 4, CONF, new Uint8Array([2]));
  assert.equal(readdirSync(join(dir, 'snap')).length, 1, 'the replaced snapshot file is deleted');
  await store.close();
  writeFileSync(join(dir, 'snap', '1-9-99-0.snap.tmp'), 'partial');
  store = await LogStore.open({ dir });
  assert.equal(readdirSync(join(dir, 'snap')).length, 1);
  assert.deepEqual([...store.group(1).snapshot().data], [2]);
  await store.deleteGroup(1);
  assert.equal(readdirSync(join(dir, 'snap')).length, 0, 'a deleted group leaves no snapshot file');
  await store.close();
});

test('a segment written by another format version is INCOMPATIBLE_FORMAT', async () => {
  const dir = freshDir();
  await writeBatches({ dir }, 1);
  const path = lastSegment(dir);
  const file = readFileSync(path);
  file.writeUInt32LE(2, 8);
  file.writeUInt32LE(crc32(file.subarray(0, 32)), 32);
  writeFileSync(path, file);
  await assertOpenFails({ dir }, 'INCOMPATIBLE_FORMAT');
});

test('a failed write stops the store (fail-stop): writes reject with IO_ERROR, reads still answer', async () => {
  const dir = freshDir();
  const store = await LogStore.open({ dir });
  await store.bootstrap(1, CONF);
  await store.persist([{ group: 1, entries: entries(1, 2, 1) }]);
  // Fault injection: pull the segment's file descriptor away behind the store's back.
  closeSync((store as unknown as { active: { fd: number } }).active.fd);
  const failed = store.persist([{ group: 1, entries: entries(3, 1, 1) }]);
  const queued = store.persist([{ group: 1, entries: entries(4, 1, 1) }]);
  for (const p of [failed, queued]) {
    await assert.rejects(p, (e: unknown) => e instanceof StorageError && e.code === 'IO_ERROR');
  }
  await assert.rejects(store.setMeta('k', new Uint8Array(1)), (e: unknown) => {
    return e instanceof StorageError && e.code === 'IO_ERROR';
  });
  assert.equal(store.group(1).lastIndex(), 2, 'reads show the durable state');
  (store as unknown as { segmentFds: Map<number, number> }).segmentFds.clear(); // its fd is already closed
  await store.close();
  const reopened = await LogStore.open({ dir });
  assert.equal(reopened.group(1).lastIndex(), 2);
  await reopened.close();
});
