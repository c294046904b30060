import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SseParser } from '../../src/client/sse-parser.js';

describe('SSE parser', () => {
  test('events split anywhere, even inside a multi-byte character, come out whole', () => {
    const text = 'id: 7\ndata: {"key":"clé-ключ-鍵-🔑"}\n\n: keepalive\n\nid: 8\r\ndata: a\r\ndata: b\r\n\r\n';
    const bytes = Buffer.from(text, 'utf8');
    for (let cut = 1; cut < bytes.length; cut++) {
      const parser = new SseParser();
      const events = [...parser.push(bytes.subarray(0, cut)), ...parser.push(bytes.subarray(cut))];
      assert.deepEqual(events, [
        { id: '7', event: 'message', data: '{"key":"clé-ключ-鍵-🔑"}' },
        { id: '8', event: 'message', data: 'a\nb' },
      ]);
    }
  });

  test('named events and a bounded event size', () => {
    const parser = new SseParser(64);
    assert.deepEqual(parser.push('event: error\ndata: {"x":1}\n\n'), [{ id: null, event: 'error', data: '{"x":1}' }]);
    assert.throws(() => parser.push(`data: ${'x'.repeat(100)}`), /too large/);
  });
});
