import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { LogCompactedError, LogUnavailableError } from '../../src/consensus/errors.js';
import { StorageError, type StorageErrorCode } from '../../src/storage/errors.js';
import { LogStore } from '../../src/storage/log-store.js';
import type { LogStoreOptions } from '../../src/storage/log-store-options.js';
import { CONF, entries, entry, fileDataBytes, tempDir } from './helpers.js';

const cleanups: (() => void)[] = [];
after(() => {
  for (const c of cleanups) c();
});

async function openStore(options: Partial<LogStoreOptions> = {}): Promise<{ store: LogStore; dir: string }> {
  const { dir, cleanup } = tempDir();
  cleanups.push(cleanup);
  return { store: await LogStore.open({ dir, ...options }), dir };
}

async function rejectsWith(promise: Promise<unknown>, code: StorageErrorCode): Promise<void> {
  await assert.rejects(promise, (error: unknown) => {
    assert.ok(error instanceof StorageError, `expected a StorageError, got ${String(error)}`);
    assert.equal(error.code, code);
    return true;
  });
}

test('groups are isolated: each has its own log, hard state and snapshot', async () => {
  const { store } = await openStore();
  await Promise.all([store.bootstrap(1, CONF), store.bootstrap(2, CONF), store.bootstrap(3, CONF)]);
  await store.persist([
    { group: 1, entries: entries(1, 5, 1), hardState: { term: 1, vote: 'n1', commit: 3 } },
    { group: 2, entries: entries(1, 2, 4), hardState: { term: 4, vote: null, commit: 0 } },
  ]);
  await store.createSnapshot(1, 4, CONF, new Uint8Array([1, 2, 3]));
  await store.compact(1, 3);
  await store.persist([{ group: 2, entries: [entry(2, 5)] }]);

  const [g1, g2, g3] = [store.group(1), store.group(2), store.group(3)];
  assert.deepEqual([g1.firstIndex(), g1.lastIndex(), g1.snapshotMeta().index], [4, 5, 4]);
  assert.deepEqual([g2.firstIndex(), g2.lastIndex(), g2.term(1), g2.term(2)], [1, 2, 4, 5]);
  assert.deepEqual([g3.firstIndex(), g3.lastIndex()], [1, 0]);
  assert.deepEqual(g1.initialState().hardState, { term: 1, vote: 'n1', commit: 3 });
  assert.deepEqual(g2.initialState().hardState, { term: 4, vote: null, commit: 0 });
  assert.equal(g2.snapshotMeta().index, 0);
  assert.deepEqual([...g1.snapshot().data], [1, 2, 3]);
  assert.equal(g2.snapshot().data.length, 0);
  assert.throws(() => g1.term(2), LogCompactedError);
  assert.throws(() => g3.term(1), LogUnavailableError);

  await store.deleteGroup(2);
  assert.deepEqual(store.groupIds(), [1, 3]);
  assert.throws(
    () => g2.lastIndex(),
    (e: unknown) => e instanceof StorageError && e.code === 'GROUP_NOT_FOUND',
  );
  await rejectsWith(store.persist([{ group: 2, entries: [entry(1, 1)] }]), 'GROUP_NOT_FOUND');
  await store.bootstrap(2, CONF);
  assert.equal(store.group(2).lastIndex(), 0, 'a re-created group starts empty');
  await store.close();
});

test('group commit: every write issued in one turn, across groups, shares one sync', async () => {
  const syncs: { records: number; bytes: number }[] = [];
  const { store } = await openStore({ onSync: (_ms, records, bytes) => syncs.push({ records, bytes }) });
  const groups = Array.from({ length: 50 }, (_, g) => g);
  await Promise.all(groups.map((g) => store.bootstrap(g, CONF)));
  assert.equal(syncs.length, 1, 'fifty bootstraps in one turn: one commit');

  syncs.length = 0;
  const writes: Promise<void>[] = [];
  for (const g of groups) {
    writes.push(
      store.persist([{ group: g, entries: entries(1, 3, 1), hardState: { term: 1, vote: 'n1', commit: 0 } }]),
    );
    writes.push(store.setMeta(`m${g}`, new Uint8Array([g])));
  }
  writes.push(store.compact(0, 0));
  await Promise.all(writes);
  assert.equal(syncs.length, 1, 'one sync for 101 calls');
  assert.equal(syncs[0]!.records, 50 * 3 + 1);
  for (const g of groups) assert.equal(store.group(g).lastIndex(), 3);

  // Writes issued while a commit is being synced wait for it and then share the next one. Two event-loop
  // turns after `first`, its commit has certainly started.
  syncs.length = 0;
  const first = store.persist([{ group: 0, entries: [entry(4, 1)] }]);
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  const later = groups.slice(1).map((g) => store.persist([{ group: g, entries: [entry(4, 1)] }]));
  await Promise.all([first, ...later]);
  assert.equal(syncs.length, 2);
  await store.close();
});

test('a write is visible only once its promise resolves, and resolves only after the sync', async () => {
  const events: string[] = [];
  const { store } = await openStore({ onSync: () => events.push('sync') });
  await store.bootstrap(1, CONF);
  const view = store.group(1);
  const pending = store.persist([
    { group: 1, entries: entries(1, 3, 1), hardState: { term: 1, vote: null, commit: 2 } },
  ]);
  assert.equal(view.lastIndex(), 0, 'not visible before it is durable');
  assert.deepEqual(view.initialState().hardState, { term: 0, vote: null, commit: 0 });
  events.length = 0;
  await pending.then(() => events.push('resolved'));
  assert.deepEqual(events, ['sync', 'resolved']);
  assert.equal(view.lastIndex(), 3);
  assert.equal(view.initialState().hardState.commit, 2);
  await store.close();
});

test('pipelined writes are validated against the writes queued before them', async () => {
  const { store } = await openStore();
  await store.bootstrap(1, CONF);
  const a = store.persist([{ group: 1, entries: entries(1, 3, 1) }]);
  const b = store.persist([{ group: 1, entries: entries(4, 2, 1) }]); // continues the queued append
  const c = store.persist([{ group: 1, entries: [entry(8, 1)] }]).catch((error: unknown) => error); // a gap
  const d = store.createSnapshot(1, 5, CONF, new Uint8Array([5]));
  const e = store.compact(1, 5);
  await Promise.all([a, b, d, e]);
  const refused = await c;
  assert.ok(refused instanceof StorageError && refused.code === 'INVALID_ARGUMENT', String(refused));
  const view = store.group(1);
  assert.deepEqual([view.firstIndex(), view.lastIndex(), view.snapshotMeta().index], [6, 5, 5]);
  await store.close();
});

test('metadata records survive a restart', async () => {
  const { store, dir } = await openStore();
  await store.setMeta('clusterId', new TextEncoder().encode('c-42'));
  await store.setMeta('engine', new TextEncoder().encode('raft'));
  await store.setMeta('engine', new TextEncoder().encode('paxos'));
  assert.equal(new TextDecoder().decode(store.getMeta('engine')), 'paxos');
  assert.equal(store.getMeta('missing'), undefined);
  await store.close();
  const reopened = await LogStore.open({ dir });
  assert.equal(new TextDecoder().decode(reopened.getMeta('clusterId')), 'c-42');
  assert.equal(new TextDecoder().decode(reopened.getMeta('engine')), 'paxos');
  await reopened.close();
});

test('limits and bad input give StorageErrors with stable codes and write nothing', async () => {
  const { store, dir } = await openStore({
    maxEntryBytes: 100,
    maxPersistEntries: 10,
    maxSnapshotBytes: 50,
    maxMetaValueBytes: 8,
  });
  await store.bootstrap(1, CONF);
  await rejectsWith(store.bootstrap(1, CONF), 'GROUP_EXISTS');
  await rejectsWith(store.persist([{ group: 1, entries: [entry(1, 1, 101)] }]), 'ENTRY_TOO_LARGE');
  await rejectsWith(store.persist([{ group: 1, entries: entries(1, 11, 1) }]), 'BATCH_TOO_LARGE');
  await rejectsWith(store.persist([{ group: 1, entries: [entry(1, 1), entry(3, 1)] }]), 'INVALID_ARGUMENT');
  await rejectsWith(store.persist([{ group: 1, entries: [entry(2, 1)] }]), 'INVALID_ARGUMENT');
  await rejectsWith(store.persist([{ group: -1, entries: [] }]), 'INVALID_ARGUMENT');
  await rejectsWith(store.persist([{ group: 9, hardState: { term: 1, vote: null, commit: 0 } }]), 'GROUP_NOT_FOUND');
  await rejectsWith(store.persist([{ group: 1, hardState: { term: -1, vote: null, commit: 0 } }]), 'INVALID_ARGUMENT');
  await rejectsWith(store.createSnapshot(1, 0, CONF, new Uint8Array(51)), 'SNAPSHOT_TOO_LARGE');
  await rejectsWith(store.compact(1, 1), 'INVALID_ARGUMENT');
  await rejectsWith(store.setMeta('k', new Uint8Array(9)), 'META_TOO_LARGE');
  await rejectsWith(store.setMeta('', new Uint8Array(1)), 'INVALID_ARGUMENT');
  // All or nothing: the valid part of a refused call is not written either.
  await rejectsWith(
    store.persist([
      { group: 1, entries: [entry(1, 1)] },
      { group: 9, entries: [entry(1, 1)] },
    ]),
    'GROUP_NOT_FOUND',
  );
  await assert.rejects(store.createSnapshot(1, 3, CONF, new Uint8Array()), LogUnavailableError);
  assert.equal(store.group(1).lastIndex(), 0);
  await assert.rejects(LogStore.open({ dir }), (e: unknown) => e instanceof StorageError && e.code === 'LOCKED');
  await assert.rejects(LogStore.open({ dir, segmentMaxBytes: 10 }), (e: unknown) => {
    return e instanceof StorageError && e.code === 'INVALID_ARGUMENT';
  });
  await store.close();
  await rejectsWith(store.persist([{ group: 1, entries: [entry(1, 1)] }]), 'CLOSED');
  assert.throws(
    () => store.group(1).lastIndex(),
    (e: unknown) => e instanceof StorageError && e.code === 'CLOSED',
  );
});

test('QUEUE_FULL once too many bytes wait for the disk; a lone large write is still accepted', async () => {
  const { store } = await openStore({ maxPendingBytes: 1000 });
  await store.bootstrap(1, CONF);
  const big = store.persist([{ group: 1, entries: [entry(1, 1, 2000)] }]);
  await rejectsWith(store.persist([{ group: 1, entries: [entry(2, 1, 10)] }]), 'QUEUE_FULL');
  await big;
  await store.persist([{ group: 1, entries: [entry(2, 1, 10)] }]);
  assert.equal(store.group(1).lastIndex(), 2);
  await store.close();
});

test('onSync reports every commit, and testSyncDelayMs slows each sync down', async () => {
  const durations: number[] = [];
  const { store } = await openStore({ testSyncDelayMs: 30, onSync: (ms) => durations.push(ms) });
  await store.bootstrap(1, CONF);
  await store.persist([{ group: 1, entries: [entry(1, 1)] }]);
  store.setTestSyncDelayMs(0);
  await store.persist([{ group: 1, entries: [entry(2, 1)] }]);
  assert.equal(durations.length, 3);
  // Timers may fire up to a millisecond early; the bound only proves the delay is applied.
  assert.ok(durations[0]! >= 29 && durations[1]! >= 29, `delayed syncs took ${durations.join(', ')} ms`);
  assert.ok(durations.every((d) => d >= 0));
  await store.close();
});

test('entries() reads the same from memory and from the files, within the byte limit', async () => {
  const cached = await openStore();
  const uncached = await openStore({ cacheMaxBytes: 0 });
  for (const { store } of [cached, uncached]) {
    await store.bootstrap(1, CONF);
    // Interleave two groups so the entries of group 1 are not contiguous in the file.
    await store.bootstrap(2, CONF);
    for (let i = 1; i <= 40; i += 4) {
      await Promise.all([
        store.persist([{ group: 1, entries: entries(i, 4, 1, 20) }]),
        store.persist([{ group: 2, entries: entries(i, 4, 1, 3) }]),
      ]);
    }
  }
  const a = cached.store.group(1);
  const b = uncached.store.group(1);
  for (const [lo, hi, max] of [
    [1, 41, Number.MAX_SAFE_INTEGER],
    [5, 20, 100],
    [3, 4, 0],
    [10, 40, 44 * 3],
  ] as const) {
    const fromMemory = a.entries(lo, hi, max);
    const fromFile = b.entries(lo, hi, max);
    assert.deepEqual(
      fromFile.map((e) => [e.index, e.term, [...e.data]]),
      fromMemory.map((e) => [e.index, e.term, [...e.data]]),
    );
  }
  assert.equal(a.entries(1, 41, 44 * 3).length, 3, 'each entry counts data + 24 bytes');
  assert.equal(a.entries(1, 41, 0).length, 1, 'at least one entry');
  assert.equal(uncached.store.stats().cacheBytes, 0);
  await cached.store.close();
  await uncached.store.close();
});

test('flush() starts the commit of what is queued at once; later writes of the same run join the next commit', async () => {
  const syncs: number[] = [];
  const { store, dir } = await openStore({ onSync: (_ms, records) => syncs.push(records) });
  await store.bootstrap(1, CONF);
  await store.bootstrap(2, CONF);
  // Let the commit loop finish its housekeeping and go idle.
  for (let i = 0; i < 3; i++) await new Promise((resolve) => setImmediate(resolve));
  syncs.length = 0;
  const walDir = join(dir, 'wal');
  const segment = join(walDir, readdirSync(walDir).find((f) => f.endsWith('.wal'))!);
  const before = fileDataBytes(segment);

  const first = store.persist([{ group: 1, entries: entries(1, 2, 1), hardState: { term: 1, vote: 'n1', commit: 0 } }]);
  assert.equal(fileDataBytes(segment), before, 'without flush() nothing is written before the microtask');
  store.flush();
  const written = fileDataBytes(segment);
  assert.ok(written > before, 'flush() wrote the commit before returning');
  const second = store.persist([{ group: 2, entries: entries(1, 1, 1) }]);
  store.flush(); // a commit is in flight: no effect, the write waits for the next one
  assert.equal(fileDataBytes(segment), written);
  const order: string[] = [];
  await Promise.all([first.then(() => order.push('first')), second.then(() => order.push('second'))]);
  assert.deepEqual(order, ['first', 'second']);
  assert.deepEqual(syncs, [2, 1], 'two commits: the flushed one, then the write issued after it');
  assert.deepEqual([store.group(1).lastIndex(), store.group(2).lastIndex()], [2, 1]);

  store.flush(); // nothing queued: nothing happens
  assert.equal(syncs.length, 2);
  await store.close();
  const reopened = await LogStore.open({ dir });
  assert.deepEqual([reopened.group(1).lastIndex(), reopened.group(2).lastIndex()], [2, 1], 'both durable');
  await reopened.close();
});

test('flush() with the queue already taken, or on a failed or closed store, changes nothing', async () => {
  const { store } = await openStore();
  await store.bootstrap(1, CONF);
  const a = store.persist([{ group: 1, entries: entries(1, 1, 1) }]);
  store.flush();
  store.flush();
  await a;
  await store.close();
  store.flush();
  await rejectsWith(store.persist([{ group: 1, entries: entries(2, 2, 1) }]), 'CLOSED');
});
