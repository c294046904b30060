import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHistory } from '../../src/check/check-history.js';
import { InvalidHistoryError } from '../../src/check/errors.js';
import { parseHistoryText, validateHistory } from '../../src/check/history.js';

const good = {
  id: 1,
  clientId: 'c1',
  key: 'k',
  op: 'put',
  input: { value: 'a' },
  call: 0,
  return: 1.5,
  output: { ok: true, version: 1, revision: 17 },
};

function rejects(record: Record<string, unknown>, pattern: RegExp): void {
  assert.throws(
    () => validateHistory([record]),
    (err: unknown) => err instanceof InvalidHistoryError && err.code === 'INVALID_HISTORY' && pattern.test(err.message),
  );
}

test('a well-formed history is accepted; unknown output fields are ignored and input defaults to {}', () => {
  const [op] = validateHistory([good]);
  assert.deepEqual(op?.output, { ok: true, version: 1 });
  const [read] = validateHistory([
    { id: 'r', clientId: 2, key: 'k', op: 'get', call: 3, return: 4, output: { found: false } },
  ]);
  assert.deepEqual(read?.input, {});
});

test('malformed operations are refused with a message naming the operation and the field', () => {
  rejects({ ...good, id: undefined }, /operation #0: id must be/);
  rejects({ ...good, clientId: {} }, /operation #0 \(id 1\): clientId/);
  rejects({ ...good, key: 7 }, /key must be a string/);
  rejects({ ...good, op: 'scan' }, /op must be 'get', 'put' or 'delete'/);
  rejects({ ...good, input: {} }, /a put needs input\.value/);
  rejects({ ...good, input: { value: 'a', ifModRevision: 3 } }, /input\.ifModRevision is not supported/);
  rejects({ ...good, input: { value: 'a', ifVersion: -1 } }, /ifVersion must be an integer/);
  rejects({ ...good, op: 'get', input: { value: 'a' }, output: { found: false } }, /a get takes no input\.value/);
  rejects({ ...good, call: Number.NaN }, /call must be a finite number/);
  rejects({ ...good, return: 'soon' }, /return must be a finite number/);
  rejects({ ...good, call: 5, return: 4 }, /return \(4\) is before call \(5\)/);
  rejects({ ...good, output: undefined }, /output is missing/);
  rejects({ ...good, output: null }, /return must be null too/);
  rejects({ ...good, return: null }, /set output to null/);
  rejects({ ...good, output: { ok: false, code: 'TIMEOUT' } }, /"TIMEOUT" is not understood/);
  rejects({ ...good, output: { ok: false, code: 'COMPARE_FAILED' } }, /COMPARE_FAILED needs input\.ifVersion/);
  rejects({ ...good, output: { ok: true, version: 0 } }, /output\.version must be an integer/);
  rejects({ ...good, op: 'get', input: {}, output: { found: true } }, /needs value as a string/);
  rejects({ ...good, op: 'delete', input: {}, output: { deleted: 2 } }, /deleted: 0 or 1/);
  assert.throws(() => validateHistory([good, good]), /the id is used twice/);
  assert.throws(() => validateHistory([good, good], 1), /more than the limit of 1/);
  assert.throws(() => validateHistory({} as unknown as unknown[]), /must be an array/);
});

test('checkHistory validates too', () => {
  assert.throws(() => checkHistory([{ ...good, op: 'cas' }]), InvalidHistoryError);
});

test('JSON lines are parsed, skipping blank and comment lines; errors name the line', () => {
  const text = `# a history\n${JSON.stringify(good)}\n\n${JSON.stringify({ ...good, id: 2, call: 2, return: 3 })}\n`;
  assert.equal(parseHistoryText(text).length, 2);
  assert.throws(
    () => parseHistoryText(`${JSON.stringify(good)}\n{not json\n`),
    (err: unknown) =>
      err instanceof InvalidHistoryError && /line 2 is not valid JSON/.test(err.message) && err.index === 1,
  );
  assert.throws(() => parseHistoryText('1\n2\n3\n', 2), /more operations than the limit of 2/);
});

test('a JSON array is parsed too', () => {
  assert.equal(parseHistoryText(` [${JSON.stringify(good)}]`).length, 1);
  assert.throws(() => parseHistoryText('[1, 2'), /not valid JSON/);
});
