import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { LatencyHistogram } from '../../../src/cluster/health/latency-histogram.js';

function exactPercentile(values: readonly number[], percentile: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)]!;
}

test('percentiles are within 1 % of the exact nearest-rank value', () => {
  fc.assert(
    fc.property(
      fc.array(fc.double({ min: 0.002, max: 1_000_000, noNaN: true }), { minLength: 1, maxLength: 300 }),
      fc.constantFrom(50, 90, 99, 99.9, 100),
      (values, percentile) => {
        const histogram = new LatencyHistogram();
        for (const value of values) histogram.record(value);
        const exact = exactPercentile(values, percentile);
        const estimate = histogram.percentile(percentile)!;
        assert.ok(Math.abs(estimate - exact) <= exact * 0.0101, `p${percentile}: ${estimate} vs ${exact}`);
      },
    ),
  );
});

test('memory does not grow with the number of values; max, count and reset', () => {
  const histogram = new LatencyHistogram();
  for (let i = 0; i < 200_000; i++) histogram.record((i % 1000) / 10);
  assert.equal(histogram.count, 200_000);
  assert.equal(histogram.max, 99.9);
  assert.ok(Math.abs(histogram.percentile(50)! - 49.9) < 0.5);
  histogram.record(1e12); // beyond the last bucket: still counted, max exact
  assert.equal(histogram.max, 1e12);
  assert.equal(histogram.percentile(100), 1e12);
  histogram.reset();
  assert.equal(histogram.count, 0);
  assert.equal(histogram.percentile(99), null);
  assert.equal(histogram.max, null);
  histogram.record(0);
  assert.equal(histogram.percentile(99), 0);
});
