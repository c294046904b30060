import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { utf8 } from '../../src/kv/bytes.js';
import {
  decodeEvent,
  decodeRecord,
  decodeRecordCopy,
  eventSize,
  recordSize,
  type StoredEvent,
  type StoredRecord,
  writeEvent,
  writeRecord,
} from '../../src/kv/record.js';

const uint53 = fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER });
// fast-check builds records without a prototype; spread them into plain objects to compare with decoded ones.
const record = fc
  .record({
    createRevision: uint53,
    modRevision: uint53,
    version: uint53,
    lease: uint53,
    value: fc.uint8Array({ maxLength: 300 }),
  })
  .map((r): StoredRecord => ({ ...r }));

/** Encodes into a buffer larger than needed and dirty, as the store's reused scratch buffer is. */
function dirty(size: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(size + 64).fill(0xee);
  return { out, view: new DataView(out.buffer) };
}

test('records and events written into a reused, dirty buffer decode to what was written', () => {
  fc.assert(
    fc.property(record, (r: StoredRecord) => {
      const { out, view } = dirty(recordSize(r));
      writeRecord(out, view, r);
      assert.deepEqual(decodeRecord(out.subarray(0, recordSize(r))), r);
    }),
  );
  fc.assert(
    fc.property(
      fc.constantFrom('put' as const, 'delete' as const),
      fc.uint8Array({ minLength: 1, maxLength: 40 }),
      record,
      fc.option(record, { nil: null }),
      (type, key, r, prev) => {
        const event: StoredEvent = { type, key, record: r, prev };
        const size = eventSize(event);
        const { out, view } = dirty(size);
        writeEvent(out, view, event);
        assert.deepEqual(decodeEvent(out.subarray(0, size)), event);
      },
    ),
  );
});

test('a record decoded from a shared, longer buffer owns its value: overwriting the buffer leaves it intact', () => {
  fc.assert(
    fc.property(record, fc.integer({ min: 0, max: 40 }), (r: StoredRecord, slack) => {
      // Like lmdb's shared read buffer: the record at a non-zero offset of a longer, dirty buffer.
      const out = new Uint8Array(8 + recordSize(r) + slack).fill(0xee);
      writeRecord(out.subarray(8), new DataView(out.buffer, 8), r);
      const decoded = decodeRecordCopy(out.subarray(8), recordSize(r));
      assert.deepStrictEqual({ ...decoded, value: Array.from(decoded.value) }, { ...r, value: Array.from(r.value) });
      assert.equal(decoded.value.constructor, Uint8Array);
      out.fill(0x55);
      assert.deepEqual(Array.from(decoded.value), Array.from(r.value));
    }),
  );
  assert.throws(() => decodeRecordCopy(new Uint8Array(40), 31), RangeError);
  assert.throws(() => decodeRecordCopy(new Uint8Array(40), 41), RangeError);
});

test('utf8 gives the same bytes as TextEncoder, for short ASCII keys (its fast path) and any other string', () => {
  const encoder = new TextEncoder();
  const strings = fc.oneof(
    fc.string({ maxLength: 70 }),
    fc.string({ unit: 'grapheme', maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.constantFrom('', 'a'.repeat(64), 'a'.repeat(65), `${'a'.repeat(63)}é`, '\u007f', '\u0080', '\ud800'),
  );
  fc.assert(
    fc.property(strings, (text) => {
      const got = utf8(text);
      assert.equal(got.constructor, Uint8Array);
      assert.deepEqual(Array.from(got), Array.from(encoder.encode(text)));
    }),
    { numRuns: 2000 },
  );
});
