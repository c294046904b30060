import assert from 'node:assert/strict';
import { test } from 'node:test';
import { KvError } from '../../src/kv/errors.js';
import type { KeySelector, WatchResponse } from '../../src/kv/types.js';
import { SeededRandom } from '../../src/util/random.js';
import { apply, del, openStore, put, settle, text } from './helpers.js';

function collector(): { responses: WatchResponse[]; listener: (r: WatchResponse) => void } {
  const responses: WatchResponse[] = [];
  return { responses, listener: (r) => void responses.push(r) };
}

const revisions = (responses: WatchResponse[]) => responses.map((r) => r.revision);
const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

test('a watch delivers each revision as one group, after applyBatch returns, with put and delete events', async () => {
  const store = await openStore();
  const { responses, listener } = collector();
  store.watch({ prefix: 'app/' }, undefined, listener);
  apply(store, {
    type: 'txn',
    compare: [],
    success: [
      put('app/a', '1') as never,
      put('other', 'x') as never,
      put('app/b', '2') as never,
      put('app/c', '3') as never,
    ],
    failure: [],
  });
  assert.equal(responses.length, 0, 'listeners never run inside applyBatch');
  await settle();
  assert.equal(responses.length, 1);
  assert.equal(responses[0]!.revision, 2);
  assert.deepEqual(
    responses[0]!.events.map((e) => [e.type, e.key, text(e.value), e.modRevision, e.version]),
    [
      ['put', 'app/a', '1', 2, 1],
      ['put', 'app/b', '2', 2, 1],
      ['put', 'app/c', '3', 2, 1],
    ],
  );
  apply(store, del('app/b'), put('other', 'y'), put('app/a', '11'));
  await settle();
  assert.deepEqual(revisions(responses), [2, 3, 5]);
  const deleteEvent = responses[1]!.events[0]!;
  assert.deepEqual(
    { ...deleteEvent, value: deleteEvent.value.length },
    { type: 'delete', key: 'app/b', value: 0, createRevision: 0, modRevision: 3, version: 0, lease: 0 },
  );
  const update = responses[2]!.events[0]!;
  assert.deepEqual([update.createRevision, update.modRevision, update.version], [2, 5, 2]);
  await store.close();
});

test('prevKv adds the previous key-value to events', async () => {
  const store = await openStore();
  apply(store, put('k', 'old'));
  const { responses, listener } = collector();
  store.watch({ key: 'k' }, undefined, listener, { prevKv: true });
  apply(store, put('k', 'new'), del('k'), put('k', 'fresh'));
  await settle();
  const [update, removal, create] = responses.map((r) => r.events[0]!);
  assert.equal(text(update!.prevKv!.value), 'old');
  assert.equal(update!.prevKv!.version, 1);
  assert.equal(text(removal!.prevKv!.value), 'new');
  assert.equal(create!.prevKv, undefined, 'no previous key-value when the key did not exist');
  await store.close();
});

test('selectors: a key, a prefix, a start/end range', async () => {
  const store = await openStore();
  const byKey = collector();
  const byPrefix = collector();
  const byRange = collector();
  store.watch({ key: 'b' }, undefined, byKey.listener);
  store.watch({ prefix: 'b' }, undefined, byPrefix.listener);
  store.watch({ start: 'b', end: 'c' }, undefined, byRange.listener);
  apply(store, put('a', ''), put('b', ''), put('ba', ''), put('bz', ''), put('c', ''), put('b', ''));
  await settle();
  assert.deepEqual(revisions(byKey.responses), [3, 7]);
  assert.deepEqual(revisions(byPrefix.responses), [3, 4, 5, 7]);
  assert.deepEqual(revisions(byRange.responses), [3, 4, 5, 7]);
  await store.close();
});

test('a watch from a past revision replays the stored history, then continues live without gaps or duplicates', async () => {
  const store = await openStore();
  for (let i = 0; i < 50; i++) apply(store, put(`k${i % 5}`, String(i)));
  const { responses, listener } = collector();
  store.watch({ prefix: '' }, 10, listener);
  for (let i = 0; i < 50; i++) {
    apply(store, put(`k${i % 5}`, `live${i}`));
    if (i % 7 === 0) await settle(1);
  }
  await settle(20);
  assert.deepEqual(revisions(responses), range(10, 101));
  await store.close();
});

test('a watch from a compacted revision fails with COMPACTED and the oldest available revision', async () => {
  const store = await openStore({ limits: { historyRetentionRevisions: 5 } });
  for (let i = 0; i < 20; i++) apply(store, put('k', String(i)));
  assert.equal(store.oldestRevision, 17);
  assert.throws(
    () => store.watch({ prefix: '' }, 16, () => {}),
    (e: unknown) => e instanceof KvError && e.code === 'COMPACTED' && e.oldestRevision === 17,
  );
  const { responses, listener } = collector();
  store.watch({ prefix: '' }, 17, listener);
  await settle();
  assert.deepEqual(revisions(responses), [17, 18, 19, 20, 21]);
  await store.close();
});

test('a watch from a future revision waits for it', async () => {
  const store = await openStore();
  const { responses, listener } = collector();
  store.watch({ prefix: '' }, 6, listener);
  await settle();
  for (let i = 0; i < 8; i++) apply(store, put('k', String(i)));
  await settle();
  assert.deepEqual(revisions(responses), [6, 7, 8, 9]);
  await store.close();
});

test('a slow listener neither blocks apply nor buffers without bound, and still gets every revision in order', async () => {
  const store = await openStore({ watchBufferMaxBytes: 2_000 });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const seen: number[] = [];
  const watcher = store.watch({ prefix: '' }, undefined, async (r) => {
    seen.push(r.revision);
    if (seen.length === 1) await gate;
  });
  const internals = watcher as unknown as { bufferBytes: number; mode: string };
  let maxBuffered = 0;
  for (let i = 0; i < 300; i++) {
    apply(store, put(`key-${i % 10}`, 'v'.repeat(100)));
    maxBuffered = Math.max(maxBuffered, internals.bufferBytes);
    await settle(1);
  }
  assert.equal(seen.length, 1, 'the listener is still stuck on the first revision');
  assert.ok(maxBuffered <= 2_000, `buffered ${maxBuffered} bytes`);
  assert.equal(internals.mode, 'catchUp', 'it fell back to reading the stored history');
  release();
  await settle(50);
  assert.deepEqual(seen, range(2, 301));
  assert.equal(internals.mode, 'live');
  apply(store, put('after', ''));
  await settle();
  assert.deepEqual(seen.slice(-1), [302]);
  await store.close();
});

test('a listener that falls behind the retained history is cancelled with COMPACTED', async () => {
  const store = await openStore({ watchBufferMaxBytes: 500, limits: { historyRetentionRevisions: 20 } });
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  let calls = 0;
  const watcher = store.watch({ prefix: '' }, undefined, async () => {
    calls++;
    await gate;
  });
  apply(store, put('k', 'first'));
  await settle();
  assert.equal(calls, 1, 'stuck in the first delivery');
  for (let i = 0; i < 100; i++) apply(store, put('k', 'x'.repeat(50)));
  await settle();
  release();
  const ending = await watcher.done;
  assert.equal(ending?.code, 'COMPACTED');
  assert.equal(ending?.oldestRevision, store.oldestRevision);
  assert.equal(calls, 1);
  await store.close();
});

test('cancel stops deliveries; a throwing listener ends its watcher; close ends all with CLOSED', async () => {
  const store = await openStore();
  const cancelled = collector();
  const w1 = store.watch({ prefix: '' }, undefined, cancelled.listener);
  const w2 = store.watch({ prefix: '' }, undefined, () => {
    throw new Error('boom');
  });
  const w3 = store.watch({ prefix: '' }, undefined, () => {});
  apply(store, put('a', ''));
  await settle();
  w1.cancel();
  w1.cancel();
  apply(store, put('b', ''));
  await settle();
  assert.deepEqual(revisions(cancelled.responses), [2]);
  assert.equal(await w1.done, null);
  const failure = await w2.done;
  assert.equal(failure?.code, 'WATCH_LISTENER_FAILED');
  assert.equal((failure!.cause as Error).message, 'boom');
  await store.close();
  assert.equal((await w3.done)?.code, 'CLOSED');
});

test('events too large to keep in memory are read from the stored history instead', async () => {
  const store = await openStore({ watchPublishMaxBytes: 300 });
  const { responses, listener } = collector();
  store.watch({ prefix: '' }, undefined, listener);
  apply(store, ...Array.from({ length: 20 }, (_, i) => put(`k${i}`, 'x'.repeat(60))));
  await settle(10);
  assert.deepEqual(revisions(responses), range(2, 21));
  assert.ok(responses.every((r) => r.events.length === 1 && r.events[0]!.value.length === 60));
  await store.close();
});

test('maxWatchers bounds the number of watchers', async () => {
  const store = await openStore({ maxWatchers: 2 });
  const a = store.watch({ prefix: '' }, undefined, () => {});
  store.watch({ prefix: '' }, undefined, () => {});
  assert.throws(() => store.watch({ prefix: '' }, undefined, () => {}), { code: 'TOO_MANY_WATCHERS' });
  a.cancel();
  store.watch({ prefix: '' }, undefined, () => {});
  assert.throws(() => store.watch({ prefix: '' }, -1, () => {}), { code: 'INVALID_ARGUMENT' });
  await store.close();
});

/** The expected responses of a selector, derived from a complete, unfiltered stream. */
function filtered(all: WatchResponse[], selector: KeySelector, from: number): WatchResponse[] {
  const probe = (key: string): boolean => {
    if ('key' in selector) return key === selector.key;
    if ('prefix' in selector) return key.startsWith(selector.prefix);
    return key >= selector.start && (selector.end === undefined || key < selector.end);
  };
  return all
    .filter((r) => r.revision >= from)
    .map((r) => ({ revision: r.revision, events: r.events.filter((e) => probe(e.key)) }))
    .filter((r) => r.events.length > 0);
}

test('seeded random schedule: watchers of different speeds and selectors all see exactly their events', async () => {
  for (const seed of [1, 2, 3]) {
    const random = new SeededRandom(seed);
    const store = await openStore({ watchBufferMaxBytes: 600, watchCatchUpMaxBytes: 400 });
    const all = collector();
    store.watch({ prefix: '' }, undefined, all.listener);
    const keys = ['a', 'ab', 'b', 'ba', 'c'];
    const selectors: KeySelector[] = [{ prefix: 'a' }, { key: 'b' }, { start: 'ab', end: 'c' }, { prefix: '' }];
    const watchers: { selector: KeySelector; from: number; got: WatchResponse[] }[] = [];
    const writtenRevisions = new Set<number>();
    for (let step = 0; step < 250; step++) {
      const roll = random.int(10);
      if (roll < 6) {
        const key = keys[random.int(keys.length)]!;
        const command =
          roll < 4
            ? put(key, 'v'.repeat(random.int(80)))
            : roll === 4
              ? del(key)
              : { type: 'deleteRange' as const, prefix: keys[random.int(keys.length)]! };
        for (const r of apply(store, command)) if (r.ok && r.type !== 'noop') writtenRevisions.add(r.revision);
      } else if (roll === 6 && watchers.length < 8) {
        const selector = selectors[random.int(selectors.length)]!;
        const from = Math.max(1, store.revision + 1 - random.int(30));
        const got: WatchResponse[] = [];
        const delay = random.int(4);
        store.watch(selector, from, async (r) => {
          got.push(r);
          if (delay > 0) await settle(delay);
        });
        watchers.push({ selector, from, got });
      } else {
        await settle(random.int(3));
      }
    }
    await settle(400);
    const allRevisions = revisions(all.responses);
    assert.deepEqual(
      allRevisions,
      [...writtenRevisions].sort((x, y) => x - y).filter((r) => r >= 2),
    );
    assert.deepEqual(allRevisions, range(2, store.revision), `seed ${seed}: no gaps`);
    // Sessions started later replay history; reconstruct the complete stream from the start to compare.
    const complete: WatchResponse[] = [];
    store.watch({ prefix: '' }, 1, (r) => void complete.push(r));
    await settle(50);
    for (const w of watchers) {
      const normalize = (rs: WatchResponse[]) =>
        rs.map((r) => ({ revision: r.revision, events: r.events.map((e) => [e.type, e.key, e.modRevision]) }));
      assert.deepEqual(normalize(w.got), normalize(filtered(complete, w.selector, w.from)), `seed ${seed}`);
    }
    await store.close();
  }
});
