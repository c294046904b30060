import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BalancerOptions, createBalancer } from '../../src/balancer/balancer.js';
import type { Host } from '../../src/balancer/types.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, FakeTimers, hosts, settle, tally } from './helpers.js';

type Answer = boolean | 'hang' | 'throw' | 'reject';

function setup(n: number, extra: Partial<BalancerOptions['health']> = {}, options: Partial<BalancerOptions> = {}) {
  const clock = new FakeClock();
  const timers = new FakeTimers(clock);
  const answers = new Map<string, Answer>();
  const probes: string[] = [];
  const aborted: string[] = [];
  const probe = (host: Host, { signal }: { signal: AbortSignal }): Promise<boolean> => {
    probes.push(host.id);
    signal.addEventListener('abort', () => aborted.push(host.id));
    const answer = answers.get(host.id) ?? true;
    if (answer === 'hang') return new Promise(() => {});
    if (answer === 'throw') throw new Error('probe blew up');
    if (answer === 'reject') return Promise.reject(new Error('connection refused'));
    return Promise.resolve(answer);
  };
  const lb = createBalancer({
    strategy: 'rr',
    hosts: hosts(n),
    random: new SeededRandom(1),
    now: clock.now,
    health: { probe, timers, ...extra },
    ...options,
  });
  const health = (id: string) => lb.stats().hosts.find((h) => h.id === id)!.health;
  return { lb, clock, timers, answers, probes, aborted, health };
}

test('new hosts start unknown, are probed at once, and the first answer decides', async () => {
  const { timers, answers, health, probes, lb } = setup(4);
  answers.set('h3', false);
  assert.equal(health('h0'), 'unknown');
  assert.equal(lb.stats().panic, true, 'nothing known yet: panic mode keeps every host in use');
  await timers.advance(0);
  assert.deepEqual(probes.sort(), ['h0', 'h1', 'h2', 'h3']);
  assert.deepEqual(['h0', 'h1', 'h2', 'h3'].map(health), ['healthy', 'healthy', 'healthy', 'unhealthy']);
  assert.equal(lb.stats().panic, false);
  assert.equal(tally(Array.from({ length: 30 }, () => lb.pick()!.id)).get('h3'), undefined);
  lb.close();
});

test('probes run every intervalMs; 2 failures mark unhealthy, 2 successes bring it back', async () => {
  const { timers, answers, health, probes, lb } = setup(4, { intervalMs: 5000 });
  await timers.advance(0);
  probes.length = 0;
  await timers.advance(5000);
  assert.equal(probes.length, 4, 'one probe per host per interval');
  answers.set('h1', false);
  await timers.advance(5000);
  assert.equal(health('h1'), 'healthy', 'one failure is not enough');
  await timers.advance(5000);
  assert.equal(health('h1'), 'unhealthy');
  assert.equal(tally(Array.from({ length: 30 }, () => lb.pick()!.id)).get('h1'), undefined);
  answers.set('h1', true);
  await timers.advance(5000);
  assert.equal(health('h1'), 'unhealthy', 'one success is not enough');
  await timers.advance(5000);
  assert.equal(health('h1'), 'healthy');
  lb.close();
});

test('custom thresholds are honoured', async () => {
  const { timers, answers, health, lb } = setup(2, { unhealthyThreshold: 3, healthyThreshold: 1, intervalMs: 1000 });
  await timers.advance(0);
  answers.set('h0', false);
  await timers.advance(2000);
  assert.equal(health('h0'), 'healthy');
  await timers.advance(1000);
  assert.equal(health('h0'), 'unhealthy');
  answers.set('h0', true);
  await timers.advance(1000);
  assert.equal(health('h0'), 'healthy');
  lb.close();
});

test('a probe that hangs times out (and is aborted); a throw or a rejection is a failure', async () => {
  const { timers, answers, health, aborted, lb } = setup(3, { timeoutMs: 1000, intervalMs: 5000 });
  answers.set('h0', 'hang');
  answers.set('h1', 'throw');
  answers.set('h2', 'reject');
  await timers.advance(0);
  assert.equal(health('h0'), 'unknown', 'still waiting for the answer');
  assert.equal(health('h1'), 'unhealthy');
  assert.equal(health('h2'), 'unhealthy');
  await timers.advance(1000);
  assert.equal(health('h0'), 'unhealthy');
  assert.ok(aborted.includes('h0'));
  lb.close();
});

test('a late answer after the timeout is ignored; the next probe waits for the interval', async () => {
  const clock = new FakeClock();
  const timers = new FakeTimers(clock);
  let release: ((value: boolean) => void) | null = null;
  let calls = 0;
  const lb = createBalancer({
    strategy: 'rr',
    hosts: hosts(1),
    random: new SeededRandom(1),
    now: clock.now,
    health: {
      timers,
      timeoutMs: 1000,
      intervalMs: 5000,
      probe: () => {
        calls++;
        return new Promise<boolean>((resolve) => {
          release = resolve;
        });
      },
    },
  });
  await timers.advance(1000);
  assert.equal(lb.stats().hosts[0]!.health, 'unhealthy');
  release!(true);
  await settle();
  assert.equal(lb.stats().hosts[0]!.health, 'unhealthy', 'the stale answer changed nothing');
  await timers.advance(4999);
  assert.equal(calls, 1);
  await timers.advance(1);
  assert.equal(calls, 2);
  lb.close();
});

test('membership changes start and stop probing; close() clears every timer', async () => {
  const { timers, probes, lb } = setup(2);
  await timers.advance(0);
  lb.setHosts([...hosts(1), { id: 'h9', address: '10.0.0.9:7201' }]);
  assert.equal(lb.stats().hosts.find((h) => h.id === 'h9')!.health, 'unknown');
  probes.length = 0;
  await timers.advance(0);
  assert.deepEqual(probes, ['h9'], 'a new host is probed at once');
  assert.equal(lb.stats().hosts.find((h) => h.id === 'h9')!.health, 'healthy');
  probes.length = 0;
  await timers.advance(5000);
  assert.deepEqual(probes.sort(), ['h0', 'h9'], 'the departed h1 is no longer probed');
  assert.equal(timers.pending, 2);
  lb.close();
  assert.equal(timers.pending, 0);
  await timers.advance(20_000);
  assert.equal(probes.length, 2);
});

test('panic threshold: below 50 % healthy, health is ignored; at or above, it is honoured', async () => {
  const { timers, answers, lb } = setup(4);
  answers.set('h0', false);
  answers.set('h1', false);
  await timers.advance(0);
  assert.equal(lb.stats().panic, false, '2 of 4 healthy is not below 50 %');
  assert.equal(tally(Array.from({ length: 40 }, () => lb.pick()!.id)).size, 2);
  answers.set('h2', false);
  await timers.advance(10_000);
  const stats = lb.stats();
  assert.equal(stats.healthyCount, 1);
  assert.equal(stats.panic, true);
  assert.ok(stats.hosts.every((h) => h.serving));
  assert.equal(tally(Array.from({ length: 40 }, () => lb.pick()!.id)).size, 4, 'panic: all four serve');
  lb.close();
});

test('jitter spreads the interval using the injected random', async () => {
  const { timers, probes, lb } = setup(1, { intervalMs: 1000, intervalJitterMs: 500 });
  await timers.advance(0);
  probes.length = 0;
  await timers.advance(999);
  assert.equal(probes.length, 0);
  await timers.advance(501);
  assert.equal(probes.length, 1);
  lb.close();
});
