import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KeySelector } from '../../src/kv/types.js';
import { apply, openStore, put, text } from './helpers.js';

test('range returns keys in UTF-8 byte order (not UTF-16 order)', async () => {
  const store = await openStore();
  // UTF-16 sorts U+10000 (a surrogate pair, 0xD800...) before U+FFFF; UTF-8 bytes sort it after.
  const keys = ['\u{10000}', '\uffff', 'a', 'B', '\u00e9', 'a\u0000', 'ab'];
  apply(store, ...keys.map((k) => put(k, k)));
  assert.deepEqual(
    store.range({ start: '' }).kvs.map((kv) => kv.key),
    ['B', 'a', 'a\u0000', 'ab', '\u00e9', '\uffff', '\u{10000}'],
  );
  await store.close();
});

test('range with a limit pages with more/nextStart, for start/end and for prefix selectors', async () => {
  const store = await openStore();
  const keys = Array.from({ length: 25 }, (_, i) => `p/${String(i).padStart(2, '0')}`);
  apply(store, put('o', ''), ...keys.map((k) => put(k, k)), put('q', ''));
  const collect = (first: KeySelector, next: (start: string) => KeySelector): string[] => {
    const seen: string[] = [];
    let selector = first;
    for (let pages = 0; pages < 20; pages++) {
      const page = store.range(selector, { limit: 7 });
      assert.ok(page.kvs.length <= 7);
      seen.push(...page.kvs.map((kv) => kv.key));
      if (!page.more) return seen;
      selector = next(page.nextStart!);
    }
    throw new Error('too many pages');
  };
  assert.deepEqual(
    collect({ prefix: 'p/' }, (start) => ({ prefix: 'p/', start })),
    keys,
  );
  assert.deepEqual(
    collect({ start: 'p/', end: 'p0' }, (start) => ({ start, end: 'p0' })),
    keys,
  );
  const last = store.range({ prefix: 'p/' }, { limit: 25 });
  assert.equal(last.more, false);
  assert.equal(last.nextStart, undefined);
  assert.equal(last.revision, store.revision);
  await store.close();
});

test('range keysOnly returns metadata without values; single-key selector', async () => {
  const store = await openStore();
  apply(store, put('a', 'value-a'), put('b', 'value-b'));
  const keysOnly = store.range({ prefix: '' }, { keysOnly: true }).kvs;
  assert.deepEqual(
    keysOnly.map((kv) => [kv.key, kv.value.length, kv.version]),
    [
      ['a', 0, 1],
      ['b', 0, 1],
    ],
  );
  const one = store.range({ key: 'b' }).kvs;
  assert.deepEqual(
    one.map((kv) => text(kv.value)),
    ['value-b'],
  );
  await store.close();
});

test('range stops after rangeMaxBytes but always returns at least one key', async () => {
  const store = await openStore({ rangeMaxBytes: 100 });
  apply(store, put('a', 'x'.repeat(150)), put('b', 'x'.repeat(40)), put('c', 'x'.repeat(40)), put('d', 'x'.repeat(40)));
  const first = store.range({ prefix: '' });
  assert.deepEqual(
    first.kvs.map((kv) => kv.key),
    ['a'],
  );
  assert.equal(first.nextStart, 'b');
  const second = store.range({ start: 'b' });
  assert.deepEqual(
    second.kvs.map((kv) => kv.key),
    ['b', 'c', 'd'].slice(0, second.kvs.length),
  );
  assert.ok(second.kvs.length >= 2 && second.kvs.length <= 3);
  await store.close();
});

test('bad selectors and arguments are refused with INVALID_ARGUMENT', async () => {
  const store = await openStore();
  const bad: unknown[] = [
    {},
    { key: 'a', prefix: 'a' },
    { prefix: 'a', end: 'b' },
    { prefix: 'a', start: 'b' },
    { start: 'a', end: '' },
    null,
  ];
  for (const selector of bad) {
    assert.throws(() => store.range(selector as KeySelector), { code: 'INVALID_ARGUMENT' }, JSON.stringify(selector));
  }
  assert.throws(() => store.range({ prefix: '' }, { limit: -1 }), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => store.range({ key: '' }), { code: 'INVALID_KEY' });
  assert.throws(() => store.get('x'.repeat(4097)), { code: 'KEY_TOO_LARGE' });
  await store.close();
  assert.throws(() => store.get('a'), { code: 'CLOSED' });
});

test('open refuses bad options with INVALID_ARGUMENT', async () => {
  await assert.rejects(openStore({ rangeMaxLimit: 0 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(openStore({ snapshotChunkBytes: 100 }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(openStore({ limits: { maxKeyBytes: 5000 } }), { code: 'INVALID_ARGUMENT' });
  await assert.rejects(openStore({ limits: { leaseMinTtlSeconds: 10, leaseMaxTtlSeconds: 5 } }), {
    code: 'INVALID_ARGUMENT',
  });
  await assert.rejects(openStore({ path: '' }), { code: 'INVALID_ARGUMENT' });
});
