import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TurnFlush, turnFlush } from '../../src/util/turn-flush.js';

/** A TurnFlush whose end of turn the test triggers by hand. */
function manual(): { flush: TurnFlush; deferred: (() => void)[] } {
  const deferred: (() => void)[] = [];
  return { flush: new TurnFlush((run) => deferred.push(run)), deferred };
}

test('responses are flushed before peer messages, each group in the order scheduled, from one deferred run', () => {
  const { flush, deferred } = manual();
  const order: string[] = [];
  flush.schedule('peers', () => order.push('peer A'));
  flush.schedule('responses', () => order.push('response 1'));
  flush.schedule('peers', () => order.push('peer B'));
  flush.schedule('responses', () => order.push('response 2'));
  assert.equal(deferred.length, 1, 'one end-of-turn run for the whole turn');
  assert.deepEqual(order, [], 'nothing is written before the end of the turn');
  deferred[0]!();
  assert.deepEqual(order, ['response 1', 'response 2', 'peer A', 'peer B']);
});

test('a flush scheduled while the flushes run goes to the next turn', () => {
  const { flush, deferred } = manual();
  const order: string[] = [];
  flush.schedule('peers', () => {
    order.push('peer');
    flush.schedule('responses', () => order.push('late response'));
  });
  deferred[0]!();
  assert.deepEqual(order, ['peer']);
  assert.equal(deferred.length, 2);
  deferred[1]!();
  assert.deepEqual(order, ['peer', 'late response']);
});

test('flushNow writes what was scheduled at once, in the usual order; the end-of-turn run then finds nothing', () => {
  const { flush, deferred } = manual();
  const order: string[] = [];
  flush.flushNow();
  assert.equal(order.length, 0, 'nothing scheduled, nothing run');
  flush.schedule('peers', () => order.push('append'));
  flush.schedule('responses', () => order.push('response'));
  flush.flushNow();
  assert.deepEqual(order, ['response', 'append']);
  deferred[0]!();
  assert.deepEqual(order, ['response', 'append'], 'each flush ran once');
  flush.schedule('peers', () => order.push('next append'));
  assert.equal(deferred.length, 2, 'a flush scheduled afterwards gets an end-of-turn run of its own');
  deferred[1]!();
  assert.deepEqual(order, ['response', 'append', 'next append']);
});

test('a throwing flush does not keep the others from running; its error is rethrown afterwards', () => {
  const { flush, deferred } = manual();
  const order: string[] = [];
  flush.schedule('responses', () => {
    throw new Error('first');
  });
  flush.schedule('responses', () => {
    throw new Error('second');
  });
  flush.schedule('peers', () => order.push('peer'));
  assert.throws(() => deferred[0]!(), /first/);
  assert.deepEqual(order, ['peer']);
  // The queue is usable afterwards.
  flush.schedule('peers', () => order.push('next turn'));
  deferred[1]!();
  assert.deepEqual(order, ['peer', 'next turn']);
});

test('the process-wide queue flushes at the end of the turn, after the current callback and its microtasks', async () => {
  const order: string[] = [];
  turnFlush.schedule('peers', () => order.push('peer'));
  turnFlush.schedule('responses', () => order.push('response'));
  queueMicrotask(() => order.push('microtask'));
  order.push('sync');
  await new Promise<void>((resolve) => setImmediate(resolve));
  assert.deepEqual(order, ['sync', 'microtask', 'response', 'peer']);
});
