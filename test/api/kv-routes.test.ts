import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { ApiError } from '../../src/api/errors.js';
import { requireKey } from '../../src/api/kv-routes.js';

const codeUnit = fc
  .oneof(fc.integer({ min: 0x20, max: 0x7e }), fc.integer({ min: 0xd7f0, max: 0xe010 }))
  .map((c) => String.fromCharCode(c));

const code = (f: () => unknown): string | undefined => {
  try {
    f();
    return undefined;
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error.code;
  }
};

test('requireKey accepts any well-formed key and refuses empty, oversized and lone-surrogate keys', () => {
  assert.equal(requireKey('bench-key'), 'bench-key');
  assert.equal(requireKey('caf\u00e9/\u{1f600}'), 'caf\u00e9/\u{1f600}', 'a surrogate pair is one character');
  assert.equal(
    code(() => requireKey('')),
    'INVALID_KEY',
  );
  assert.equal(
    code(() => requireKey(undefined)),
    'INVALID_KEY',
  );
  assert.equal(
    code(() => requireKey('x'.repeat(4097))),
    'KEY_TOO_LARGE',
  );
  for (const bad of ['a\ud800', '\udc00b', 'a\ud800\ud800\udc00', '\ud83d\ude00\ude00']) {
    assert.equal(
      code(() => requireKey(bad)),
      'INVALID_KEY',
      JSON.stringify(bad),
    );
  }
});

test('requireKey agrees with a UTF-8 round trip on arbitrary strings (property)', () => {
  fc.assert(
    // Code units around and inside the surrogate range, and ASCII: lone and paired surrogates both come up.
    fc.property(fc.string({ unit: codeUnit, minLength: 1, maxLength: 12 }), (key) => {
      const wellFormed = Buffer.from(key, 'utf8').toString('utf8') === key;
      assert.equal(code(() => requireKey(key)) === undefined, wellFormed);
    }),
    { numRuns: 2000 },
  );
});
