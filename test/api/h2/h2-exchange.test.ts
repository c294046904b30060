import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiError } from '../../../src/api/errors.js';
import { type ExchangeConnection, H2Exchange } from '../../../src/api/h2/h2-exchange.js';
import { readBody } from '../../../src/api/http-server.js';

/** Records what the exchange reports to its connection (the flow-control accounting under test). */
function exchange(): { ex: H2Exchange; consumed: number[] } {
  const consumed: number[] = [];
  const connection: ExchangeConnection = {
    send: () => true,
    consumed: (_ex, bytes) => consumed.push(bytes),
  };
  return { ex: new H2Exchange(connection, 1, {}, 'PUT', '/v1/kv/k', 65_535, 65_535), consumed };
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
