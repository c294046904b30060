import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeCommand } from '../../src/kv/command-codec.js';
import type { ApplyResult, DeleteResult, PutResult, TxnOpResult, TxnResult } from '../../src/kv/types.js';
import { apply, apply1, bytes, del, openStore, put, text } from './helpers.js';

function ok<T extends ApplyResult>(result: ApplyResult): T {
  assert.equal(result.ok, true, `expected success, got ${JSON.stringify(result)}`);
  return result as T;
}

function failed(result: ApplyResult, code: string): void {
  assert.equal(result.ok, false, `expected ${code}, got ${JSON.stringify(result)}`);
  assert.equal(result.ok === false && result.code, code);
}

test('an empty store is at revision 1 with nothing applied', async () => {
  const store = await openStore();
  assert.equal(store.revision, 1);
  assert.equal(store.appliedIndex, 0);
  assert.equal(store.get('a'), null);
  assert.deepEqual(store.range({ prefix: '' }).kvs, []);
  await store.close();
});

test('put creates at version 1 and each put bumps version and revision; createRevision stays', async () => {
  const store = await openStore();
  const first = ok<PutResult>(apply1(store, put('k', 'v1')));
  assert.deepEqual(first, { ok: true, type: 'put', index: 1, revision: 2, version: 1 });
  const second = ok<PutResult>(apply1(store, put('k', 'v2', { prevKv: true })));
  assert.equal(second.revision, 3);
  assert.equal(second.version, 2);
  assert.equal(text(second.prevKv!.value), 'v1');
  assert.equal(second.prevKv!.version, 1);
  const kv = store.get('k')!;
  assert.deepEqual(
    { ...kv, value: text(kv.value) },
    { key: 'k', value: 'v2', createRevision: 2, modRevision: 3, version: 2, lease: 0 },
  );
  assert.equal(ok<PutResult>(apply1(store, put('new', 'x', { prevKv: true }))).prevKv, null);
  await store.close();
});

test('values larger than the reused encoding buffer (64 KiB) and small ones after them are stored intact', async () => {
  const store = await openStore();
  const big = 'b'.repeat(200 * 1024);
  const events: { value: string; prev: string | undefined }[] = [];
  store.watch(
    { prefix: 'k' },
    undefined,
    (r) => {
      for (const e of r.events)
        events.push({ value: text(e.value), prev: e.prevKv ? text(e.prevKv.value) : undefined });
    },
    { prevKv: true },
  );
  ok<PutResult>(apply1(store, put('k', 'small-1')));
  ok<PutResult>(apply1(store, put('k', big)));
  const after = ok<PutResult>(apply1(store, put('k', 'small-2', { prevKv: true })));
  assert.equal(text(after.prevKv!.value), big);
  assert.equal(text(store.get('k')!.value), 'small-2');
  await new Promise<void>((resolve) => setImmediate(resolve));
  // From the history too (a new watcher reads the stored events): each with the value before it.
  const replayed: { value: string; prev: string | undefined }[] = [];
  const w = store.watch(
    { prefix: 'k' },
    2,
    (r) => {
      for (const e of r.events)
        replayed.push({ value: text(e.value), prev: e.prevKv ? text(e.prevKv.value) : undefined });
    },
    { prevKv: true },
  );
  await new Promise<void>((resolve) => setTimeout(resolve, 20));
  w.cancel();
  const expected = [
    { value: 'small-1', prev: undefined },
    { value: big, prev: 'small-1' },
    { value: 'small-2', prev: big },
  ];
  assert.deepEqual(events, expected);
  assert.deepEqual(replayed, expected);
  await store.close();
});

test('conditional put: ifVersion (0 = must not exist) and ifModRevision; a failed condition changes nothing', async () => {
  const store = await openStore();
  ok(apply1(store, put('k', 'a', { ifVersion: 0 })));
  failed(apply1(store, put('k', 'b', { ifVersion: 0 })), 'COMPARE_FAILED');
  failed(apply1(store, put('k', 'b', { ifVersion: 2 })), 'COMPARE_FAILED');
  failed(apply1(store, put('k', 'b', { ifModRevision: 99 })), 'COMPARE_FAILED');
  assert.equal(store.revision, 2, 'failed conditions do not bump the revision');
  assert.equal(text(store.get('k')!.value), 'a');
  ok(apply1(store, put('k', 'b', { ifVersion: 1, ifModRevision: 2 })));
  assert.equal(store.get('k')!.version, 2);
  failed(apply1(store, put('other', 'x', { ifModRevision: 5 })), 'COMPARE_FAILED');
  ok(apply1(store, put('other', 'x', { ifModRevision: 0 })));
  await store.close();
});

test('delete: removes the key at a new revision; deleting nothing keeps the revision; conditions apply', async () => {
  const store = await openStore();
  apply(store, put('k', 'a'), put('k', 'b'));
  failed(apply1(store, del('k', { ifVersion: 1 })), 'COMPARE_FAILED');
  const d = ok<DeleteResult>(apply1(store, del('k', { ifVersion: 2, prevKv: true })));
  assert.equal(d.deleted, 1);
  assert.equal(d.revision, 4);
  assert.equal(text(d.prevKvs![0]!.value), 'b');
  assert.equal(store.get('k'), null);
  const none = ok<DeleteResult>(apply1(store, del('k')));
  assert.equal(none.deleted, 0);
  assert.equal(none.revision, 4);
  assert.equal(store.revision, 4);
  // Re-created: version starts over and createRevision is new.
  ok(apply1(store, put('k', 'c')));
  const kv = store.get('k')!;
  assert.equal(kv.version, 1);
  assert.equal(kv.createRevision, 5);
  await store.close();
});

test('deleteRange by prefix and by start/end deletes in one revision', async () => {
  const store = await openStore();
  apply(store, put('a/1', 'x'), put('a/2', 'x'), put('a/3', 'x'), put('b', 'x'), put('c', 'x'));
  const byPrefix = ok<DeleteResult>(apply1(store, { type: 'deleteRange', prefix: 'a/', prevKv: true }));
  assert.equal(byPrefix.deleted, 3);
  assert.equal(byPrefix.revision, 7);
  assert.deepEqual(
    byPrefix.prevKvs!.map((kv) => kv.key),
    ['a/1', 'a/2', 'a/3'],
  );
  const byRange = ok<DeleteResult>(apply1(store, { type: 'deleteRange', start: 'b', end: 'c' }));
  assert.equal(byRange.deleted, 1);
  assert.equal(byRange.revision, 8);
  assert.deepEqual(
    store.range({ prefix: '' }).kvs.map((kv) => kv.key),
    ['c'],
  );
  const nothing = ok<DeleteResult>(apply1(store, { type: 'deleteRange', prefix: 'zzz' }));
  assert.equal(nothing.deleted, 0);
  assert.equal(store.revision, 8);
  const all = ok<DeleteResult>(apply1(store, { type: 'deleteRange', start: '' }));
  assert.equal(all.deleted, 1);
  await store.close();
});

test('deleteRange over maxDeleteRangeKeys fails with TOO_MANY_KEYS and deletes nothing', async () => {
  const store = await openStore({ limits: { maxDeleteRangeKeys: 2 } });
  apply(store, put('a', '1'), put('b', '2'), put('c', '3'));
  failed(apply1(store, { type: 'deleteRange', prefix: '' }), 'TOO_MANY_KEYS');
  assert.equal(store.range({ prefix: '' }).kvs.length, 3);
  assert.equal(store.revision, 4);
  ok(apply1(store, { type: 'deleteRange', start: 'a', end: 'c' }));
  await store.close();
});

test('txn: compares choose the branch; all writes share one revision; reads see earlier writes', async () => {
  const store = await openStore();
  apply(store, put('x', '1'));
  const result = ok<TxnResult>(
    apply1(store, {
      type: 'txn',
      compare: [
        { key: 'x', target: 'version', op: '=', value: 1 },
        { key: 'x', target: 'value', op: '=', value: bytes('1') },
        { key: 'missing', target: 'createRevision', op: '=', value: 0 },
      ],
      success: [
        { type: 'put', key: 'y', value: bytes('2') },
        { type: 'put', key: 'x', value: bytes('3'), prevKv: true },
        { type: 'get', key: 'y' },
        { type: 'range', prefix: '' },
        { type: 'delete', key: 'y' },
      ],
      failure: [{ type: 'put', key: 'never', value: bytes('') }],
    }),
  );
  assert.equal(result.succeeded, true);
  assert.equal(result.revision, 3);
  const [p1, p2, get, range, d] = result.responses as [TxnOpResult, TxnOpResult, TxnOpResult, TxnOpResult, TxnOpResult];
  assert.deepEqual(p1, { type: 'put', version: 1, revision: 3 });
  assert.equal(p2!.type === 'put' && text(p2.prevKv!.value), '1');
  assert.equal(get!.type === 'get' && get.kv!.modRevision, 3);
  assert.deepEqual(range!.type === 'range' && range.kvs.map((kv) => kv.key), ['x', 'y']);
  assert.deepEqual(d, { type: 'delete', deleted: 1 });
  assert.equal(store.get('x')!.modRevision, 3);
  assert.equal(store.get('y'), null);
  assert.equal(store.get('never'), null);
  await store.close();
});

test('txn: the failure branch runs when a compare fails; a txn that writes nothing keeps the revision', async () => {
  const store = await openStore();
  apply(store, put('x', 'b'));
  const readOnly = ok<TxnResult>(
    apply1(store, {
      type: 'txn',
      compare: [{ key: 'x', target: 'value', op: '>', value: bytes('c') }],
      success: [{ type: 'put', key: 'y', value: bytes('') }],
      failure: [{ type: 'get', key: 'x' }],
    }),
  );
  assert.equal(readOnly.succeeded, false);
  assert.equal(readOnly.revision, 2);
  assert.equal(readOnly.responses[0]!.type === 'get' && text(readOnly.responses[0]!.kv!.value), 'b');
  const empty = ok<TxnResult>(apply1(store, { type: 'txn', compare: [], success: [], failure: [] }));
  assert.equal(empty.succeeded, true);
  assert.equal(store.revision, 2);
  await store.close();
});

test('txn compare semantics: targets, operators, missing keys (value compare on a missing key is false)', async () => {
  const store = await openStore();
  apply(store, { type: 'leaseGrant', id: 7, ttlSeconds: 10 }, put('k', 'm', { lease: 7 }), put('k', 'm'));
  const holds = (compare: object): boolean => {
    const r = ok<TxnResult>(apply1(store, { type: 'txn', compare: [compare as never], success: [], failure: [] }));
    return r.succeeded;
  };
  assert.equal(holds({ key: 'k', target: 'version', op: '=', value: 2 }), true);
  assert.equal(holds({ key: 'k', target: 'version', op: '>', value: 1 }), true);
  assert.equal(holds({ key: 'k', target: 'version', op: '<', value: 2 }), false);
  assert.equal(holds({ key: 'k', target: 'createRevision', op: '=', value: 2 }), true);
  assert.equal(holds({ key: 'k', target: 'modRevision', op: '!=', value: 3 }), false);
  assert.equal(holds({ key: 'k', target: 'lease', op: '=', value: 0 }), true, 'the second put detached the lease');
  assert.equal(holds({ key: 'k', target: 'value', op: '<', value: bytes('n') }), true);
  assert.equal(holds({ key: 'k', target: 'value', op: '>', value: bytes('m') }), false);
  assert.equal(holds({ key: 'k', target: 'value', op: '>', value: bytes('l\xff') }), true);
  assert.equal(holds({ key: 'nope', target: 'version', op: '=', value: 0 }), true);
  assert.equal(holds({ key: 'nope', target: 'value', op: '!=', value: bytes('x') }), false);
  await store.close();
});

test('txn is atomic: an op failing after others wrote undoes them all', async () => {
  const store = await openStore();
  apply(store, put('a', 'old'));
  const before = store.checksum();
  failed(
    apply1(store, {
      type: 'txn',
      compare: [],
      success: [
        { type: 'put', key: 'a', value: bytes('new') },
        { type: 'delete', key: 'a' },
        { type: 'put', key: 'b', value: bytes('x') },
        { type: 'put', key: 'c', value: bytes('x'), lease: 42 },
      ],
      failure: [],
    }),
    'LEASE_NOT_FOUND',
  );
  assert.equal(store.checksum(), before);
  assert.equal(text(store.get('a')!.value), 'old');
  assert.equal(store.get('b'), null);
  assert.equal(store.revision, 2);
  // The store keeps working: the next entry gets the next revision.
  assert.equal(ok<PutResult>(apply1(store, put('b', 'y'))).revision, 3);
  await store.close();
});

test('txn undo covers long keys, their group markers, lease attachments and history', async () => {
  const store = await openStore();
  const longKey = 'p'.repeat(4050); // over 4,000 bytes: stored in the long table under a group marker
  const sibling = `${'p'.repeat(4000)}${'q'.repeat(60)}`;
  apply(store, { type: 'leaseGrant', id: 1, ttlSeconds: 10 });
  apply(store, put(longKey, 'one'), put('keep', 'k', { lease: 1 }));
  const before = store.checksum();
  failed(
    apply1(store, {
      type: 'txn',
      compare: [],
      success: [
        { type: 'put', key: sibling, value: bytes('two') }, // a new member of the long key's group
        { type: 'put', key: 'x', value: bytes('x'), lease: 1 }, // attached to lease 1
        { type: 'delete', key: longKey }, // leaves the group
        { type: 'put', key: 'keep', value: bytes('moved') }, // detached from lease 1
        { type: 'put', key: 'y', value: bytes('y'), lease: 42 }, // fails: no such lease
      ],
      failure: [],
    }),
    'LEASE_NOT_FOUND',
  );
  assert.equal(store.checksum(), before, 'records, leases and history are as before');
  assert.deepEqual(
    store.range({ prefix: 'p' }).kvs.map((kv) => [kv.key.length, text(kv.value)]),
    [[4050, 'one']],
  );
  assert.equal(store.lease(1)?.keys, 1);
  // The lease's attachments were restored too: revoking it deletes exactly 'keep'.
  apply(store, { type: 'leaseRevoke', id: 1 });
  assert.equal(store.get('keep'), null);
  assert.equal(store.get('x'), null);
  assert.equal(text(store.get(longKey)!.value), 'one');
  await store.close();
});

test('leases: grant, attach, detach, move, revoke deletes attached keys in one revision', async () => {
  const store = await openStore();
  const grant = ok(apply1(store, { type: 'leaseGrant', id: 1, ttlSeconds: 10 }));
  assert.deepEqual(grant, { ok: true, type: 'leaseGrant', index: 1, revision: 1, id: 1, ttlSeconds: 10 });
  failed(apply1(store, { type: 'leaseGrant', id: 1, ttlSeconds: 5 }), 'LEASE_EXISTS');
  ok(apply1(store, { type: 'leaseGrant', id: 2, ttlSeconds: 20 }));
  failed(apply1(store, put('k', 'v', { lease: 3 })), 'LEASE_NOT_FOUND');
  apply(
    store,
    put('a', '1', { lease: 1 }),
    put('b', '2', { lease: 1 }),
    put('c', '3', { lease: 2 }),
    put('d', '4', { lease: 1 }),
  );
  assert.equal(store.get('a')!.lease, 1);
  assert.deepEqual(store.lease(1), { id: 1, ttlSeconds: 10, keys: 3 });
  apply(store, put('d', '4'), put('b', '2', { lease: 2 }), del('c'));
  assert.deepEqual(store.lease(1), { id: 1, ttlSeconds: 10, keys: 1 });
  assert.deepEqual(store.lease(2), { id: 2, ttlSeconds: 20, keys: 1 });
  assert.equal(store.get('d')!.lease, 0);
  const revisionBefore = store.revision;
  const revoke = ok(apply1(store, { type: 'leaseRevoke', id: 2 }));
  assert.deepEqual(revoke, {
    ok: true,
    type: 'leaseRevoke',
    index: 12,
    revision: revisionBefore + 1,
    id: 2,
    deleted: 1,
  });
  assert.equal(store.get('b'), null);
  assert.equal(store.lease(2), null);
  failed(apply1(store, { type: 'leaseRevoke', id: 2 }), 'LEASE_NOT_FOUND');
  ok(apply1(store, { type: 'leaseRevoke', id: 1 }));
  assert.equal(store.get('a'), null);
  // A lease without keys is revoked without a new revision.
  apply(store, { type: 'leaseGrant', id: 5, ttlSeconds: 10 });
  const r = store.revision;
  ok(apply1(store, { type: 'leaseRevoke', id: 5 }));
  assert.equal(store.revision, r);
  assert.deepEqual(store.leases(), []);
  await store.close();
});

test('lease limits: TTL range, maxLeases, maxKeysPerLease', async () => {
  const store = await openStore({
    limits: { maxLeases: 2, maxKeysPerLease: 2, leaseMinTtlSeconds: 5, leaseMaxTtlSeconds: 60 },
  });
  failed(apply1(store, { type: 'leaseGrant', id: 1, ttlSeconds: 4 }), 'INVALID_LEASE_TTL');
  failed(apply1(store, { type: 'leaseGrant', id: 1, ttlSeconds: 61 }), 'INVALID_LEASE_TTL');
  apply(store, { type: 'leaseGrant', id: 1, ttlSeconds: 5 }, { type: 'leaseGrant', id: 2, ttlSeconds: 60 });
  failed(apply1(store, { type: 'leaseGrant', id: 3, ttlSeconds: 10 }), 'TOO_MANY_LEASES');
  apply(store, put('a', '', { lease: 1 }), put('b', '', { lease: 1 }));
  failed(apply1(store, put('c', '', { lease: 1 })), 'LEASE_KEY_LIMIT');
  // A key already on the lease does not count twice.
  ok(apply1(store, put('a', 'again', { lease: 1 })));
  assert.deepEqual(
    store.leases().map((l) => [l.id, l.keys]),
    [
      [1, 2],
      [2, 0],
    ],
  );
  await store.close();
});

test('compact moves the oldest watchable revision without changing the revision', async () => {
  const store = await openStore();
  apply(store, put('a', '1'), put('a', '2'), put('a', '3'));
  failed(apply1(store, { type: 'compact', revision: 5 }), 'FUTURE_REVISION');
  assert.deepEqual(apply1(store, { type: 'compact', revision: 3 }), {
    ok: true,
    type: 'compact',
    index: 5,
    revision: 4,
    oldestRevision: 3,
  });
  assert.equal(store.oldestRevision, 3);
  const again = apply1(store, { type: 'compact', revision: 2 });
  failed(again, 'COMPACTED');
  assert.equal(again.ok === false && again.oldestRevision, 3);
  assert.equal(store.revision, 4);
  await store.close();
});

test('history retention moves the oldest revision as revisions are added', async () => {
  const store = await openStore({ limits: { historyRetentionRevisions: 3 } });
  for (let i = 0; i < 10; i++) apply(store, put('k', String(i)));
  assert.equal(store.revision, 11);
  assert.equal(store.oldestRevision, 9);
  await store.close();
});

test('no-op entries (null or empty data) only advance the applied index', async () => {
  const store = await openStore();
  const results = apply(store, null, new Uint8Array(0), put('a', '1'), null);
  assert.deepEqual(
    results.map((r) => [r.type, r.index, r.revision]),
    [
      ['noop', 1, 1],
      ['noop', 2, 1],
      ['put', 3, 2],
      ['noop', 4, 2],
    ],
  );
  assert.equal(store.appliedIndex, 4);
  await store.close();
});

test('applyBatch refuses a gap or a repeated index and applies nothing', async () => {
  const store = await openStore();
  apply(store, put('a', '1'));
  const data = encodeCommand(put('b', '1'));
  assert.throws(
    () =>
      store.applyBatch([
        { index: 2, data },
        { index: 4, data },
      ]),
    { code: 'UNEXPECTED_INDEX', expectedIndex: 3 },
  );
  assert.throws(() => store.applyBatch([{ index: 1, data }]), { code: 'UNEXPECTED_INDEX' });
  assert.equal(store.appliedIndex, 1);
  assert.equal(store.get('b'), null);
  assert.deepEqual(store.applyBatch([]), []);
  await store.close();
});

test('commands over the limits are refused by the state machine too', async () => {
  const store = await openStore({ limits: { maxValueBytes: 8, maxTxnOps: 2, maxKeyBytes: 16 } });
  failed(apply1(store, put('k', '123456789')), 'VALUE_TOO_LARGE');
  failed(apply1(store, put('k'.repeat(17), '')), 'KEY_TOO_LARGE');
  failed(apply1(store, put('\u00e9'.repeat(9), '')), 'KEY_TOO_LARGE');
  failed(apply1(store, put('', '')), 'INVALID_KEY');
  // A lone surrogate cannot travel through msgpack (it packs as U+FFFD), so it is refused before proposing.
  assert.throws(() => encodeCommand(put('bad\ud800', '')), { code: 'INVALID_KEY' });
  assert.throws(() => store.get('bad\udc00'), { code: 'INVALID_KEY' });
  const op = { type: 'get' as const, key: 'k' };
  failed(apply1(store, { type: 'txn', compare: [], success: [op, op, op], failure: [] }), 'TXN_TOO_LARGE');
  failed(apply1(store, { type: 'txn', compare: [], success: [], failure: [op, op, op] }), 'TXN_TOO_LARGE');
  ok(apply1(store, { type: 'txn', compare: [], success: [op, op], failure: [op, op] }));
  ok(apply1(store, put('\u00e9'.repeat(8), '12345678')));
  assert.equal(store.revision, 2);
  await store.close();
});

test('garbage entries produce INVALID_COMMAND results and leave the state alone', async () => {
  const store = await openStore();
  apply(store, put('a', '1'));
  const before = store.checksum();
  const garbage = [
    new Uint8Array([0xc1]),
    new Uint8Array([0xff, 0x00, 0x13, 0x37]),
    new Uint8Array([0x93, 1, 2, 3]), // a msgpack array, not a map
    new Uint8Array([0x81, 0xa4, 0x74, 0x79, 0x70, 0x65, 0xa3, 0x66, 0x6f, 0x6f]), // {type: 'foo'}
    new Uint8Array([0xde, 0xff, 0xff]), // a map header claiming 65535 entries, truncated
    new Uint8Array(200_001).fill(0x91), // arrays nested 200,000 deep (would overflow the stack)
  ];
  const results = apply(store, ...garbage, put('b', '2'));
  for (const r of results.slice(0, garbage.length)) {
    failed(r, 'INVALID_COMMAND');
    assert.equal(r.revision, 2);
  }
  assert.equal(results.at(-1)!.ok, true);
  assert.equal(store.appliedIndex, 1 + garbage.length + 1);
  apply(store, del('b'));
  assert.notEqual(store.checksum(), before, 'revision moved');
  assert.equal(text(store.get('a')!.value), '1');
  await store.close();
});
