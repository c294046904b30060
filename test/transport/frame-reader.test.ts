import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { TransportError } from '../../src/transport/errors.js';
import { FrameReader } from '../../src/transport/frame-reader.js';
import { rawFrame } from './harness.js';

// Deterministic by default; FC_SEED=<n> explores other cases.
fc.configureGlobal({ seed: Number(process.env.FC_SEED ?? 20_251_127) });

/** Cuts `bytes` at the given (sorted, deduplicated) offsets. */
function split(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((cut) => cut % (bytes.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let start = 0;
  for (const point of points) {
    pieces.push(bytes.subarray(start, point));
    start = point;
  }
  pieces.push(bytes.subarray(start));
  return pieces;
}

test('frames come back whole and in order however the stream is cut', () => {
  fc.assert(
    fc.property(
      fc.array(fc.uint8Array({ minLength: 1, maxLength: 300 }), { minLength: 1, maxLength: 20 }),
      fc.array(fc.nat(), { maxLength: 40 }),
      (bodies, cuts) => {
        const stream = Buffer.concat(bodies.map((body) => rawFrame(Buffer.from(body))));
        const reader = new FrameReader(1024);
        const out: Buffer[] = [];
        for (const piece of split(stream, cuts)) out.push(...reader.push(piece));
        assert.deepEqual(
          out.map((b) => [...b]),
          bodies.map((b) => [...b]),
        );
        assert.equal(reader.midFrame, false);
      },
    ),
  );
});

test('a partial frame is reported as mid-frame', () => {
  const reader = new FrameReader(1024);
  const frame = rawFrame(Buffer.from('hello'));
  assert.deepEqual(reader.push(frame.subarray(0, 2)), []);
  assert.equal(reader.midFrame, true);
  assert.deepEqual(reader.push(frame.subarray(2, 6)), []);
  assert.equal(reader.bufferedBytes, 6);
  assert.equal(reader.push(frame.subarray(6)).length, 1);
  assert.equal(reader.midFrame, false);
});

test('a length prefix over the limit, or zero, throws FRAME_TOO_LARGE before any body arrives', () => {
  const reader = new FrameReader(100);
  const prefix = Buffer.alloc(4);
  prefix.writeUInt32BE(101, 0);
  assert.throws(
    () => reader.push(prefix),
    (error: unknown) => error instanceof TransportError && error.code === 'FRAME_TOO_LARGE',
  );
  assert.throws(() => new FrameReader(100).push(Buffer.alloc(4)), /empty frame/);
  assert.throws(() => new FrameReader(100).push(Buffer.from([0xff, 0xff, 0xff, 0xff])), /over the limit/);
  assert.equal(new FrameReader(100).push(rawFrame(Buffer.alloc(100))).length, 1);
});

test('a large frame arriving in many small reads is joined once and intact', () => {
  const body = Buffer.alloc(1_000_000);
  for (let i = 0; i < body.length; i++) body[i] = i % 251;
  const stream = rawFrame(body);
  const reader = new FrameReader(2_000_000);
  const out: Buffer[] = [];
  for (let offset = 0; offset < stream.length; offset += 65_536)
    out.push(...reader.push(stream.subarray(offset, offset + 65_536)));
  assert.equal(out.length, 1);
  assert.ok(out[0]!.equals(body));
});

test('setMaxFrameBytes raises the limit for later frames', () => {
  const reader = new FrameReader(10);
  assert.throws(() => reader.push(rawFrame(Buffer.alloc(11))));
  const next = new FrameReader(10);
  assert.equal(next.push(rawFrame(Buffer.alloc(10))).length, 1);
  next.setMaxFrameBytes(100);
  assert.equal(next.push(rawFrame(Buffer.alloc(50))).length, 1);
});
