import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createBalancer } from '../../src/balancer/balancer.js';
import type { HostSpec } from '../../src/balancer/types.js';
import { type ZoneCapacity, zoneRouting } from '../../src/balancer/zone-spill.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, tally } from './helpers.js';

const zone = (key: string, region: string, configuredWeight: number, healthyWeight: number): ZoneCapacity => ({
  key,
  region,
  configuredWeight,
  healthyWeight,
});
const asObject = (routing: ReturnType<typeof zoneRouting>) =>
  Object.fromEntries(routing.map(({ key, share }) => [key, Math.round(share * 10_000) / 10_000]));

test('routing: all local while the local zone has its share of the healthy capacity', () => {
  const zones = [zone('a', 'r', 3, 3), zone('b', 'r', 3, 3), zone('c', 'r', 3, 2)];
  assert.deepEqual(asObject(zoneRouting(zones, 'a', 'r')), { a: 1 });
  // Every zone down by a third: still nothing to spill.
  const even = [zone('a', 'r', 3, 2), zone('b', 'r', 3, 2), zone('c', 'r', 3, 2)];
  assert.deepEqual(asObject(zoneRouting(even, 'a', 'r')), { a: 1 });
});

test('routing: the excess spills to zones of the region in proportion to their spare capacity', () => {
  // a lost 2 of 3 hosts: c_a = 1/7, d_a = 1/3 → keep 3/7; b and c have equal spare.
  const zones = [zone('a', 'r', 3, 1), zone('b', 'r', 3, 3), zone('c', 'r', 3, 3)];
  assert.deepEqual(asObject(zoneRouting(zones, 'a', 'r')), { a: 0.4286, b: 0.2857, c: 0.2857 });
  // Unequal spare: b has 4 hosts configured, 4 healthy; c has 2 configured, 2 healthy; a is down to 0.
  const uneven = [zone('a', 'r', 2, 0), zone('b', 'r', 4, 4), zone('c', 'r', 2, 2)];
  const routing = asObject(zoneRouting(uneven, 'a', 'r'));
  // spare_b = 4/6 − 4/8 = 1/6, spare_c = 2/6 − 2/8 = 1/12 → b gets twice c's share.
  assert.deepEqual(routing, { b: 0.6667, c: 0.3333 });
});

test('routing: spill stays in the region while the region can absorb it, then crosses regions', () => {
  // Region r1: a (down to 1 of 4) and b (4 of 4); region r2: c (4 of 4).
  const zones = [zone('a', 'r1', 4, 1), zone('b', 'r1', 4, 4), zone('c', 'r2', 4, 4)];
  const routing = asObject(zoneRouting(zones, 'a', 'r1'));
  // Σhealthy = 9: c_a = 1/9, d_a = 1/3 → keep 1/3. Deficit 2/9; spare_b = spare_c = 4/9 − 1/3 = 1/9.
  // r1's spare (1/9) covers half of r1's deficit (2/9): half the spill stays in r1, half goes to r2.
  assert.deepEqual(routing, { a: 0.3333, b: 0.3333, c: 0.3333 });
  // When the region as a whole still has its share of the capacity (r2 lost a host too), nothing crosses.
  const roomy = [zone('a', 'r1', 4, 3), zone('b', 'r1', 4, 4), zone('c', 'r2', 4, 3)];
  assert.deepEqual(asObject(zoneRouting(roomy, 'a', 'r1')), { a: 0.9, b: 0.1 });
});

test('routing: shares sum to 1 and, with clients spread like capacity, every healthy host is equally loaded', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({ region: fc.constantFrom('r1', 'r2'), configured: fc.integer({ min: 1, max: 6 }), down: fc.nat(6) }),
        { minLength: 1, maxLength: 6 },
      ),
      (specs) => {
        const zones = specs.map((s, i) => zone(`z${i}`, s.region, s.configured, Math.max(0, s.configured - s.down)));
        const totalConfigured = zones.reduce((t, z) => t + z.configuredWeight, 0);
        const totalHealthy = zones.reduce((t, z) => t + z.healthyWeight, 0);
        if (totalHealthy === 0) {
          for (const z of zones) assert.deepEqual(zoneRouting(zones, z.key, z.region), []);
          return;
        }
        const load = new Map<string, number>();
        for (const local of zones) {
          const routing = zoneRouting(zones, local.key, local.region);
          const sum = routing.reduce((t, r) => t + r.share, 0);
          assert.ok(Math.abs(sum - 1) < 1e-9, `sum ${sum}`);
          for (const { key, share } of routing) {
            assert.ok(
              zones.find((z) => z.key === key)!.healthyWeight > 0,
              'never routes to a zone with nothing healthy',
            );
            const demand = local.configuredWeight / totalConfigured;
            load.set(key, (load.get(key) ?? 0) + demand * share);
          }
        }
        for (const z of zones) {
          if (z.healthyWeight === 0) continue;
          const perHost = (load.get(z.key) ?? 0) / z.healthyWeight;
          assert.ok(Math.abs(perHost - 1 / totalHealthy) < 1e-9, `zone ${z.key} load per host ${perHost}`);
        }
      },
    ),
  );
});

test('routing: an unknown client zone gets no locality (its region first, by healthy capacity)', () => {
  const zones = [zone('a', 'r1', 2, 2), zone('b', 'r1', 2, 1), zone('c', 'r2', 4, 4)];
  assert.deepEqual(asObject(zoneRouting(zones, null, 'r1')), { a: 0.6667, b: 0.3333 });
  assert.deepEqual(asObject(zoneRouting(zones, null, null)), { a: 0.2857, b: 0.1429, c: 0.5714 });
});

function cluster(perZone: Record<string, { region: string; count: number }>): HostSpec[] {
  const specs: HostSpec[] = [];
  for (const [zoneName, { region, count }] of Object.entries(perZone)) {
    for (let i = 0; i < count; i++)
      specs.push({ id: `${zoneName}-${i}`, address: `${zoneName}:${i}`, zone: zoneName, region });
  }
  return specs;
}

const zoneOf = (id: string) => id.split('-')[0]!;

test('zone balancer keeps traffic local while capacity allows', () => {
  const clock = new FakeClock();
  const lb = createBalancer({
    strategy: 'zone',
    hosts: cluster({ a: { region: 'r', count: 3 }, b: { region: 'r', count: 3 }, c: { region: 'r', count: 3 } }),
    random: new SeededRandom(2),
    now: clock.now,
  });
  for (const local of ['a', 'b', 'c']) {
    const zones = tally(Array.from({ length: 300 }, () => zoneOf(lb.pick({ clientZone: local })!.id)));
    assert.deepEqual([...zones], [[local, 300]]);
  }
});

test('zone balancer spills in proportion when the local zone loses hosts, and returns when they recover', () => {
  const clock = new FakeClock();
  const lb = createBalancer({
    strategy: 'zone',
    hosts: cluster({ a: { region: 'r', count: 3 }, b: { region: 'r', count: 3 }, c: { region: 'r', count: 3 } }),
    random: new SeededRandom(4),
    now: clock.now,
    outlier: { maxEjectionPercent: 50, baseEjectionTimeMs: 30_000 },
  });
  for (const victim of ['a-0', 'a-1']) for (let i = 0; i < 5; i++) lb.end(lb.begin(victim), { ok: false });
  const picks = 7000;
  const zones = tally(Array.from({ length: picks }, () => zoneOf(lb.pick({ clientZone: 'a' })!.id)));
  // Expected: a 3/7 ≈ 42.9 %, b and c 2/7 ≈ 28.6 % each.
  assert.ok(Math.abs(zones.get('a')! / picks - 3 / 7) < 0.03, JSON.stringify([...zones]));
  assert.ok(Math.abs(zones.get('b')! / picks - 2 / 7) < 0.03, JSON.stringify([...zones]));
  assert.ok(Math.abs(zones.get('c')! / picks - 2 / 7) < 0.03, JSON.stringify([...zones]));
  // Clients of b are not disturbed: b has its full share of the (reduced) capacity.
  assert.deepEqual(
    [...tally(Array.from({ length: 200 }, () => zoneOf(lb.pick({ clientZone: 'b' })!.id)))],
    [['b', 200]],
  );
  clock.advance(30_000);
  assert.deepEqual(
    [...tally(Array.from({ length: 200 }, () => zoneOf(lb.pick({ clientZone: 'a' })!.id)))],
    [['a', 200]],
  );
});

test('zone balancer crosses regions only for what its region cannot absorb', () => {
  const clock = new FakeClock();
  const lb = createBalancer({
    strategy: 'zone',
    hosts: cluster({ a: { region: 'r1', count: 4 }, b: { region: 'r1', count: 4 }, c: { region: 'r2', count: 4 } }),
    random: new SeededRandom(6),
    now: clock.now,
    outlier: { maxEjectionPercent: 50 },
  });
  for (const victim of ['a-0', 'a-1', 'a-2']) for (let i = 0; i < 5; i++) lb.end(lb.begin(victim), { ok: false });
  const picks = 6000;
  const zones = tally(
    Array.from({ length: picks }, () => zoneOf(lb.pick({ clientZone: 'a', clientRegion: 'r1' })!.id)),
  );
  for (const z of ['a', 'b', 'c'])
    assert.ok(Math.abs(zones.get(z)! / picks - 1 / 3) < 0.03, JSON.stringify([...zones]));
});

test('zone balancer: within a zone the inner strategy picks (wrr here, honouring weights)', () => {
  const clock = new FakeClock();
  const hosts = cluster({ a: { region: 'r', count: 2 }, b: { region: 'r', count: 2 } });
  hosts[0]!.weight = 3;
  const lb = createBalancer({
    strategy: 'zone',
    zone: { inner: 'wrr' },
    hosts,
    random: new SeededRandom(1),
    now: clock.now,
  });
  const counts = tally(Array.from({ length: 400 }, () => lb.pick({ clientZone: 'a' })!.id));
  assert.deepEqual([counts.get('a-0'), counts.get('a-1')], [300, 100]);
});

test('zone balancer: requests without a zone spread over all zones; retries leave a zone that is used up', () => {
  const clock = new FakeClock();
  const lb = createBalancer({
    strategy: 'zone',
    hosts: cluster({ a: { region: 'r', count: 1 }, b: { region: 'r', count: 1 } }),
    random: new SeededRandom(1),
    now: clock.now,
  });
  assert.equal(tally(Array.from({ length: 100 }, () => zoneOf(lb.pick({})!.id))).size, 2);
  assert.equal(lb.pick({ clientZone: 'a' }, { exclude: ['a-0'] })!.id, 'b-0');
  assert.equal(lb.pick({ clientZone: 'a' }, { exclude: ['a-0', 'b-0'] }), null);
});
