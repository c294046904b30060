import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HealthError } from '../../../src/cluster/health/errors.js';
import { IntervalWindow } from '../../../src/cluster/health/interval-window.js';
import type { PhiAccrualOptions } from '../../../src/cluster/health/options.js';
import { PhiAccrualDetector } from '../../../src/cluster/health/phi-accrual-detector.js';
import { SeededRandom } from '../../../src/util/random.js';
import { FakeClock, jitteredArrivals, silenceUntilPhiExceeds } from './helpers.js';

function detectorFedWith(arrivals: readonly number[], options: PhiAccrualOptions = {}) {
  const clock = new FakeClock(0);
  const detector = new PhiAccrualDetector(options, clock);
  for (const at of arrivals) {
    clock.nowMs = at;
    detector.heartbeat();
  }
  return { clock, detector };
}

describe('phi', () => {
  test('is 0 before any heartbeat and about 0 right after one', () => {
    const clock = new FakeClock();
    const detector = new PhiAccrualDetector({}, clock);
    assert.equal(detector.phi(), 0);
    clock.advance(60_000);
    assert.equal(detector.phi(), 0, 'nothing to judge yet');
    detector.heartbeat();
    assert.ok(detector.phi() < 0.01);
  });

  test('rises with silence, never decreasing, and stays finite', () => {
    const { clock, detector } = detectorFedWith(jitteredArrivals(new SeededRandom(1), 50));
    const last = clock.nowMs;
    let previous = detector.phi();
    for (let silenceMs = 0; silenceMs <= 120_000; silenceMs += 50) {
      clock.nowMs = last + silenceMs;
      const phi = detector.phi();
      assert.ok(Number.isFinite(phi), `phi finite at ${silenceMs} ms`);
      assert.ok(phi >= previous, `phi must not decrease (${silenceMs} ms: ${phi} < ${previous})`);
      previous = phi;
    }
    assert.ok(previous > 1000, 'two minutes of silence is beyond doubt');
  });

  test('1 s heartbeats at threshold 8: suspected 2.5..2.65 s after the last heartbeat', () => {
    // Steady network: std ≈ 6 ms is floored to 100 ms; crossing ≈ mean + pause + 5.61 × 100 = 2561 ms.
    const { clock, detector } = detectorFedWith(jitteredArrivals(new SeededRandom(2), 300));
    const silence = silenceUntilPhiExceeds(clock, () => detector.phi(), 8, clock.nowMs);
    assert.ok(silence >= 2500 && silence <= 2650, `suspected after ${silence} ms`);
  });

  test('jittery heartbeats (5 % delayed by 300..800 ms) never reach phi 8 before the next one arrives', () => {
    for (const seed of [3, 4, 5]) {
      const arrivals = jitteredArrivals(new SeededRandom(seed), 2000, { jitterMs: 50, delayProbability: 0.05 });
      const clock = new FakeClock(0);
      const detector = new PhiAccrualDetector({}, clock);
      let maxPhi = 0;
      for (const at of arrivals) {
        clock.nowMs = at - 0.001; // phi just before the heartbeat lands is the highest it got
        maxPhi = Math.max(maxPhi, detector.phi());
        clock.nowMs = at;
        detector.heartbeat();
      }
      assert.ok(maxPhi < 8, `seed ${seed}: max phi ${maxPhi}`);
    }
  });

  test('without the acceptable pause, the same jitter would be suspected (the pause is what absorbs it)', () => {
    const arrivals = jitteredArrivals(new SeededRandom(3), 2000, { jitterMs: 50, delayProbability: 0.05 });
    const clock = new FakeClock(0);
    const detector = new PhiAccrualDetector({ acceptableHeartbeatPauseMs: 0 }, clock);
    let maxPhi = 0;
    for (const at of arrivals) {
      clock.nowMs = at - 0.001;
      maxPhi = Math.max(maxPhi, detector.phi());
      clock.nowMs = at;
      detector.heartbeat();
    }
    assert.ok(maxPhi > 8, `max phi ${maxPhi}`);
  });

  test('a gap longer than maxIntervalMs is kept out of the window and does not slow later detection', () => {
    const regular = jitteredArrivals(new SeededRandom(6), 100);
    const { clock, detector } = detectorFedWith(regular);
    const before = detector.stats();
    const detectionBefore = silenceUntilPhiExceeds(clock, () => detector.phi(), 8, clock.nowMs);

    clock.advance(30_000); // a restart or a partition
    detector.heartbeat();
    const after = detector.stats();
    assert.equal(after.samples, before.samples, 'the 30 s interval is not a sample');
    assert.equal(after.ignoredIntervals, 1);
    assert.equal(after.meanMs, before.meanMs);
    assert.equal(detector.lastHeartbeatAt(), clock.nowMs, 'the heartbeat itself still counts');
    assert.equal(
      silenceUntilPhiExceeds(clock, () => detector.phi(), 8, clock.nowMs),
      detectionBefore,
    );

    // Had the gap been kept, the statistics would be poisoned: detection would take far longer.
    const poisoned = detectorFedWith([...regular, regular.at(-1)! + 30_000], { maxIntervalMs: 60_000 });
    const slow = silenceUntilPhiExceeds(poisoned.clock, () => poisoned.detector.phi(), 8, poisoned.clock.nowMs);
    assert.ok(slow > detectionBefore * 5, `poisoned detection ${slow} ms vs ${detectionBefore} ms`);
  });

  test('bootstraps from the expected interval until enough samples, then uses its own statistics', () => {
    const clock = new FakeClock(0);
    const detector = new PhiAccrualDetector({ expectedIntervalMs: 1000, bootstrapMinSamples: 5 }, clock);
    detector.heartbeat();
    let stats = detector.stats();
    assert.equal(stats.bootstrapping, true);
    assert.equal(stats.meanMs, 1000);
    assert.equal(stats.stdDeviationMs, 250);
    // Prior: mean 1000 + pause 1000, std 250 → crossing at 2000 + 5.61 × 250 ≈ 3403 ms.
    const first = silenceUntilPhiExceeds(clock, () => detector.phi(), 8, clock.nowMs);
    assert.ok(first >= 3350 && first <= 3450, `bootstrap detection ${first} ms`);

    for (let i = 0; i < 5; i++) {
      clock.advance(500); // a peer configured with 500 ms heartbeats
      detector.heartbeat();
    }
    stats = detector.stats();
    assert.equal(stats.bootstrapping, false);
    assert.equal(stats.meanMs, 500);
    assert.equal(stats.stdDeviationMs, 100, 'floored at minStdDeviationMs');
  });

  test('start() judges a never-heard peer from now, and the first heartbeat records no interval', () => {
    const clock = new FakeClock(0);
    const detector = new PhiAccrualDetector({}, clock);
    detector.start();
    assert.equal(detector.lastHeartbeatAt(), null);
    clock.advance(10_000);
    assert.ok(detector.phi() > 8);
    detector.heartbeat();
    assert.equal(detector.stats().samples, 0);
    assert.equal(detector.stats().ignoredIntervals, 0);
    assert.equal(detector.lastHeartbeatAt(), 10_000);
  });

  test('the exponential variant follows Cassandra: phi = log10(e) × (silence - pause) / mean', () => {
    const { clock, detector } = detectorFedWith(
      Array.from({ length: 20 }, (_, i) => i * 1000),
      { distribution: 'exponential', acceptableHeartbeatPauseMs: 0 },
    );
    clock.advance(5000);
    assert.ok(Math.abs(detector.phi() - 5 * Math.LOG10E) < 1e-9);
    const silence = silenceUntilPhiExceeds(clock, () => detector.phi(), 8, clock.nowMs - 5000);
    assert.ok(Math.abs(silence - 18_421) <= 1, `exponential detection ${silence} ms`);
  });

  test('a clock going backwards records no negative interval', () => {
    const clock = new FakeClock(10_000);
    const detector = new PhiAccrualDetector({}, clock);
    detector.heartbeat();
    clock.nowMs = 9000;
    detector.heartbeat();
    assert.equal(detector.stats().samples, 0);
    assert.equal(detector.lastHeartbeatAt(), 10_000);
    assert.equal(detector.phi(), detector.phi());
    assert.ok(detector.phi() < 0.01);
  });

  test('bad options throw INVALID_OPTION', () => {
    const clock = new FakeClock();
    const bad: PhiAccrualOptions[] = [
      { windowSize: 1 },
      { windowSize: 2.5 },
      { minStdDeviationMs: 0 },
      { acceptableHeartbeatPauseMs: -1 },
      { expectedIntervalMs: 3000, maxIntervalMs: 2000 },
      { bootstrapMinSamples: 0 },
      { bootstrapMinSamples: 20, windowSize: 10 },
      { distribution: 'weibull' as 'normal' },
      { expectedIntervalMs: Number.NaN },
    ];
    for (const options of bad) {
      assert.throws(
        () => new PhiAccrualDetector(options, clock),
        (error: unknown) => error instanceof HealthError && error.code === 'INVALID_OPTION',
        JSON.stringify(options),
      );
    }
    // A longer expected interval raises the default maxIntervalMs with it.
    assert.equal(new PhiAccrualDetector({ expectedIntervalMs: 5000 }, clock).options.maxIntervalMs, 5000);
  });
});

describe('IntervalWindow', () => {
  test('mean and standard deviation match a direct computation over the last `capacity` values', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 20 }),
        fc.array(fc.double({ min: 0, max: 5000, noNaN: true }), { maxLength: 100 }),
        (capacity, values) => {
          const window = new IntervalWindow(capacity);
          for (const value of values) window.add(value);
          const kept = values.slice(-capacity);
          assert.equal(window.size, kept.length);
          const mean = kept.length === 0 ? 0 : kept.reduce((a, b) => a + b, 0) / kept.length;
          const variance = kept.length === 0 ? 0 : kept.reduce((a, b) => a + (b - mean) ** 2, 0) / kept.length;
          assert.ok(Math.abs(window.mean() - mean) < 1e-6);
          assert.ok(Math.abs(window.stdDeviation() - Math.sqrt(variance)) < 1e-3);
        },
      ),
    );
  });
});
