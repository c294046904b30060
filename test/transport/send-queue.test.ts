import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TransportError } from '../../src/transport/errors.js';
import { SendQueue, Waiter } from '../../src/transport/send-queue.js';

const item = (size: number, enqueuedAt = 0) => ({ bytes: Buffer.alloc(size), enqueuedAt, waiter: undefined });

test('the queue is FIFO and bounded by messages and by bytes', () => {
  const byCount = new SendQueue(3, 1000);
  for (let i = 0; i < 3; i++) {
    assert.ok(byCount.hasRoomFor(1));
    byCount.push(item(1, i));
  }
  assert.equal(byCount.hasRoomFor(1), false);
  assert.equal(byCount.shift()!.enqueuedAt, 0);
  assert.ok(byCount.hasRoomFor(1));

  const byBytes = new SendQueue(100, 10);
  byBytes.push(item(6));
  assert.ok(byBytes.hasRoomFor(4));
  assert.equal(byBytes.hasRoomFor(5), false);
  assert.equal(byBytes.bytes, 6);
});

test('a long run of push/shift keeps order and accounting (head compaction)', () => {
  const queue = new SendQueue(10_000, 1_000_000);
  let nextIn = 0;
  let nextOut = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 300; i++) queue.push(item(2, nextIn++));
    for (let i = 0; i < 250; i++) assert.equal(queue.shift()!.enqueuedAt, nextOut++);
    assert.equal(queue.messages, nextIn - nextOut);
    assert.equal(queue.bytes, 2 * (nextIn - nextOut));
  }
  while (queue.messages > 0) assert.equal(queue.shift()!.enqueuedAt, nextOut++);
  assert.equal(queue.shift(), undefined);
  assert.equal(queue.bytes, 0);
});

test('dropOlderThan removes only the expired head; clear empties it', () => {
  const queue = new SendQueue(100, 1000);
  for (const at of [1, 2, 3, 10, 11]) queue.push(item(1, at));
  assert.deepEqual(
    queue.dropOlderThan(10).map((x) => x.enqueuedAt),
    [1, 2, 3],
  );
  assert.equal(queue.messages, 2);
  assert.equal(queue.clear().length, 2);
  assert.equal(queue.messages, 0);
  assert.equal(queue.bytes, 0);
});

test('a waiter settles once', () => {
  const outcomes: string[] = [];
  const waiter = new Waiter(
    () => outcomes.push('resolved'),
    (error) => outcomes.push(error.code),
  );
  waiter.reject(new TransportError('CONNECTION_LOST', 'x'));
  waiter.resolve();
  waiter.reject(new TransportError('TRANSPORT_CLOSED', 'y'));
  assert.deepEqual(outcomes, ['CONNECTION_LOST']);
});
