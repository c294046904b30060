import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BalancerOptions, createBalancer } from '../../src/balancer/balancer.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, hosts, tally } from './helpers.js';

function balancer(n: number, extra: Partial<BalancerOptions> = {}) {
  const clock = new FakeClock();
  const lb = createBalancer({ strategy: 'rr', hosts: hosts(n), random: new SeededRandom(1), now: clock.now, ...extra });
  const fail = (id: string, times = 1) => {
    for (let i = 0; i < times; i++) lb.end(lb.begin(id), { ok: false, latencyMs: 1 });
  };
  const host = (id: string) => lb.stats().hosts.find((h) => h.id === id)!;
  const picked = (count: number) => tally(Array.from({ length: count }, () => lb.pick()?.id ?? null));
  return { lb, clock, fail, host, picked };
}

test('5 consecutive failures eject a host for 30 s; it returns when the time has passed', () => {
  const { clock, fail, host, picked } = balancer(10);
  fail('h3', 4);
  assert.equal(host('h3').ejected, false);
  fail('h3');
  assert.equal(host('h3').ejected, true);
  assert.equal(host('h3').state, 'ejected');
  assert.equal(host('h3').ejectedUntilMs, clock.nowMs + 30_000);
  assert.equal(picked(90).get('h3'), undefined);
  clock.advance(29_999);
  assert.equal(host('h3').ejected, true);
  clock.advance(1);
  assert.equal(host('h3').ejected, false);
  assert.equal(host('h3').consecutiveFailures, 0, 'a returning host starts with a clean slate');
  assert.equal(picked(100).get('h3'), 10);
});

test('a success in between resets the count: failures must be consecutive', () => {
  const { lb, fail, host } = balancer(10);
  fail('h1', 4);
  lb.end(lb.begin('h1'), { ok: true });
  fail('h1', 4);
  assert.equal(host('h1').ejected, false);
});

test('each new ejection lasts 30 s × times ejected, capped by maxEjectionTimeMs', () => {
  const { clock, fail, host } = balancer(10, { outlier: { maxEjectionTimeMs: 70_000 } });
  const durations: number[] = [];
  for (let round = 0; round < 4; round++) {
    fail('h0', 5);
    const until = host('h0').ejectedUntilMs!;
    durations.push(until - clock.nowMs);
    clock.nowMs = until;
  }
  assert.deepEqual(durations, [30_000, 60_000, 70_000, 70_000]);
});

test('the multiplier is forgiven by one per base ejection time spent back in service', () => {
  const { clock, fail, host } = balancer(10);
  fail('h0', 5);
  clock.advance(30_000);
  fail('h0', 5);
  assert.equal(host('h0').timesEjected, 2);
  clock.advance(60_000); // returns now
  clock.advance(60_000); // two base periods in service → forgiven twice
  fail('h0', 5);
  assert.equal(host('h0').timesEjected, 1);
  assert.equal(host('h0').ejectedUntilMs! - clock.nowMs, 30_000);
});

test('at most 10 % of the hosts are ejected at once (rounded down, but at least one)', () => {
  const { lb, fail, host } = balancer(25);
  for (const id of ['h0', 'h1', 'h2', 'h3']) fail(id, 5);
  assert.deepEqual(
    ['h0', 'h1', 'h2', 'h3'].map((id) => host(id).ejected),
    [true, true, false, false],
  );
  assert.equal(lb.stats().ejections.ejectionsSkippedByCap, 2);
  const small = balancer(3);
  small.fail('h0', 5);
  small.fail('h1', 5);
  assert.deepEqual([small.host('h0').ejected, small.host('h1').ejected], [true, false], 'one of 3 may go');
});

test('a host over the threshold that the cap kept in is ejected on its next failure once room frees', () => {
  const { clock, fail, host } = balancer(10);
  fail('h0', 5);
  fail('h1', 5);
  assert.equal(host('h1').ejected, false);
  clock.advance(30_000);
  fail('h1');
  assert.equal(host('h1').ejected, true);
});

test('when every host is ejected, panic mode spreads requests over all of them', () => {
  const { fail, picked, lb } = balancer(1);
  fail('h0', 5);
  assert.equal(lb.stats().hosts[0]!.ejected, true);
  assert.equal(lb.stats().panic, true);
  assert.deepEqual([...picked(3)], [['h0', 3]]);
  const strict = balancer(1, { panicThresholdPercent: 0 });
  strict.fail('h0', 5);
  assert.equal(strict.lb.pick(), null, 'with panic mode off, no healthy host means no host');
});

test('passive ejection can be switched off', () => {
  const { fail, host } = balancer(3, { outlier: { enabled: false } });
  fail('h0', 50);
  assert.equal(host('h0').ejected, false);
});
