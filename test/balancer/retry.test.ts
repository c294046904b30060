import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BalancerOptions, createBalancer } from '../../src/balancer/balancer.js';
import { BalancerError } from '../../src/balancer/errors.js';
import { RetryBudget } from '../../src/balancer/retry-budget.js';
import type { Host } from '../../src/balancer/types.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, hosts } from './helpers.js';

test('budget: retries up to 20 % of the window’s requests, plus a floor of N per second', () => {
  const clock = new FakeClock(0);
  const budget = new RetryBudget(clock.now, { budgetPercent: 20, minRetriesPerSecond: 0, windowMs: 10_000 });
  for (let i = 0; i < 100; i++) budget.recordRequest();
  let granted = 0;
  while (budget.tryRetry()) granted++;
  assert.equal(granted, 20);
  const floor = new RetryBudget(clock.now, { budgetPercent: 20, minRetriesPerSecond: 3 });
  let fromFloor = 0;
  while (floor.tryRetry()) fromFloor++;
  assert.equal(fromFloor, 3, 'with no requests yet, the per-second floor still allows a few');
  clock.advance(1000);
  assert.equal(floor.tryRetry(), true, 'the floor renews every second');
});

test('budget: requests and retries leave the window after windowMs', () => {
  const clock = new FakeClock(0);
  const budget = new RetryBudget(clock.now, { budgetPercent: 50, minRetriesPerSecond: 0, windowMs: 3000 });
  for (let i = 0; i < 10; i++) budget.recordRequest();
  for (let i = 0; i < 5; i++) assert.equal(budget.tryRetry(), true);
  assert.equal(budget.tryRetry(), false);
  clock.advance(2999);
  assert.deepEqual(budget.snapshot(), { requests: 10, retries: 5 });
  clock.advance(1);
  assert.deepEqual(budget.snapshot(), { requests: 0, retries: 0 });
  assert.equal(budget.tryRetry(), false);
  clock.advance(-5000); // a clock stepping back keeps counting in the newest bucket
  budget.recordRequest();
  assert.deepEqual(budget.snapshot(), { requests: 1, retries: 0 });
});

function setup(options: Partial<BalancerOptions> = {}, n = 4) {
  const clock = new FakeClock();
  const lb = createBalancer({
    strategy: 'rr',
    hosts: hosts(n),
    random: new SeededRandom(3),
    now: clock.now,
    ...options,
  });
  return { lb, clock };
}

const failing =
  (bad: Set<string>, log: string[]) =>
  async (host: Host): Promise<string> => {
    log.push(host.id);
    if (bad.has(host.id)) throw new Error(`${host.id} failed`);
    return `answer from ${host.id}`;
  };

test('an idempotent request is retried on another host and succeeds there', async () => {
  // 3 hosts, 1 good, 2 retries: whatever the order, three distinct attempts must reach the good host.
  for (const good of ['h0', 'h1', 'h2']) {
    const { lb } = setup({}, 3);
    const log: string[] = [];
    const bad = new Set(['h0', 'h1', 'h2'].filter((id) => id !== good));
    const result = await lb.call({ idempotent: true }, failing(bad, log));
    assert.equal(result, `answer from ${good}`);
    assert.equal(new Set(log).size, log.length, 'never the same host twice');
    assert.equal(log.at(-1), good);
    assert.equal(lb.stats().retries.retries, log.length - 1);
  }
});

test('at most maxRetries retries; then the last error is thrown', async () => {
  const { lb } = setup({ retry: { maxRetries: 1 } });
  const log: string[] = [];
  const all = new Set(hosts(4).map((h) => h.id));
  await assert.rejects(lb.call({ idempotent: true }, failing(all, log)), /failed/);
  assert.equal(log.length, 2);
  assert.equal(lb.stats().retries.refused['max-attempts'], 1);
});

test('a request that is not idempotent is never retried; neither is an error isRetryable refuses', async () => {
  const { lb } = setup({ retry: { isRetryable: (e) => !(e instanceof TypeError) } });
  const log: string[] = [];
  const all = new Set(hosts(4).map((h) => h.id));
  await assert.rejects(lb.call({}, failing(all, log)));
  assert.equal(log.length, 1);
  await assert.rejects(
    lb.call({ idempotent: true }, async () => {
      throw new TypeError('bad request');
    }),
    TypeError,
  );
  const refused = lb.stats().retries.refused;
  assert.deepEqual([refused['not-idempotent'], refused['not-retryable']], [1, 1]);
});

test('retries stop when the budget is exhausted', async () => {
  const { lb } = setup({ retry: { budgetPercent: 20, minRetriesPerSecond: 2, maxRetries: 2 } }, 10);
  let attempts = 0;
  for (let i = 0; i < 20; i++) {
    await assert.rejects(
      lb.call({ idempotent: true }, async (host) => {
        attempts++;
        throw new Error(`${host.id} down`);
      }),
    );
  }
  const stats = lb.stats().retries;
  // The 2-per-second floor pays for the first request's 2 retries; after that a retry needs retries + 1 ≤ 20 % of
  // the requests so far, which the 15th and the 20th request reach: 4 retries in all, every other one refused.
  assert.equal(stats.retries, 4);
  assert.equal(attempts, 24);
  assert.ok(stats.refused['budget-exhausted'] > 0);
});

test('no other host left: the retry is not made (and costs no budget)', async () => {
  const { lb } = setup({}, 1);
  const log: string[] = [];
  await assert.rejects(lb.call({ idempotent: true }, failing(new Set(['h0']), log)));
  assert.equal(log.length, 1);
  const stats = lb.stats().retries;
  assert.equal(stats.refused['no-other-host'], 1);
  assert.equal(stats.window.retries, 0);
});

test('call() with no host at all rejects with NO_HOST_AVAILABLE; a sync throw in send is a failure', async () => {
  const { lb } = setup({}, 0);
  await assert.rejects(
    lb.call({}, async () => 'never'),
    (e: unknown) => e instanceof BalancerError && e.code === 'NO_HOST_AVAILABLE',
  );
  const two = setup({}, 2).lb;
  const result = await two.call({ idempotent: true }, (host) => {
    if (host.id === two.stats().hosts[0]!.id && two.stats().hosts[0]!.requests === 1) throw new Error('sync');
    return Promise.resolve('ok');
  });
  assert.equal(result, 'ok');
  assert.equal(
    two.stats().hosts.reduce((t, h) => t + h.pending, 0),
    0,
    'every attempt released its in-flight slot',
  );
});

test('call() accounts latency and failures on the hosts it used', async () => {
  const { lb, clock } = setup({}, 2);
  await lb.call({}, async () => {
    clock.advance(25);
    return null;
  });
  const used = lb.stats().hosts.find((h) => h.requests === 1)!;
  assert.equal(used.ewmaMs, 25);
  assert.equal(used.pending, 0);
});
