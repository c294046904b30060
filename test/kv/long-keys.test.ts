import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import fc from 'fast-check';
import { compareBytes } from '../../src/kv/bytes.js';
import { KvTables, SHORT_KEY_MAX } from '../../src/kv/tables.js';
import { apply, del, openStore, put, tempDir, text } from './helpers.js';

const enc = new TextEncoder();
const byteLength = (s: string) => enc.encode(s).length;
const byBytes = (a: string, b: string) => compareBytes(enc.encode(a), enc.encode(b));

test('keys of up to 4096 bytes work and sort by bytes around the 4000-byte layout boundary', async () => {
  const store = await openStore();
  const base = 'k'.repeat(3999);
  const keys = [
    base, // 3999 bytes: short
    `${base}a`, // 4000: the longest short key
    `${base}a\u0000`, // 4001: long, in the group of prefix base+'a'
    `${base}aa`,
    `${base}a${'z'.repeat(96)}`, // 4096
    `${base}b`,
    `${base}\u00e9`, // a 2-byte character straddling the boundary
    `${base}\u00e9x`,
    `${base}\u00e8${'q'.repeat(95)}`,
    'k'.repeat(4096),
    'l',
  ];
  for (const k of keys) assert.ok(byteLength(k) <= 4096);
  apply(store, ...keys.map((k) => put(k, `v${byteLength(k)}`)));
  assert.deepEqual(
    store.range({ start: '' }).kvs.map((kv) => kv.key),
    [...keys].sort(byBytes),
  );
  for (const k of keys) assert.equal(text(store.get(k)!.value), `v${byteLength(k)}`);
  // Ranges whose bounds are long keys.
  const from = `${base}a\u0000`;
  const to = `${base}b`;
  assert.deepEqual(
    store.range({ start: from, end: to }).kvs.map((kv) => kv.key),
    keys.filter((k) => byBytes(k, from) >= 0 && byBytes(k, to) < 0).sort(byBytes),
  );
  assert.deepEqual(
    store.range({ prefix: `${base}a` }).kvs.map((kv) => kv.key),
    keys.filter((k) => k.startsWith(`${base}a`)).sort(byBytes),
  );
  assert.throws(() => store.get('k'.repeat(4097)), { code: 'KEY_TOO_LARGE' });
  // Versions and deletes of long keys.
  apply(store, put('k'.repeat(4096), 'again'), del(`${base}aa`));
  assert.equal(store.get('k'.repeat(4096))!.version, 2);
  assert.equal(store.get(`${base}aa`), null);
  await store.close();
});

test('group markers are counted and removed with their last long key', async () => {
  const tables = KvTables.open(path.join(tempDir(), 'env'));
  const prefix = 'p'.repeat(SHORT_KEY_MAX);
  const long = ['a', 'b', 'c'].map((s) => enc.encode(prefix + s));
  const record = { createRevision: 2, modRevision: 2, version: 1, lease: 0, value: new Uint8Array([1]) };
  const physicalKeys = () => [...(tables as unknown as { kv: { getKeys(): Iterable<Uint8Array> } }).kv.getKeys()];
  tables.write(() => {
    for (const k of long) tables.putRecord(k, record, false);
    tables.putRecord(long[0]!, record, true); // an overwrite does not count twice
  });
  assert.equal(physicalKeys().length, 1, 'one group marker');
  tables.write(() => {
    tables.deleteRecord(long[0]!);
    tables.deleteRecord(long[1]!);
  });
  assert.equal(physicalKeys().length, 1);
  assert.equal([...tables.scan({ start: new Uint8Array(0), end: null })].length, 1);
  tables.write(() => tables.deleteRecord(long[2]!));
  assert.equal(physicalKeys().length, 0, 'the marker went with the last member');
  await tables.close();
});

test('property: mixed short and long keys scan in byte order, page correctly and honour bounds', async () => {
  const bases = ['x'.repeat(3990), `${'x'.repeat(3995)}y`, 'x'.repeat(3999), 'y'];
  const suffix = fc
    .array(fc.constantFrom('a', 'b', '\u0000', '\u00e9', '\u{1F600}'), { maxLength: 40 })
    .map((a) => a.join(''));
  const keyArb = fc
    .tuple(fc.constantFrom(...bases), suffix)
    .map(([b, s]) => b + s)
    .filter((k) => byteLength(k) <= 4096);
  await fc.assert(
    fc.asyncProperty(
      fc.uniqueArray(keyArb, { minLength: 1, maxLength: 30 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      keyArb,
      keyArb,
      async (keys, deletions, a, b) => {
        const store = await openStore();
        try {
          apply(store, ...keys.map((k) => put(k, '')));
          const deleted = new Set(deletions.map((i) => keys[i % keys.length]!));
          apply(store, ...[...deleted].map((k) => del(k)));
          const live = keys.filter((k) => !deleted.has(k)).sort(byBytes);
          assert.deepEqual(
            store.range({ start: '' }).kvs.map((kv) => kv.key),
            live,
          );
          const paged: string[] = [];
          let start = '';
          for (;;) {
            const page = store.range({ start }, { limit: 3 });
            paged.push(...page.kvs.map((kv) => kv.key));
            if (!page.more) break;
            start = page.nextStart!;
          }
          assert.deepEqual(paged, live);
          const [lo, hi] = byBytes(a, b) <= 0 ? [a, b] : [b, a];
          assert.deepEqual(
            store.range({ start: lo, end: hi }).kvs.map((kv) => kv.key),
            live.filter((k) => byBytes(k, lo) >= 0 && byBytes(k, hi) < 0),
          );
        } finally {
          await store.close();
        }
      },
    ),
    { numRuns: 40, seed: 99 },
  );
});
