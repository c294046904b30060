import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { API_ERRORS } from '../../src/api/errors.js';
import {
  API_ERROR_CODES,
  CairnError,
  CompactedError,
  CompareFailedError,
  KeyNotFoundError,
  LearnerNotReadyError,
  TimeoutError,
  UnavailableError,
} from '../../src/client/errors.js';

describe('typed errors', () => {
  test('the SDK knows every code the API documents, each with its own class named after it', () => {
    assert.deepEqual([...API_ERROR_CODES].sort(), Object.keys(API_ERRORS).sort());
    for (const code of API_ERROR_CODES) {
      const error = CairnError.create(code, API_ERRORS[code].status, 'm');
      assert.ok(error instanceof CairnError);
      assert.notEqual(error.constructor, CairnError, `${code} has a subclass`);
      assert.equal(error.code, code);
      // KEY_NOT_FOUND → KeyNotFoundError
      const expected = `${code
        .toLowerCase()
        .split('_')
        .map((w) => w[0]!.toUpperCase() + w.slice(1))
        .join('')}Error`;
      assert.equal(error.name, expected);
      assert.equal(error.constructor.name, expected);
    }
  });

  test('fromResponse keeps code, status, message and the extra fields', () => {
    const body = Buffer.from(JSON.stringify({ error: { code: 'COMPACTED', message: 'too old', oldestRevision: 42 } }));
    const error = CairnError.fromResponse(410, body);
    assert.ok(error instanceof CompactedError);
    assert.equal(error.status, 410);
    assert.equal(error.message, 'too old');
    assert.equal(error.oldestRevision, 42);
    assert.deepEqual(error.details, { oldestRevision: 42 });

    const notReady = CairnError.fromResponse(
      409,
      JSON.stringify({ error: { code: 'LEARNER_NOT_READY', message: 'x', match: 5, lastIndex: 10 } }),
    );
    assert.ok(notReady instanceof LearnerNotReadyError);
    assert.equal(notReady.details.match, 5);
  });

  test('an unknown code is still a CairnError; a non-JSON answer is classified by its status', () => {
    const future = CairnError.fromResponse(418, JSON.stringify({ error: { code: 'SOMETHING_NEW', message: 'm' } }));
    assert.equal(future.constructor, CairnError);
    assert.equal(future.code, 'SOMETHING_NEW');
    assert.ok(CairnError.fromResponse(503, Buffer.from('<html>bad gateway</html>')) instanceof UnavailableError);
    assert.ok(CairnError.fromResponse(504, Buffer.from('')) instanceof TimeoutError);
    const internal = CairnError.fromResponse(502, Buffer.from('x'.repeat(1000)));
    assert.equal(internal.code, 'INTERNAL');
    assert.ok(internal.message.length < 300, 'the quoted body is bounded');
  });

  test('surelyNotApplied is false only for outcomes that may have taken effect', () => {
    assert.equal(new TimeoutError(504, 'm').surelyNotApplied, false);
    assert.equal(CairnError.create('INTERNAL', 500, 'm').surelyNotApplied, false);
    assert.equal(new UnavailableError(503, 'm').surelyNotApplied, true);
    assert.equal(new CompareFailedError(412, 'm').surelyNotApplied, true);
    assert.equal(new KeyNotFoundError(404, 'm').surelyNotApplied, true);
  });
});
