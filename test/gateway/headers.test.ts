import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clientAddress, downstreamHeaders, upstreamHeaders } from '../../src/gateway/headers.js';

describe('proxy headers', () => {
  test('upstream: hop-by-hop headers dropped (also those Connection names), X-Forwarded-* added', () => {
    const out = upstreamHeaders(
      {
        host: 'gw.example:7300',
        connection: 'keep-alive, x-session-secret',
        'keep-alive': 'timeout=5',
        'x-session-secret': 'do not pass',
        'transfer-encoding': 'chunked',
        'content-length': '12',
        expect: '100-continue',
        'last-event-id': '41',
        'content-type': 'application/json',
        'x-forwarded-for': '203.0.113.7, 10.0.0.1',
      },
      '127.0.0.1',
      null,
    );
    assert.deepEqual(out, {
      'last-event-id': '41',
      'content-type': 'application/json',
      'x-forwarded-for': '203.0.113.7, 10.0.0.1, 127.0.0.1',
      'x-forwarded-proto': 'http',
      'x-forwarded-host': 'gw.example:7300',
    });
    assert.equal(upstreamHeaders({}, '::1', 5)['content-length'], '5', 'a streamed body keeps its length');
    assert.equal(upstreamHeaders({}, '::1', null)['x-forwarded-for'], '::1');
  });

  test('downstream: everything but hop-by-hop headers', () => {
    assert.deepEqual(
      downstreamHeaders({
        'content-type': 'text/event-stream',
        'cairn-revision': '9',
        connection: 'keep-alive',
        'keep-alive': 'timeout=5',
        'transfer-encoding': 'chunked',
        'set-cookie': ['a=1', 'b=2'],
      }),
      { 'content-type': 'text/event-stream', 'cairn-revision': '9', 'set-cookie': ['a=1', 'b=2'] },
    );
  });

  test('the client address comes from the socket unless X-Forwarded-For is trusted', () => {
    const headers = { 'x-forwarded-for': ' 198.51.100.4 , 10.0.0.1' };
    assert.equal(clientAddress(headers, '10.0.0.9', false), '10.0.0.9');
    assert.equal(clientAddress(headers, '10.0.0.9', true), '198.51.100.4');
    assert.equal(clientAddress({}, '10.0.0.9', true), '10.0.0.9');
  });
});
