import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { decodeCommand, encodeValidated, unpackCommand, validateCommand } from '../../src/kv/command-codec.js';
import { encodePut } from '../../src/kv/put-encoder.js';
import type { KvCommand, PutCommand } from '../../src/kv/types.js';

const msgpackr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, structuredClone: false });

// Lengths around every header boundary of msgpack's str and bin forms.
const lengthArb = fc.constantFrom(0, 1, 31, 32, 255, 256, 4000, 4096, 65_535, 65_536, 70_000);
const keyArb = fc.oneof(
  fc.string({ minLength: 1, maxLength: 40 }),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 300 }),
  lengthArb.filter((n) => n > 0 && n <= 4096).map((n) => 'k'.repeat(n)),
);
const valueArb = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  lengthArb.map((n) => new Uint8Array(n).fill(n & 0xff)),
);
const leaseArb = fc.oneof(
  fc.constantFrom(1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);
const putArb: fc.Arbitrary<KvCommand> = fc
  .record(
    {
      type: fc.constant('put' as const),
      key: keyArb,
      value: valueArb,
      lease: leaseArb,
      prevKv: fc.boolean(),
    },
    { requiredKeys: ['type', 'key', 'value'] },
  )
  .map((c) => c as KvCommand);

test('a put encoded by hand decodes to what msgpackr encodes, and to the same validated command', () => {
  fc.assert(
    fc.property(putArb, (command) => {
      let validated: KvCommand;
      try {
        validated = validateCommand(command);
      } catch {
        return; // over the limits: never proposed
      }
      const byHand = encodePut(validated as PutCommand);
      assert.ok(byHand !== null, 'every validated put without conditions is encoded by hand');
      const bytes = byHand.bytes;
      assert.deepStrictEqual(byHand.value, (validated as PutCommand).value, 'the value view holds the value');
      assert.deepStrictEqual(unpackCommand(bytes), msgpackr.unpack(msgpackr.pack(validated)));
      assert.deepStrictEqual(decodeCommand(bytes), validated);
      const { encoded, applicable } = encodeValidated(validated);
      assert.deepStrictEqual(Buffer.from(encoded), Buffer.from(bytes));
      assert.deepStrictEqual(applicable, validated);
    }),
    { numRuns: 300, seed: 20261128 },
  );
});

test('a conditional put is left to msgpackr (and still round-trips)', () => {
  const conditional = validateCommand({ type: 'put', key: 'k', value: new Uint8Array([1]), ifVersion: 3 });
  assert.equal(encodePut(conditional as PutCommand), null);
  assert.deepStrictEqual(decodeCommand(encodeValidated(conditional).encoded), conditional);
});

test("the applied object does not share the request's bytes", () => {
  const body = new Uint8Array([1, 2, 3]);
  const { applicable } = encodeValidated(validateCommand({ type: 'put', key: 'k', value: body }));
  body[0] = 9;
  assert.deepStrictEqual((applicable as PutCommand).value, new Uint8Array([1, 2, 3]));
});
