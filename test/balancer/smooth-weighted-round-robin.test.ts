import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { HostTracker } from '../../src/balancer/host-tracker.js';
import { SmoothWeightedRoundRobinPicker } from '../../src/balancer/pickers/smooth-weighted-round-robin.js';
import { hosts, tally } from './helpers.js';

function setup(weights: number[]) {
  const tracker = new HostTracker(() => 0);
  tracker.setHosts(weights.map((weight, i) => ({ id: String.fromCharCode(97 + i), address: `a${i}`, weight })));
  return { tracker, picker: new SmoothWeightedRoundRobinPicker({ tracker }) };
}

test("nginx's example: weights 5/1/1 give a a b a c a a", () => {
  const { tracker, picker } = setup([5, 1, 1]);
  const seq = Array.from({ length: 14 }, () => picker.pick({}, tracker.records())!.id).join(' ');
  assert.equal(seq, 'a a b a c a a a a b a c a a');
});

test('every cycle of Σweights picks gives each host exactly its weight', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 20 }), { minLength: 1, maxLength: 10 }),
      fc.integer({ min: 1, max: 4 }),
      (weights, cycles) => {
        const { tracker, picker } = setup(weights);
        const total = weights.reduce((a, b) => a + b, 0);
        for (let c = 0; c < cycles; c++) {
          const counts = tally(Array.from({ length: total }, () => picker.pick({}, tracker.records())!.id));
          weights.forEach((w, i) => {
            assert.equal(counts.get(String.fromCharCode(97 + i)) ?? 0, w);
          });
        }
      },
    ),
  );
});

test('picks of a heavy host are interleaved with the others, not bunched (10/1/1/1: runs of at most 6, not 10)', () => {
  const { tracker, picker } = setup([10, 1, 1, 1]);
  const seq = Array.from({ length: 13 * 20 }, () => picker.pick({}, tracker.records())!.id).join('');
  const longestRun = Math.max(...seq.split(/[^a]+/).map((run) => run.length));
  assert.ok(longestRun <= 6, `longest run of a: ${longestRun} in ${seq}`);
});

test('failures cut the effective weight, successes restore it gradually, never below the floor', () => {
  const { tracker, picker } = setup([10, 10]);
  const a = tracker.get('a')!;
  picker.pick({}, tracker.records());
  picker.onResult(a, false);
  assert.equal(picker.effectiveWeight(a), 5);
  for (let i = 0; i < 5; i++) picker.onResult(a, false);
  assert.equal(picker.effectiveWeight(a), 1, 'floor = 10 % of the weight');
  const share = tally(Array.from({ length: 1100 }, () => picker.pick({}, tracker.records())!.id));
  const trickle = share.get('a') ?? 0;
  assert.ok(trickle >= 95 && trickle <= 105, `the failing host keeps a trickle of 1 / (1 + 10): ${trickle}`);
  picker.onResult(a, true);
  assert.equal(picker.effectiveWeight(a), 2);
  for (let i = 0; i < 20; i++) picker.onResult(a, true);
  assert.equal(picker.effectiveWeight(a), 10, 'back to, and never above, the configured weight');
});

test('excluded hosts are skipped; none left gives null', () => {
  const { tracker, picker } = setup([5, 1, 1]);
  for (let i = 0; i < 5; i++) assert.notEqual(picker.pick({}, tracker.records(), new Set(['a']))!.id, 'a');
  assert.equal(picker.pick({}, tracker.records(), new Set(['a', 'b', 'c'])), null);
  assert.equal(picker.pick({}, []), null);
});

test('state of departed hosts is pruned', () => {
  const tracker = new HostTracker(() => 0);
  const picker = new SmoothWeightedRoundRobinPicker({ tracker });
  for (let round = 0; round < 30; round++) {
    tracker.setHosts(hosts(3).map((h) => ({ ...h, id: `${h.id}-${round}` })));
    picker.pick({}, tracker.records());
  }
  const size = (picker as unknown as { peers: Map<string, unknown> }).peers.size;
  assert.ok(size <= 2 * 3 + 16 + 3, `peer map grew to ${size}`);
});
