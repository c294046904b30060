import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DecayingCounter } from '../../src/balancer/decaying-counter.js';
import { PeakEwma } from '../../src/balancer/peak-ewma.js';

const TAU = 10_000;

test('the first sample sets the value; before it the estimate is 0 with no samples', () => {
  const ewma = new PeakEwma(TAU);
  assert.equal(ewma.hasSamples, false);
  assert.equal(ewma.valueAt(0), 0);
  ewma.observe(20, 0);
  assert.equal(ewma.hasSamples, true);
  assert.equal(ewma.valueAt(0), 20);
});

test('a sample above the current value is taken at once (the peak)', () => {
  const ewma = new PeakEwma(TAU);
  ewma.observe(10, 0);
  ewma.observe(500, 1);
  assert.equal(ewma.valueAt(1), 500);
});

test('a lower sample is blended with weight 1 − exp(−Δt/τ)', () => {
  const ewma = new PeakEwma(TAU);
  ewma.observe(100, 0);
  ewma.observe(0, TAU);
  assert.ok(Math.abs(ewma.valueAt(TAU) - 100 * Math.exp(-1)) < 1e-9);
  const other = new PeakEwma(TAU);
  other.observe(100, 0);
  other.observe(50, TAU);
  const w = Math.exp(-1);
  assert.ok(Math.abs(other.valueAt(TAU) - (100 * w + 50 * (1 - w))) < 1e-9);
});

test('steady samples converge to the sample; an idle estimate decays toward zero by exp(−Δt/τ)', () => {
  const ewma = new PeakEwma(TAU);
  ewma.observe(100, 0);
  let t = 0;
  for (let i = 0; i < 2000; i++) {
    t += 100;
    ewma.observe(10, t);
  }
  assert.ok(Math.abs(ewma.valueAt(t) - 10) < 0.01);
  assert.ok(Math.abs(ewma.valueAt(t + 2 * TAU) - 10 * Math.exp(-2)) < 0.01);
});

test('a clock stepping backwards never amplifies the estimate', () => {
  const ewma = new PeakEwma(TAU);
  ewma.observe(100, 10_000);
  ewma.observe(50, 5_000);
  assert.ok(ewma.valueAt(5_000) <= 100);
  assert.ok(ewma.valueAt(10_000) <= 100);
});

test('the decaying counter forgets with τ', () => {
  const counter = new DecayingCounter(TAU);
  for (let i = 0; i < 10; i++) counter.add(0);
  assert.equal(counter.valueAt(0), 10);
  assert.ok(Math.abs(counter.valueAt(TAU) - 10 * Math.exp(-1)) < 1e-9);
});
