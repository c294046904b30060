import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { createBalancer } from '../../src/balancer/balancer.js';
import { HostTracker } from '../../src/balancer/host-tracker.js';
import { RoundRobinPicker } from '../../src/balancer/pickers/round-robin.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, hosts, tally } from './helpers.js';

test('rr covers every host exactly once per cycle, from any start', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 30 }), fc.integer(), fc.integer({ min: 1, max: 5 }), (n, seed, cycles) => {
      const tracker = new HostTracker(() => 0);
      tracker.setHosts(hosts(n));
      const picker = new RoundRobinPicker({ random: new SeededRandom(seed) });
      const candidates = tracker.records();
      for (let c = 0; c < cycles; c++) {
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) seen.add(picker.pick({}, candidates)!.id);
        assert.equal(seen.size, n);
      }
    }),
  );
});

test('rr instances start at random offsets', () => {
  const tracker = new HostTracker(() => 0);
  tracker.setHosts(hosts(10));
  const firsts = new Set<string>();
  for (let seed = 0; seed < 50; seed++) {
    firsts.add(new RoundRobinPicker({ random: new SeededRandom(seed) }).pick({}, tracker.records())!.id);
  }
  assert.ok(firsts.size >= 6, `only ${firsts.size} distinct first hosts over 50 instances`);
});

test('rr skips excluded hosts and returns null when all are excluded', () => {
  const tracker = new HostTracker(() => 0);
  tracker.setHosts(hosts(3));
  const picker = new RoundRobinPicker({ random: new SeededRandom(1) });
  for (let i = 0; i < 6; i++) assert.equal(picker.pick({}, tracker.records(), new Set(['h0', 'h1']))!.id, 'h2');
  assert.equal(picker.pick({}, tracker.records(), new Set(['h0', 'h1', 'h2'])), null);
  assert.equal(picker.pick({}, []), null);
});

test('a balancer with rr spreads evenly through the whole stack', () => {
  const clock = new FakeClock();
  const lb = createBalancer({ strategy: 'rr', hosts: hosts(4), random: new SeededRandom(3), now: clock.now });
  const counts = tally(Array.from({ length: 400 }, () => lb.pick()!.id));
  assert.deepEqual([...counts.values()], [100, 100, 100, 100]);
});
