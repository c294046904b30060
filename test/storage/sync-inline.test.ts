import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { LogStore } from '../../src/storage/log-store.js';
import type { LogStoreOptions } from '../../src/storage/log-store-options.js';
import { CONF, entry, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

/**
 * A store whose commits report whether they were synced on the calling thread. Its disk counts as fast unless a
 * sync takes a second (the default 2 ms would make these tests depend on the machine's disk).
 */
async function openStore(options: Partial<LogStoreOptions> = {}) {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  const inline: boolean[] = [];
  const store = await LogStore.open({
    dir,
    syncInlineMaxMs: 1000,
    ...options,
    onSync: (_ms, _records, _bytes, i) => inline.push(i),
  });
  return { store, dir, inline };
}

test('a small commit is synced on the calling thread: durable before the event loop turns', async () => {
  const { store, dir, inline } = await openStore();
  // The first commit writes the segment's first preallocation of zeros with it: that sync goes to the pool.
  await store.bootstrap(1, CONF);
  assert.deepEqual(inline, [false]);
  await new Promise((resolve) => setImmediate(resolve)); // the commit loop is idle again
  let turned = false;
  setImmediate(() => {
    turned = true;
  });
  const written = store.persist([{ group: 1, entries: [entry(1, 1, 300)] }]);
  store.flush();
  await written;
  assert.equal(turned, false, 'the write was durable (and its promise settled) within the same turn');
  assert.deepEqual(inline, [false, true]);
  assert.equal(store.stats().inlineSyncs, 1);
  assert.equal(store.stats().commits, 2);
  await store.close();
  const reopened = await LogStore.open({ dir });
  assert.deepEqual([...reopened.group(1).entries(1, 2, Number.POSITIVE_INFINITY)[0]!.data], [...entry(1, 1, 300).data]);
  await reopened.close();
});

test('a large commit, or one that extends the preallocation, is synced on the thread pool', async () => {
  const { store, inline } = await openStore({ preallocateBytes: 64 * 1024 });
  await store.bootstrap(1, CONF);
  await store.persist([{ group: 1, entries: [entry(1, 1, 100)] }]);
  await store.persist([{ group: 1, entries: [entry(2, 1, 5000)] }]); // over the 4,096-byte default
  await store.persist([{ group: 1, entries: [entry(3, 1, 100)] }]);
  // Fill the 64 KiB preallocated so far with inline commits, until one extends it.
  let index = 4;
  while (inline.at(-1) === true || index === 4) {
    await store.persist([{ group: 1, entries: [entry(index, 1, 3000)] }]);
    index++;
    assert.ok(index < 100, 'the preallocation was extended within 64 KiB of commits');
  }
  assert.deepEqual(inline.slice(0, 4), [false, true, false, true]);
  assert.equal(inline.at(-1), false, 'the commit that extended the preallocation');
  await store.persist([{ group: 1, entries: [entry(index, 1, 100)] }]);
  assert.equal(inline.at(-1), true, 'and inline again after it');
  await store.close();
});

test('syncInlineMaxBytes 0 never syncs inline; after a slow sync, small commits go to the pool', async () => {
  const never = await openStore({ syncInlineMaxBytes: 0 });
  await never.store.bootstrap(1, CONF);
  for (let i = 1; i <= 3; i++) await never.store.persist([{ group: 1, entries: [entry(i, 1)] }]);
  assert.deepEqual(never.inline, [false, false, false, false]);
  await never.store.close();

  // A slow disk must stall the event loop for one sync at most: the sync that took longer than syncInlineMaxMs
  // (here made slow by testSyncDelayMs) sends the next ones to the pool until one is fast again.
  const { store, inline } = await openStore({ syncInlineMaxMs: 500 });
  await store.bootstrap(1, CONF);
  await store.persist([{ group: 1, entries: [entry(1, 1)] }]);
  store.setTestSyncDelayMs(600);
  await store.persist([{ group: 1, entries: [entry(2, 1)] }]);
  store.setTestSyncDelayMs(0);
  await store.persist([{ group: 1, entries: [entry(3, 1)] }]);
  await store.persist([{ group: 1, entries: [entry(4, 1)] }]);
  assert.deepEqual(inline, [false, true, true, false, true]);
  await store.close();
});

test('syncInlineMaxBytes and syncInlineMaxMs are validated', async () => {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  await assert.rejects(LogStore.open({ dir, syncInlineMaxBytes: -1 }), /syncInlineMaxBytes/);
  await assert.rejects(LogStore.open({ dir, syncInlineMaxMs: Number.NaN }), /syncInlineMaxMs/);
});
