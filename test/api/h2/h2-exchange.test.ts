import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import { type ExchangeConnection, H2Exchange } from '../../../src/api/h2/h2-exchange.js';
import { readBody, sendJson } from '../../../src/api/http-server.js';

interface Sent {
  headerBlock: Buffer | null;
  data: Buffer | null;
  end: boolean;
}

/** Records what the exchange reports to its connection (the flow-control accounting and the frames sent). */
function exchange(): { ex: H2Exchange; consumed: number[]; sent: Sent[] } {
  const consumed: number[] = [];
  const sent: Sent[] = [];
  const connection: ExchangeConnection = {
    send: (ex, data, end) => {
      sent.push({ headerBlock: ex.headerBlock, data, end });
      ex.headerBlock = null;
      return true;
    },
    consumed: (_ex, bytes) => consumed.push(bytes),
  };
  return { ex: new H2Exchange(connection, 1, {}, 'PUT', '/v1/kv/k', 65_535, 65_535), consumed, sent };
}

test('a body that has fully arrived is taken at once: concatenated, counted as consumed, no events after', async () => {
  const { ex, consumed } = exchange();
  ex.pushBody(Buffer.from('hello '));
  ex.pushBody(Buffer.from('world'));
  ex.endBody();
  let events = 0;
  ex.on('end', () => events++);
  const body = await readBody(ex, 1024);
  assert.equal(body.toString(), 'hello world');
  assert.deepEqual(consumed, [11], 'the receive window is replenished for the whole body');
  assert.equal(ex.takeBufferedBody(), null, 'the body can be taken once');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.equal(events, 0);
});

test('a body still arriving, or already being read, is not taken: readBody streams it as before', async () => {
  const { ex, consumed } = exchange();
  ex.pushBody(Buffer.from('part 1, '));
  assert.equal(ex.takeBufferedBody(), null, 'not complete yet');
  const reading = readBody(ex, 1024);
  ex.pushBody(Buffer.from('part 2'));
  ex.endBody();
  assert.equal((await reading).toString(), 'part 1, part 2');
  assert.deepEqual(consumed, [8, 6]);
  assert.equal(ex.takeBufferedBody(), null, 'already read');
});

test("an empty body is taken as an empty buffer; one over the limit is refused with the caller's error", async () => {
  const empty = exchange();
  empty.ex.endBody();
  assert.equal((await readBody(empty.ex, 16)).length, 0);
  assert.deepEqual(empty.consumed, []);

  const big = exchange();
  big.ex.pushBody(Buffer.alloc(17));
  big.ex.endBody();
  await assert.rejects(
    readBody(big.ex, 16, () => new ApiError('VALUE_TOO_LARGE', 'too big')),
    (e: unknown) => {
      assert.ok(e instanceof ApiError);
      assert.equal(e.code, 'VALUE_TOO_LARGE');
      return true;
    },
  );
});

test("sendJson's cached path sends the same header block and body as writeHead + end", () => {
  for (const [status, body] of [
    [200, { revision: 12, version: 3 }],
    [404, { error: { code: 'KEY_NOT_FOUND', message: 'no key "é"' } }],
    [201, []],
  ] as const) {
    const fast = exchange();
    sendJson(fast.ex, status, body);
    const slow = exchange();
    const text = JSON.stringify(body);
    slow.ex.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    slow.ex.end(text);
    assert.deepEqual(fast.sent, slow.sent);
    assert.equal(fast.sent.length, 1);
    assert.equal(fast.sent[0]!.end, true);
    assert.equal(fast.ex.statusCode, status);
    assert.ok(fast.ex.headersSent && fast.ex.writableEnded);
  }
  // Extra headers take the general path, and still arrive.
  const extra = exchange();
  sendJson(extra.ex, 200, {}, { 'x-cairn-leader': 'n1' });
  assert.ok(extra.sent[0]!.headerBlock!.includes(Buffer.from('x-cairn-leader')));
});

test('after the headers went out, endJson only ends the body; on a closed stream it sends nothing', () => {
  const started = exchange();
  started.ex.writeHead(200, { 'content-type': 'application/x-ndjson' });
  started.ex.write('{"a":1}\n');
  started.ex.endJson(200, '{"b":2}');
  assert.equal(started.sent.length, 2);
  assert.equal(started.sent[1]!.data!.toString(), '{"b":2}');
  assert.equal(started.sent[1]!.end, true);

  const closed = exchange();
  closed.ex.onClosed(true);
  closed.ex.endJson(200, '{}');
  assert.deepEqual(closed.sent, []);
});

test('the completion hook runs once, before finish and close, whether the stream ended or was reset', () => {
  for (const aborted of [false, true]) {
    const { ex } = exchange();
    const order: string[] = [];
    ex.startedMs = 42;
    ex.completionHook = (done) => {
      assert.equal(done, ex);
      assert.equal(done.startedMs, 42);
      order.push('hook');
    };
    ex.on('finish', () => order.push('finish'));
    ex.on('close', () => order.push('close'));
    ex.on('error', () => order.push('error'));
    ex.onClosed(aborted);
    ex.onClosed(aborted);
    assert.deepEqual(order, aborted ? ['hook', 'error', 'close'] : ['hook', 'finish', 'close']);
  }
});
