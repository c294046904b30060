import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type BalancerOptions, createBalancer } from '../../src/balancer/balancer.js';
import { BalancerError } from '../../src/balancer/errors.js';
import { STRATEGY_NAMES, type StrategyName } from '../../src/balancer/types.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, hosts } from './helpers.js';

const invalid = (e: unknown) => e instanceof BalancerError && e.code === 'INVALID_ARGUMENT';

function make(strategy: StrategyName, n: number, extra: Partial<BalancerOptions> = {}) {
  const clock = new FakeClock();
  const lb = createBalancer({
    strategy,
    hosts: hosts(n, (i) => ({ zone: `z${i % 2}`, region: 'r' })),
    random: new SeededRandom(11),
    now: clock.now,
    ...extra,
  });
  return { lb, clock };
}

const request = { key: 'k', path: '/v1/kv/k', clientAddress: '10.1.1.1', clientZone: 'z0' };

test('every strategy returns null with zero hosts, and never throws', () => {
  for (const strategy of STRATEGY_NAMES) {
    const { lb } = make(strategy, 0);
    assert.equal(lb.pick(request), null, strategy);
    assert.equal(lb.pick(), null, strategy);
    assert.equal(lb.stats().hostCount, 0);
  }
});

test('every strategy picks a configured host, respects exclusions, and survives all hosts ejected', () => {
  for (const strategy of STRATEGY_NAMES) {
    const { lb } = make(strategy, 6, { outlier: { maxEjectionPercent: 100 } });
    const host = lb.pick(request)!;
    assert.ok(host.id.startsWith('h'), strategy);
    const others = lb.pick(request, { exclude: [host.id] })!;
    assert.notEqual(others.id, host.id, strategy);
    assert.equal(lb.pick(request, { exclude: hosts(6).map((h) => h.id) }), null, strategy);
    for (const h of hosts(6)) for (let i = 0; i < 5; i++) lb.end(lb.begin(h.id), { ok: false });
    const stats = lb.stats();
    assert.ok(
      stats.hosts.every((h) => h.ejected),
      strategy,
    );
    assert.equal(stats.panic, true);
    assert.notEqual(lb.pick(request), null, `${strategy}: panic mode still serves`);
    const strict = make(strategy, 6, { outlier: { maxEjectionPercent: 100 }, panicThresholdPercent: 0 }).lb;
    for (const h of hosts(6)) for (let i = 0; i < 5; i++) strict.end(strict.begin(h.id), { ok: false });
    assert.equal(strict.pick(request), null, `${strategy}: no panic mode, no host`);
  }
});

test('setHosts changes the membership; statistics of staying hosts survive', () => {
  const { lb } = make('rr', 3);
  lb.end(lb.begin('h0'), { ok: true, latencyMs: 7 });
  lb.setHosts([...hosts(2), { id: 'new', address: '10.0.0.99:7201' }]);
  assert.deepEqual(
    lb.hosts().map((h) => h.id),
    ['h0', 'h1', 'new'],
  );
  const seen = new Set(Array.from({ length: 9 }, () => lb.pick()!.id));
  assert.deepEqual([...seen].sort(), ['h0', 'h1', 'new']);
  assert.equal(lb.stats().hosts[0]!.requests, 1);
  lb.setHosts([]);
  assert.equal(lb.pick(), null);
});

test('stats report state, health, pending, ewma, requests and share of traffic', () => {
  const { lb, clock } = make('rr', 2);
  const a = lb.begin('h0');
  lb.begin('h0');
  lb.begin('h1');
  clock.advance(12);
  lb.end(a, { ok: true });
  const [h0, h1] = lb.stats().hosts;
  assert.deepEqual(
    { state: h0!.state, serving: h0!.serving, health: h0!.health, pending: h0!.pending, ewma: h0!.ewmaMs },
    { state: 'healthy', serving: true, health: 'unchecked', pending: 1, ewma: 12 },
  );
  assert.equal(h1!.ewmaMs, null);
  assert.ok(Math.abs(h0!.share - 2 / 3) < 1e-9);
  assert.ok(Math.abs(h0!.share + h1!.share - 1) < 1e-9);
  assert.deepEqual([h0!.zone, h0!.region, h0!.weight, h0!.address], ['z0', 'r', 1, '10.0.0.0:7201']);
});

test('bad options and requests are clear INVALID_ARGUMENT errors', () => {
  const clock = new FakeClock();
  const base = { strategy: 'rr' as const, hosts: hosts(2), random: new SeededRandom(1), now: clock.now };
  const badOptions: unknown[] = [
    null,
    { ...base, strategy: 'fastest' },
    { ...base, random: undefined },
    { ...base, now: 5 },
    { ...base, panicThresholdPercent: 150 },
    { ...base, latencyDecayTimeMs: 0 },
    { ...base, outlier: { consecutiveFailures: 0 } },
    { ...base, retry: { maxRetries: -1 } },
    { ...base, retry: { windowMs: 10 } },
    { ...base, strategy: 'url-hash', hash: { tableSize: 65_536 } },
    { ...base, strategy: 'zone', zone: { inner: 'zone' } },
    { ...base, strategy: 'wrr', wrr: { failureCutRatio: 2 } },
    { ...base, health: { probe: 'no' } },
    { ...base, health: { probe: async () => true } },
    { ...base, hosts: [{ id: 'a', address: 'x', weight: -1 }] },
  ];
  for (const options of badOptions) assert.throws(() => createBalancer(options as BalancerOptions), invalid);
  const lb = createBalancer(base);
  assert.throws(() => lb.pick({ key: 5 } as never), invalid);
  assert.throws(() => lb.pick(null as never), invalid);
  assert.throws(() => lb.pick({ key: 'x'.repeat(20_000) }), invalid);
  assert.throws(() => lb.pick({}, { exclude: 5 as never }), invalid);
  assert.throws(() => lb.pick({}, null as never), invalid);
  assert.throws(() => lb.begin(null as never), invalid);
  assert.throws(() => lb.end({} as never, { ok: true }), invalid);
  assert.throws(() => lb.setHosts([{ id: 'a', address: '' }]), invalid);
  assert.equal(lb.hosts().length, 2, 'a rejected setHosts changes nothing');
});

test('the same seed gives the same picks (deterministic under injected randomness)', () => {
  for (const strategy of STRATEGY_NAMES) {
    const run = () => {
      const { lb } = make(strategy, 7);
      return Array.from({ length: 50 }, (_, i) => lb.pick({ ...request, key: `k${i}` })!.id).join(',');
    };
    assert.equal(run(), run(), strategy);
  }
});
