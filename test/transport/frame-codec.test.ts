import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TransportError } from '../../src/transport/errors.js';
import { FrameDecoder, FrameEncoder, LENGTH_PREFIX_BYTES, PROTOCOL_VERSION } from '../../src/transport/frame-codec.js';
import { FrameReader } from '../../src/transport/frame-reader.js';

// Deterministic by default; FC_SEED=<n> explores other cases.
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20_251_127) });

const encoder = new FrameEncoder();

function roundTrip(messages: unknown[]): unknown[] {
  const encoded = messages.map((message) => encoder.encodeMessage(message));
  const frame = encoder.batchFrame(
    encoded,
    encoded.reduce((sum, bytes) => sum + bytes.length, 0),
  );
  const bodies = new FrameReader(frame.length).push(frame);
  assert.equal(bodies.length, 1);
  const decoded = new FrameDecoder().decode(bodies[0]!);
  assert.equal(decoded.type, 'batch');
  return decoded.type === 'batch' ? decoded.body.slice(1) : [];
}

/** Values a consensus message is made of: JSON-like data plus byte arrays (entries' data). */
const messageValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    // msgpack has one zero: -0 comes back as 0.
    fc.double({ noNaN: true }).map((x) => (Object.is(x, -0) ? 0 : x)),
    fc.string({ unit: 'grapheme' }),
    fc.uint8Array({ maxLength: 64 }).map((bytes) => Buffer.from(bytes)),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(
      fc.string({ minLength: 1 }).filter((key) => key !== '__proto__'),
      tie('value'),
      { maxKeys: 5, noNullPrototype: true },
    ),
  ),
})).value;

test('batches of messages round-trip intact and in order', () => {
  fc.assert(
    fc.property(fc.array(messageValue, { maxLength: 30 }), (messages) => {
      assert.deepEqual(roundTrip(messages), messages);
    }),
  );
});

test('the array header fits any message count (fixarray, array16, array32 boundaries)', () => {
  for (const count of [0, 14, 15, 16, 65_534, 65_535, 65_536]) {
    const messages = Array.from({ length: count }, (_, i) => i);
    const decoded = roundTrip(messages);
    assert.equal(decoded.length, count);
    assert.equal(decoded[count - 1], count === 0 ? undefined : count - 1);
  }
});

test('numbers beyond 32 bits stay numbers; Uint8Array comes back as bytes', () => {
  const [decoded] = roundTrip([{ index: 2 ** 40 + 3, negative: -(2 ** 45), data: new Uint8Array([1, 2, 3]) }]) as [
    { index: number; negative: number; data: Uint8Array },
  ];
  assert.equal(decoded.index, 2 ** 40 + 3);
  assert.equal(decoded.negative, -(2 ** 45));
  assert.deepEqual([...decoded.data], [1, 2, 3]);
});

test('control frames decode to their typed form', () => {
  const decode = (frame: Buffer) => new FrameDecoder().decode(frame.subarray(LENGTH_PREFIX_BYTES));
  assert.deepEqual(decode(encoder.helloFrame('c1', 'n1')), {
    type: 'hello',
    version: PROTOCOL_VERSION,
    clusterId: 'c1',
    nodeName: 'n1',
  });
  assert.deepEqual(decode(encoder.welcomeFrame('c1', 'n2')), {
    type: 'welcome',
    version: PROTOCOL_VERSION,
    clusterId: 'c1',
    nodeName: 'n2',
  });
  assert.deepEqual(decode(encoder.rejectFrame('CLUSTER_MISMATCH', 'no')), {
    type: 'reject',
    code: 'CLUSTER_MISMATCH',
    reason: 'no',
  });
});

test('unencodable messages throw ENCODE_FAILED', () => {
  assert.throws(
    () => encoder.encodeMessage({ id: 10n ** 40n }),
    (error: unknown) => error instanceof TransportError && error.code === 'ENCODE_FAILED',
  );
  assert.throws(() => encoder.encodeMessage(Symbol('x')), /ENCODE_FAILED|cannot encode/);
});

function isExpectedDecodeError(error: unknown): boolean {
  return (
    error instanceof TransportError && (error.code === 'FRAME_DECODE_FAILED' || error.code === 'PROTOCOL_VIOLATION')
  );
}

test('the decoder never throws anything but a TransportError on random bytes', () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 1, maxLength: 200 }), (bytes) => {
      try {
        new FrameDecoder().decode(Buffer.from(bytes));
      } catch (error) {
        assert.ok(isExpectedDecodeError(error), String(error));
      }
    }),
    { numRuns: 2000 },
  );
});

test('the decoder survives corrupted valid frames, and a fresh decoder still works afterwards', () => {
  fc.assert(
    fc.property(
      fc.array(messageValue, { minLength: 1, maxLength: 5 }),
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 5 }),
      fc.nat(),
      (messages, flips, cut) => {
        const encoded = messages.map((message) => encoder.encodeMessage(message));
        const frame = encoder.batchFrame(
          encoded,
          encoded.reduce((sum, bytes) => sum + bytes.length, 0),
        );
        const body = Buffer.from(frame.subarray(LENGTH_PREFIX_BYTES));
        for (const [position, value] of flips) body[position % body.length] = value;
        const truncated = body.subarray(0, 1 + (cut % body.length));
        for (const candidate of [body, truncated]) {
          try {
            new FrameDecoder().decode(candidate);
          } catch (error) {
            assert.ok(isExpectedDecodeError(error), String(error));
          }
        }
        assert.deepEqual(roundTrip(messages), messages);
      },
    ),
    { numRuns: 500 },
  );
});

test('absurd nesting and structured-clone references are decode errors, not crashes', () => {
  const decoder = new FrameDecoder();
  assert.throws(() => decoder.decode(Buffer.alloc(2_000_000, 0x91)), isExpectedDecodeError);
  // ext 0x70 (a structured-clone pointer) with no reference map.
  assert.throws(() => decoder.decode(Buffer.from([0x92, 0x04, 0xd6, 0x70, 0, 0, 0, 1])), isExpectedDecodeError);
  // array32 claiming 4 billion elements in a few bytes.
  assert.throws(() => decoder.decode(Buffer.from([0xdd, 0xff, 0xff, 0xff, 0xff, 0x04])), isExpectedDecodeError);
  // Trailing bytes after a complete value.
  assert.throws(() => decoder.decode(Buffer.from([0x91, 0x04, 0x00])), isExpectedDecodeError);
  // A valid body that is not an array, and an unknown frame type.
  assert.throws(() => decoder.decode(Buffer.from([0x04])), /PROTOCOL_VIOLATION|not a non-empty array/);
  assert.throws(() => decoder.decode(Buffer.from([0x91, 0x09])), /unknown frame type/);
  assert.deepEqual(decoder.decode(Buffer.from([0x92, 0x04, 0x01])), { type: 'batch', body: [4, 1] });
});
