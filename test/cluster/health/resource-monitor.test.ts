import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HealthError } from '../../../src/cluster/health/errors.js';
import { ResourceMonitor } from '../../../src/cluster/health/resource-monitor.js';
import type { NodeVitals } from '../../../src/cluster/health/vitals.js';
import { FakeSources } from './fake-sources.js';
import { FakeClock, FakeTimers } from './helpers.js';

function setup(options: ConstructorParameters<typeof ResourceMonitor>[0] = {}) {
  const clock = new FakeClock(0);
  const timers = new FakeTimers(clock);
  const sources = new FakeSources();
  const monitor = new ResourceMonitor({ dataDir: '/data', ...options }, { clock, timers, sources });
  return { clock, timers, sources, monitor };
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('ResourceMonitor with injected sources', () => {
  test('CPU: process time over wall time (percent of one core) and the machine busy percent', () => {
    const { clock, sources, monitor } = setup();
    clock.advance(1000);
    sources.burn(300, 200, 1500, 2000); // 0.5 s of CPU in 1 s; machine 2 cores × 1 s, 1.5 s busy
    let vitals = monitor.sample();
    assert.equal(vitals.windowMs, 1000);
    assert.equal(vitals.cpuProcessPercent, 50);
    assert.equal(vitals.cpuSystemPercent, 75);
    assert.equal(vitals.cpuCores, 2);

    clock.advance(2000);
    sources.burn(2500, 500, 4000, 4000); // 3 s of CPU in 2 s: one and a half cores
    vitals = monitor.sample();
    assert.equal(vitals.cpuProcessPercent, 150);
    assert.equal(vitals.cpuSystemPercent, 100);

    vitals = monitor.sample(); // no time passed: no CPU figure rather than a division by zero
    assert.equal(vitals.cpuProcessPercent, null);
    assert.equal(vitals.cpuSystemPercent, null);
  });

  test('event-loop lag: p99 and max beyond the probe resolution, probe reset every window', () => {
    const { clock, sources, monitor } = setup({ eventLoopResolutionMs: 10 });
    monitor.start();
    assert.equal(sources.probe.enabled, true);
    assert.equal(sources.probeResolutionMs, 10);
    // 100 probe ticks took 11..110 ms: lag 1..100 ms, p99 (nearest rank) 99 ms, max 100 ms.
    sources.probe.valuesNs = Array.from({ length: 100 }, (_, i) => (11 + i) * 1e6);
    clock.advance(1000);
    let vitals = monitor.sample();
    assert.equal(vitals.eventLoopLagP99Ms, 99);
    assert.equal(vitals.eventLoopLagMaxMs, 100);
    assert.equal(sources.probe.count, 0, 'reset after each sample');

    sources.probe.valuesNs = [9.9e6, 10e6]; // faster than the resolution: no lag, never negative
    vitals = monitor.sample();
    assert.equal(vitals.eventLoopLagP99Ms, 0);
    vitals = monitor.sample();
    assert.equal(vitals.eventLoopLagP99Ms, null, 'no probe tick in the window');
    monitor.stop();
    assert.equal(sources.probe.enabled, false);
  });

  test('memory figures come straight from the sources', () => {
    const { sources, monitor } = setup();
    const vitals = monitor.sample();
    assert.equal(vitals.rssBytes, sources.memory.rss);
    assert.equal(vitals.heapUsedBytes, sources.memory.heapUsed);
    assert.equal(vitals.heapLimitBytes, sources.heapLimit);
  });

  test('disk: used percent as df computes it, free and total bytes; null until statfs answered', async () => {
    const { sources, monitor } = setup();
    assert.equal(monitor.sample().diskUsedPercent, null);
    await monitor.refreshDisk();
    assert.deepEqual(sources.statfsCalls, ['/data']);
    const vitals = monitor.sample();
    // 1000 blocks, 100 free of which 50 available: used 900 / (900 + 50).
    assert.ok(Math.abs(vitals.diskUsedPercent! - (900 / 950) * 100) < 0.001);
    assert.equal(vitals.diskFreeBytes, 50 * 4096);
    assert.equal(vitals.diskTotalBytes, 1000 * 4096);
  });

  test('disk: a failing statfs gives null figures and keeps the error', async () => {
    const { sources, monitor } = setup();
    await monitor.refreshDisk();
    sources.filesystem = new Error('ENOENT: no such directory');
    await monitor.refreshDisk();
    const vitals = monitor.sample();
    assert.equal(vitals.diskUsedPercent, null);
    assert.equal(vitals.diskFreeBytes, null);
    assert.match(monitor.diskError()!.message, /ENOENT/);
  });

  test('no dataDir: no statfs and no disk figures', async () => {
    const { sources, monitor } = setup({ dataDir: null });
    await monitor.refreshDisk();
    assert.deepEqual(sources.statfsCalls, []);
    assert.equal(monitor.sample().diskUsedPercent, null);
  });

  test('TEST ONLY testDiskUsedPercent fakes a full disk (option and setter)', async () => {
    const { monitor } = setup({ testDiskUsedPercent: 95 });
    let vitals = monitor.sample();
    assert.equal(vitals.diskUsedPercent, 95);
    assert.equal(vitals.diskTotalBytes, 100 * 1024 ** 3, 'a made-up size until statfs answers');
    await monitor.refreshDisk();
    vitals = monitor.sample();
    assert.equal(vitals.diskTotalBytes, 1000 * 4096);
    assert.equal(vitals.diskFreeBytes, Math.round(1000 * 4096 * 0.05));
    monitor.setTestDiskUsedPercent(null);
    assert.ok(Math.abs(monitor.sample().diskUsedPercent! - 94.737) < 0.001);
    monitor.setTestDiskUsedPercent(99.5);
    assert.equal(monitor.sample().diskUsedPercent, 99.5);
    assert.throws(
      () => monitor.setTestDiskUsedPercent(150),
      (error: unknown) => error instanceof HealthError && error.code === 'INVALID_OPTION',
    );
  });

  test('fsync p99 and count over the window, from recordSync', () => {
    const { clock, monitor } = setup();
    for (let ms = 1; ms <= 100; ms++) monitor.recordSync(ms);
    clock.advance(1000);
    let vitals = monitor.sample();
    assert.equal(vitals.fsyncCount, 100);
    assert.ok(Math.abs(vitals.fsyncP99Ms! - 99) <= 0.99, `p99 ${vitals.fsyncP99Ms}`);

    monitor.recordSync(70);
    monitor.recordSync(Number.NaN); // ignored
    monitor.recordSync(-1); // ignored
    vitals = monitor.sample();
    assert.equal(vitals.fsyncCount, 1);
    assert.equal(vitals.fsyncP99Ms, 70, 'a single value is exact');
    vitals = monitor.sample();
    assert.equal(vitals.fsyncCount, 0);
    assert.equal(vitals.fsyncP99Ms, null);
  });

  test('requests: rate, p99 latency and error percent over the window', () => {
    const { clock, monitor } = setup();
    for (let i = 0; i < 200; i++) monitor.recordRequest(i < 198 ? 2 : 400, i % 20 !== 0);
    clock.advance(2000);
    let vitals = monitor.sample();
    assert.equal(vitals.requestsPerSec, 100);
    assert.equal(vitals.requestErrorPercent, 5);
    // 198 at 2 ms, 2 at 400 ms: rank 198 of 200 is the last 2 ms one.
    assert.ok(Math.abs(vitals.requestP99Ms! - 2) <= 0.02);
    clock.advance(1000);
    vitals = monitor.sample();
    assert.equal(vitals.requestsPerSec, 0);
    assert.equal(vitals.requestP99Ms, null);
    assert.equal(vitals.requestErrorPercent, null);
  });

  test('history keeps the last historySize samples, oldest first; latest() is the newest', () => {
    const { clock, monitor } = setup({ historySize: 3 });
    assert.equal(monitor.latest(), null);
    for (let i = 0; i < 5; i++) {
      clock.advance(1000);
      monitor.sample();
    }
    assert.deepEqual(
      monitor.history().map((v) => v.atMs),
      [3000, 4000, 5000],
    );
    assert.equal(monitor.latest()!.atMs, 5000);
  });

  test('start(): a sample every sampleIntervalMs, disk refreshed, onSample called; stop() leaves no timer', async () => {
    const seen: NodeVitals[] = [];
    let throwing = true;
    const { timers, sources, monitor } = setup({
      sampleIntervalMs: 500,
      onSample: (vitals) => {
        seen.push(vitals);
        if (throwing) throw new Error('listener bug');
      },
    });
    monitor.start();
    monitor.start(); // idempotent
    assert.equal(timers.pending, 1);
    await settle();
    for (let i = 0; i < 4; i++) {
      timers.advance(500);
      throwing = i < 1;
      await settle(); // let each statfs answer, as real time would
    }
    assert.deepEqual(
      seen.map((v) => v.atMs),
      [500, 1000, 1500, 2000],
      'a throwing listener does not stop sampling',
    );
    assert.equal(sources.statfsCalls.length, 5, 'at start and after every sample');
    assert.equal(seen[3]!.windowMs, 500);
    monitor.stop();
    assert.equal(timers.pending, 0);
    assert.equal(sources.probe.enabled, false);
    timers.advance(5000);
    assert.equal(seen.length, 4);
  });

  test('every sample is plain JSON data and small', () => {
    const { clock, sources, monitor } = setup();
    clock.advance(1000);
    sources.burn(123.456789, 1);
    monitor.recordSync(3.2718);
    const vitals = monitor.sample();
    assert.deepEqual(JSON.parse(JSON.stringify(vitals)), vitals);
    assert.ok(JSON.stringify(vitals).length < 600, `${JSON.stringify(vitals).length} bytes of JSON`);
  });

  test('bad options throw INVALID_OPTION', () => {
    for (const options of [
      { sampleIntervalMs: 0 },
      { historySize: 0 },
      { dataDir: '' },
      { testDiskUsedPercent: -1 },
      { eventLoopResolutionMs: 0.5 },
      { onSample: 'yes' as unknown as () => void },
    ]) {
      assert.throws(
        () => new ResourceMonitor(options, { sources: new FakeSources() }),
        (error: unknown) => error instanceof HealthError && error.code === 'INVALID_OPTION',
        JSON.stringify(options),
      );
    }
  });
});
