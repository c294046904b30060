import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ResourceMonitor } from '../../../src/cluster/health/resource-monitor.js';
import type { EventLoopDelaySource } from '../../../src/cluster/health/resource-sources.js';
import type { Timers } from '../../../src/transport/index.js';

const countTimeouts = () => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

test('smoke: the real process and filesystem give sane vitals, and stop() leaves nothing running', async () => {
  // Referenced (not unref'd) timers and a spied probe, so a handle left behind would be visible.
  const liveTimers = new Set<unknown>();
  const timers: Timers = {
    setTimeout: (callback, delayMs) => {
      const handle = setTimeout(() => {
        liveTimers.delete(handle);
        callback();
      }, delayMs);
      liveTimers.add(handle);
      return handle;
    },
    clearTimeout: (handle) => {
      liveTimers.delete(handle);
      clearTimeout(handle as ReturnType<typeof setTimeout>);
    },
  };
  let probe: (EventLoopDelaySource & { enabled: boolean }) | null = null;
  const eventLoopDelay = (resolutionMs: number) => {
    const real = monitorEventLoopDelay({ resolution: resolutionMs });
    const spied = {
      enabled: false,
      enable: () => {
        spied.enabled = true;
        real.enable();
      },
      disable: () => {
        spied.enabled = false;
        real.disable();
      },
      reset: () => real.reset(),
      percentile: (p: number) => real.percentile(p),
      get max() {
        return real.max;
      },
      get count() {
        return real.count;
      },
    };
    probe = spied;
    return spied;
  };

  const timeoutsBefore = countTimeouts();
  const monitor = new ResourceMonitor(
    { dataDir: tmpdir(), sampleIntervalMs: 200 },
    { timers, sources: { eventLoopDelay } },
  );
  monitor.start();
  await sleep(250);
  // A short stall, so the lag and CPU figures have something to show: at least 120 ms of wall time and 100 ms of
  // CPU (on a loaded machine the loop gets only part of a core; capped at 5 s).
  const started = performance.now();
  const cpuBefore = process.cpuUsage();
  const cpuMs = () => {
    const used = process.cpuUsage(cpuBefore);
    return (used.user + used.system) / 1000;
  };
  while (performance.now() - started < 5000 && (performance.now() - started < 120 || cpuMs() < 100)) {}
  await sleep(500);
  const history = monitor.history();
  monitor.stop();

  assert.ok(history.length >= 2, `${history.length} samples`);
  const vitals = history.at(-1)!;
  const cores = vitals.cpuCores;
  assert.ok(cores >= 1 && cores <= 4096);
  for (const sample of history) {
    assert.ok(sample.windowMs > 100 && sample.windowMs < 5000, `window ${sample.windowMs}`);
    assert.ok(sample.cpuProcessPercent !== null && sample.cpuProcessPercent >= 0);
    assert.ok(sample.cpuProcessPercent <= cores * 100 + 50, `process CPU ${sample.cpuProcessPercent}`);
    if (sample.cpuSystemPercent !== null) assert.ok(sample.cpuSystemPercent >= 0 && sample.cpuSystemPercent <= 100);
    assert.ok(sample.rssBytes > 10 * 1024 ** 2 && sample.rssBytes < 64 * 1024 ** 3, `rss ${sample.rssBytes}`);
    assert.ok(sample.heapUsedBytes > 0 && sample.heapUsedBytes < sample.heapLimitBytes);
    if (sample.eventLoopLagP99Ms !== null)
      assert.ok(sample.eventLoopLagP99Ms >= 0 && sample.eventLoopLagP99Ms < 10_000);
  }
  const maxStall = Math.max(...history.map((s) => s.eventLoopLagMaxMs ?? 0));
  assert.ok(maxStall >= 50, `the 120 ms busy loop shows as a stall (max lag ${maxStall} ms)`);
  // The CPU the samples account for (percent of a core × window) covers the busy loop's.
  const accountedCpuMs = history.reduce((sum, s) => sum + ((s.cpuProcessPercent ?? 0) / 100) * s.windowMs, 0);
  assert.ok(accountedCpuMs >= 80, `the busy loop shows as CPU (${accountedCpuMs.toFixed(0)} ms of CPU accounted)`);
  assert.ok(vitals.diskUsedPercent !== null && vitals.diskUsedPercent >= 0 && vitals.diskUsedPercent <= 100);
  assert.ok(vitals.diskFreeBytes! >= 0 && vitals.diskFreeBytes! <= vitals.diskTotalBytes!);

  await sleep(50); // let a last statfs settle
  assert.equal(liveTimers.size, 0, 'no sampling timer left');
  assert.equal(countTimeouts(), timeoutsBefore, 'no Timeout handle left');
  assert.equal(probe!.enabled, false, 'event-loop probe disabled');
});
