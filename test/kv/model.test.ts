import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { decodeCommand, encodeValidated, validateCommand } from '../../src/kv/command-codec.js';
import { resolveLimits } from '../../src/kv/options.js';
import type { KvStore } from '../../src/kv/store.js';
import type { ApplyItem, ApplyResult, Compare, KvCommand, TxnOp } from '../../src/kv/types.js';
import { openStore } from './helpers.js';
import { ReferenceModel, withoutMessages } from './reference-model.js';

// Small limits so that random sequences hit them.
const limits = resolveLimits({
  maxDeleteRangeKeys: 3,
  maxKeysPerLease: 2,
  maxLeases: 2,
  historyRetentionRevisions: 6,
  maxTxnOps: 4,
});

const keyArb = fc.constantFrom('a', 'ab', 'b', 'b\u00e9', 'c', 'z\u{1F600}');
const valueArb = fc.uint8Array({ maxLength: 3 });
const leaseArb = fc.integer({ min: 1, max: 3 });
const small = fc.integer({ min: 0, max: 6 });
const rangeArb = fc.oneof(
  fc.record({ prefix: fc.constantFrom('', 'a', 'b', 'c') }),
  fc.record({ start: keyArb }, { requiredKeys: ['start'] }),
  fc.record({ start: keyArb, end: keyArb }),
);

const putArb = fc
  .record({
    type: fc.constant('put' as const),
    key: keyArb,
    value: valueArb,
    lease: fc.option(leaseArb, { freq: 3, nil: undefined }),
    prevKv: fc.boolean(),
  })
  .map((p) => (p.lease === undefined ? { type: p.type, key: p.key, value: p.value, prevKv: p.prevKv } : p));
const opArb: fc.Arbitrary<TxnOp> = fc.oneof(
  putArb,
  fc.record(
    { type: fc.constant('delete' as const), key: keyArb, prevKv: fc.boolean() },
    { requiredKeys: ['type', 'key'] },
  ),
  rangeArb.map((r) => ({ type: 'deleteRange' as const, ...r })),
  fc.record({ type: fc.constant('get' as const), key: keyArb }),
  fc
    .tuple(rangeArb, fc.integer({ min: 0, max: 3 }), fc.boolean())
    .map(([r, limit, keysOnly]) => ({ type: 'range' as const, ...r, limit, keysOnly })),
);
const compareArb: fc.Arbitrary<Compare> = fc.oneof(
  fc.record({
    key: keyArb,
    target: fc.constantFrom('version' as const, 'createRevision' as const, 'modRevision' as const, 'lease' as const),
    op: fc.constantFrom('=' as const, '!=' as const, '<' as const, '>' as const),
    value: small,
  }),
  fc.record({
    key: keyArb,
    target: fc.constant('value' as const),
    op: fc.constantFrom('=' as const, '!=' as const, '<' as const, '>' as const),
    value: valueArb,
  }),
);

const commandArb: fc.Arbitrary<KvCommand> = fc.oneof(
  { weight: 5, arbitrary: putArb.map((p) => p as KvCommand) },
  {
    weight: 2,
    arbitrary: fc
      .record(
        { key: keyArb, ifVersion: small, ifModRevision: small, value: valueArb },
        { requiredKeys: ['key', 'value'] },
      )
      .map((p) => ({ type: 'put' as const, ...p })),
  },
  {
    weight: 2,
    arbitrary: fc
      .record({ key: keyArb, ifVersion: small, prevKv: fc.boolean() }, { requiredKeys: ['key'] })
      .map((d) => ({ type: 'delete' as const, ...d })),
  },
  {
    weight: 1,
    arbitrary: fc.tuple(rangeArb, fc.boolean()).map(([r, prevKv]) => ({ type: 'deleteRange' as const, ...r, prevKv })),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      type: fc.constant('txn' as const),
      compare: fc.array(compareArb, { maxLength: 3 }),
      success: fc.array(opArb, { maxLength: 5 }),
      failure: fc.array(opArb, { maxLength: 5 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      type: fc.constant('leaseGrant' as const),
      id: leaseArb,
      ttlSeconds: fc.integer({ min: 1, max: 20 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('leaseRevoke' as const), id: leaseArb }) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('compact' as const), revision: fc.integer({ min: 1, max: 12 }) }),
  },
);

// Encoded without validation, so commands over the limits reach the state machine (which must reject them).
const raw = new Packr({ useRecords: false });

/** An entry's data: a command (possibly invalid for these limits), a no-op, or garbage bytes. */
const entryArb: fc.Arbitrary<Uint8Array | null> = fc.oneof(
  { weight: 12, arbitrary: commandArb.map((c) => raw.pack(c) as Uint8Array) },
  { weight: 1, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 12 }) },
);

function split(entries: (Uint8Array | null)[], cuts: number[]): ApplyItem[][] {
  const batches: ApplyItem[][] = [];
  let i = 0;
  let c = 0;
  while (i < entries.length) {
    const size = Math.max(1, cuts[c++ % Math.max(1, cuts.length)] ?? 1);
    batches.push(entries.slice(i, i + size).map((data, j) => ({ index: i + j + 1, data })));
    i += size;
  }
  return batches;
}

function applyAll(store: KvStore, batches: ApplyItem[][]): ApplyResult[] {
  return batches.flatMap((batch) => store.applyBatch(batch));
}

test("random command sequences give the reference model's results and final state; batching does not matter", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(entryArb, { minLength: 1, maxLength: 60, size: 'medium' }),
      fc.array(fc.integer({ min: 1, max: 8 }), { minLength: 1, maxLength: 5 }),
      async (entries, cuts) => {
        const model = new ReferenceModel(limits);
        const expected = entries.map((data, i) => model.apply(i + 1, data));
        const a = await openStore({ limits });
        const b = await openStore({ limits });
        try {
          const got = applyAll(a, split(entries, cuts));
          assert.deepStrictEqual(withoutMessages(got), withoutMessages(expected));
          const state = model.state();
          assert.deepStrictEqual(a.range({ prefix: '' }).kvs, state.kvs);
          assert.deepStrictEqual(a.leases(), state.leases);
          assert.equal(a.revision, state.revision);
          assert.equal(a.oldestRevision, state.oldestRevision);
          assert.equal(a.appliedIndex, entries.length);
          // Same entries one by one: identical results and state checksum.
          const gotB = applyAll(b, split(entries, [1]));
          assert.deepStrictEqual(gotB, got);
          assert.equal(b.checksum(), a.checksum());
        } finally {
          await a.close();
          await b.close();
        }
      },
    ),
    { numRuns: 100, seed: 20240611 },
  );
});

/** Groups commands into batch entries (several commands in one entry) of the given sizes, a size of 1 a plain entry. */
function splitIntoBatchEntries(commands: Uint8Array[], sizes: number[]): ApplyItem[] {
  const items: ApplyItem[] = [];
  let i = 0;
  let c = 0;
  while (i < commands.length) {
    const size = Math.max(1, sizes[c++ % sizes.length] ?? 1);
    const group = commands.slice(i, i + size);
    const index = items.length + 1;
    items.push(group.length === 1 ? { index, data: group[0]! } : { index, data: null, commands: group });
    i += size;
  }
  return items;
}

test('commands proposed together in one entry give the same results and state as one entry each', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(entryArb, { minLength: 1, maxLength: 60, size: 'medium' }),
      fc.array(fc.integer({ min: 1, max: 9 }), { minLength: 1, maxLength: 5 }),
      async (entries, sizes) => {
        // A batch holds commands only (a no-op entry is never batched).
        const commands = entries.filter((e): e is Uint8Array => e !== null);
        if (commands.length === 0) return;
        const one = await openStore({ limits });
        const batched = await openStore({ limits });
        try {
          const expected = one.applyBatch(commands.map((data, i) => ({ index: i + 1, data })));
          const items = splitIntoBatchEntries(commands, sizes);
          // Applied in two applyBatch calls, to cross a batch boundary too.
          const half = Math.ceil(items.length / 2);
          const got = [...batched.applyBatch(items.slice(0, half)), ...batched.applyBatch(items.slice(half))];
          const withoutIndex = (rs: ApplyResult[]) => rs.map(({ index: _, ...rest }) => rest);
          assert.deepStrictEqual(withoutIndex(got), withoutIndex(expected));
          // Each command's result names the index of the entry that carried it.
          let r = 0;
          for (const item of items) {
            for (let k = 0; k < (item.commands?.length ?? 1); k++) assert.equal(got[r++]!.index, item.index);
          }
          assert.equal(batched.appliedIndex, items.length);
          assert.equal(batched.revision, one.revision);
          assert.equal(batched.checksum(), one.checksum());
        } finally {
          await one.close();
          await batched.close();
        }
      },
    ),
    { numRuns: 100, seed: 20261128 },
  );
});

/**
 * What a leader proposes: commands it validated (a command the proposer refuses is never proposed), encoded with
 * encodeValidated, each with the command object that may be applied instead of the bytes.
 */
function proposed(commands: KvCommand[]): { encoded: Uint8Array; applicable: KvCommand | null }[] {
  const out: { encoded: Uint8Array; applicable: KvCommand | null }[] = [];
  for (const c of commands) {
    let validated: KvCommand;
    try {
      validated = validateCommand(c, limits);
    } catch {
      continue;
    }
    out.push(encodeValidated(validated));
  }
  return out;
}

test("a leader's own commands applied from their validated objects give the same results and state as decoded", async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(commandArb, { minLength: 1, maxLength: 60, size: 'medium' }),
      fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 5 }),
      async (commands, sizes) => {
        const writes = proposed(commands);
        if (writes.length === 0) return;
        // The decoded form of what may be applied directly is exactly the object.
        for (const w of writes)
          if (w.applicable) assert.deepStrictEqual(decodeCommand(w.encoded, limits), w.applicable);
        const fromBytes = await openStore({ limits });
        const fromObjects = await openStore({ limits });
        try {
          const items = splitIntoBatchEntries(
            writes.map((w) => w.encoded),
            sizes,
          );
          let at = 0;
          const withObjects = items.map((item) => {
            const count = item.commands?.length ?? 1;
            const decoded = writes.slice(at, at + count).map((w) => w.applicable);
            at += count;
            return { ...item, decoded };
          });
          assert.deepStrictEqual(fromObjects.applyBatch(withObjects), fromBytes.applyBatch(items));
          assert.equal(fromObjects.checksum(), fromBytes.checksum());
        } finally {
          await fromBytes.close();
          await fromObjects.close();
        }
      },
    ),
    { numRuns: 100, seed: 20261128 },
  );
});
