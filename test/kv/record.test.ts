import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  decodeEvent,
  decodeRecord,
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
