import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Packr } from 'msgpackr';
import { decodeCommand, encodeCommand, validateCommand } from '../../src/kv/command-codec.js';
import { KvError } from '../../src/kv/errors.js';
import { resolveLimits } from '../../src/kv/options.js';
import type { KvCommand } from '../../src/kv/types.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const raw = new Packr({ useRecords: false });

test('every command type round-trips through encode/decode', () => {
  const commands: KvCommand[] = [
    { type: 'put', key: 'k', value: bytes('v') },
    { type: 'put', key: 'k', value: new Uint8Array(0), lease: 3, ifVersion: 0, ifModRevision: 7, prevKv: true },
    { type: 'delete', key: 'k', ifVersion: 2, prevKv: true },
    { type: 'deleteRange', prefix: 'p/' },
    { type: 'deleteRange', start: 'a', end: 'b', prevKv: false },
    {
      type: 'txn',
      compare: [
        { key: 'a', target: 'version', op: '=', value: 1 },
        { key: 'a', target: 'value', op: '!=', value: bytes('x') },
      ],
      success: [
        { type: 'put', key: 'a', value: bytes('1'), lease: 2 },
        { type: 'delete', key: 'b' },
        { type: 'deleteRange', prefix: 'c' },
        { type: 'get', key: 'd' },
        { type: 'range', start: 'e', end: 'f', limit: 10, keysOnly: true },
      ],
      failure: [],
    },
    { type: 'leaseGrant', id: 9, ttlSeconds: 30 },
    { type: 'leaseRevoke', id: 9 },
    { type: 'compact', revision: 100 },
  ];
  for (const command of commands) {
    assert.deepStrictEqual(decodeCommand(encodeCommand(command)), command);
  }
});

test('decoded values are plain Uint8Arrays, and lease 0 means no lease', () => {
  const decoded = decodeCommand(encodeCommand({ type: 'put', key: 'k', value: bytes('v'), lease: 0 }));
  assert.equal(decoded.type === 'put' && decoded.value.constructor, Uint8Array);
  assert.equal('lease' in decoded, false);
});

test('validation errors carry stable codes', () => {
  const limits = resolveLimits({ maxValueBytes: 4, maxTxnOps: 1 });
  const check = (command: unknown, code: string) =>
    assert.throws(
      () => validateCommand(command, limits),
      (e: unknown) => e instanceof KvError && e.code === code,
    );
  check({ type: 'put', key: '', value: bytes('') }, 'INVALID_KEY');
  check({ type: 'put', key: 5, value: bytes('') }, 'INVALID_KEY');
  check({ type: 'put', key: 'a\ud800b', value: bytes('') }, 'INVALID_KEY');
  check({ type: 'put', key: 'x'.repeat(4097), value: bytes('') }, 'KEY_TOO_LARGE');
  check({ type: 'put', key: '\u{1F600}'.repeat(1025), value: bytes('') }, 'KEY_TOO_LARGE');
  check({ type: 'put', key: 'k', value: bytes('12345') }, 'VALUE_TOO_LARGE');
  check({ type: 'put', key: 'k', value: 'not bytes' }, 'INVALID_COMMAND');
  check({ type: 'put', key: 'k', value: bytes(''), extra: 1 }, 'INVALID_COMMAND');
  check({ type: 'put', key: 'k', value: bytes(''), lease: -1 }, 'INVALID_COMMAND');
  check({ type: 'put', key: 'k', value: bytes(''), ifVersion: 1.5 }, 'INVALID_COMMAND');
  check({ type: 'put', key: 'k', value: bytes(''), prevKv: 'yes' }, 'INVALID_COMMAND');
  check({ type: 'nope' }, 'INVALID_COMMAND');
  check(null, 'INVALID_COMMAND');
  check([1, 2], 'INVALID_COMMAND');
  check({ type: 'deleteRange' }, 'INVALID_COMMAND');
  check({ type: 'deleteRange', prefix: 'a', end: 'b' }, 'INVALID_COMMAND');
  check(
    {
      type: 'txn',
      compare: [],
      success: [
        { type: 'get', key: 'a' },
        { type: 'get', key: 'b' },
      ],
    },
    'TXN_TOO_LARGE',
  );
  check({ type: 'txn', compare: [{ key: 'a', target: 'colour', op: '=', value: 1 }] }, 'INVALID_COMMAND');
  check({ type: 'txn', compare: [{ key: 'a', target: 'value', op: '=', value: 1 }] }, 'INVALID_COMMAND');
  check({ type: 'txn', compare: [{ key: 'a', target: 'version', op: '~', value: 1 }] }, 'INVALID_COMMAND');
  check({ type: 'txn', success: [{ type: 'put', key: 'a', value: bytes(''), ifVersion: 1 }] }, 'INVALID_COMMAND');
  check({ type: 'txn', success: [{ type: 'watch', key: 'a' }] }, 'INVALID_COMMAND');
  check({ type: 'leaseGrant', id: 0, ttlSeconds: 10 }, 'INVALID_COMMAND');
  check({ type: 'leaseGrant', id: 1, ttlSeconds: 1 }, 'INVALID_LEASE_TTL');
  check({ type: 'leaseGrant', id: 1, ttlSeconds: 9_000_000_001 }, 'INVALID_LEASE_TTL');
  check({ type: 'compact', revision: 0 }, 'INVALID_COMMAND');
  assert.doesNotThrow(() => validateCommand({ type: 'put', key: 'x'.repeat(4096), value: bytes('1234') }, limits));
});

test('encodeCommand refuses what the state machine would refuse', () => {
  assert.throws(() => encodeCommand({ type: 'put', key: '', value: bytes('') }), { code: 'INVALID_KEY' });
});

test('decoding arbitrary bytes either yields a valid command or throws a KvError, never anything else', () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 64 }), (data) => {
      try {
        const command = decodeCommand(data);
        assert.deepStrictEqual(validateCommand(command), command);
      } catch (error) {
        assert.ok(error instanceof KvError, String(error));
      }
    }),
    { numRuns: 2000, seed: 7 },
  );
});

test('decoding structurally random msgpack never throws anything but a KvError', () => {
  const anything = fc.anything({ maxDepth: 3, withTypedArray: true, withNullPrototype: false });
  const shaped = fc.record({
    type: fc.constantFrom('put', 'delete', 'txn', 'leaseGrant', 'deleteRange'),
    key: anything,
    value: anything,
  });
  fc.assert(
    fc.property(fc.oneof(anything, shaped), (value) => {
      let data: Uint8Array;
      try {
        data = raw.pack(value);
      } catch {
        return;
      }
      try {
        decodeCommand(data);
      } catch (error) {
        assert.ok(error instanceof KvError, String(error));
      }
    }),
    { numRuns: 1000, seed: 11 },
  );
});
