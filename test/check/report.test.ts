import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkHistory } from '../../src/check/check-history.js';
import { renderHtmlReport } from '../../src/check/html-report.js';
import { get, put, timedOut } from './ops.js';

const staleRead = [
  put('c1', 'a', [0, 1], 1, 'acct<1>'),
  put('c1', 'b', [2, 3], 2, 'acct<1>'),
  put('c3', 'c', [3.5, 10], 3, 'acct<1>'),
  timedOut(put('c4', '<script>alert(1)</script>', [3.6, 4], undefined, 'acct<1>')),
  get('c2', [4, 5], 'a', 1, 'acct<1>'),
  put('c1', 'fine', [0, 1], 1, 'other'),
];

test('the HTML report names the failing key and operations, and shows the timeline and the linearization', () => {
  const result = checkHistory(staleRead);
  assert.equal(result.verdict, 'not-linearizable');
  const html = renderHtmlReport(result);
  assert.match(html, /^<!doctype html>/);
  assert.match(html, /Key &#34;acct&#60;1&#62;&#34;: <span class="not-linearizable">/);
  assert.match(html, /<svg /);
  // The failing read, the write that made it stale, and the operations overlapping it all appear.
  for (const id of ['acct<1>/c2:4', 'acct<1>/c1:2', 'acct<1>/c3:3.5']) {
    assert.ok(
      html.includes(JSON.stringify(id).replaceAll('"', '&#34;').replaceAll('<', '&#60;').replaceAll('>', '&#62;')),
      id,
    );
  }
  assert.match(html, /could not be linearized/);
  assert.match(html, /End of the longest linearization found \(\d+ operations\)/);
  assert.match(html, /<td>other<\/td><td class="verdict linearizable">/);
  // User data never reaches the page unescaped.
  assert.ok(!html.includes('<script>'));
  assert.ok(!html.includes('acct<1>'));
});

test('a linearizable result gets a summary and no timeline', () => {
  const html = renderHtmlReport(checkHistory([put('c1', 'a', [0, 1], 1), get('c2', [2, 3], 'a', 1)]));
  assert.match(html, /Linearizability: <span class="verdict linearizable">linearizable<\/span>/);
  assert.ok(!html.includes('<svg'));
});

test('a key the search gave up on is reported as undecided, with what to do', () => {
  const html = renderHtmlReport(checkHistory(staleRead, { timeBudgetMsPerKey: 0, now: () => 0 }));
  assert.match(html, /class="verdict unknown">unknown/);
  assert.match(html, /time budget exhausted: raise it to decide/);
  assert.match(html, /neither proven linearizable nor proven not to be/);
});
