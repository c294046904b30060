import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { StreamTable } from '../../../src/api/h2/stream-table.js';

interface Stream {
  readonly id: number;
}

/** The table's slots, for checking that nothing it no longer holds is still referenced. */
function slots(table: StreamTable<Stream>): (Stream | undefined)[] {
  return (table as unknown as { values: (Stream | undefined)[] }).values;
}

const operation = fc.oneof(
  // Mostly odd, increasing-ish client stream ids, some even and some colliding ones (probe runs wrap around).
  fc.record({ op: fc.constant('set' as const), id: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ op: fc.constant('delete' as const), id: fc.integer({ min: 1, max: 300 }) }),
  fc.record({ op: fc.constant('get' as const), id: fc.integer({ min: 1, max: 300 }) }),
);

test('StreamTable behaves like a Map for any sequence of sets, deletes and lookups', () => {
  fc.assert(
    fc.property(fc.array(operation, { maxLength: 400 }), fc.integer({ min: 1, max: 64 }), (ops, capacity) => {
      const table = new StreamTable<Stream>(capacity);
      const model = new Map<number, Stream>();
      for (const { op, id } of ops) {
        if (op === 'set') {
          const stream = { id };
          table.set(id, stream);
          model.set(id, stream);
        } else if (op === 'delete') {
          assert.equal(table.delete(id), model.delete(id));
        } else {
          assert.equal(table.get(id), model.get(id));
          assert.equal(table.has(id), model.has(id));
        }
        assert.equal(table.size, model.size);
      }
      const listed = table.list().sort((a, b) => a.id - b.id);
      const expected = [...model.values()].sort((a, b) => a.id - b.id);
      assert.deepEqual(listed, expected);
      for (const [id, stream] of model) assert.equal(table.get(id), stream);
    }),
    { numRuns: 300 },
  );
});

test('StreamTable keeps no reference to a stream once it is deleted, nor in the arrays a resize leaves behind', () => {
  const table = new StreamTable<Stream>(16);
  const gone = { id: 1 };
  table.set(1, gone);
  table.set(3, { id: 3 });
  table.delete(1);
  assert.ok(!slots(table).includes(gone));

  const before = slots(table);
  for (let id = 5; id < 5 + 2 * 16; id += 2) table.set(id, { id });
  assert.notEqual(slots(table), before, 'the table grew into new arrays');
  assert.ok(
    before.every((v) => v === undefined),
    'the arrays left behind hold nothing',
  );
  assert.equal(table.get(3)?.id, 3);
  assert.equal(table.size, 17);
});

test('StreamTable refuses ids that are not positive integers and finds nothing for them', () => {
  const table = new StreamTable<Stream>();
  assert.throws(() => table.set(0, { id: 0 }), RangeError);
  assert.throws(() => table.set(-3, { id: -3 }), RangeError);
  assert.throws(() => table.set(1.5, { id: 1.5 }), RangeError);
  assert.equal(table.get(0), undefined);
  assert.equal(table.delete(-1), false);
  assert.equal(table.size, 0);
});
