import { type Clock, systemClock, type TimerHandle, type Timers } from '../../transport/index.js';
import { LatencyHistogram } from './latency-histogram.js';
import {
  type ResolvedResourceMonitorOptions,
  type ResourceMonitorOptions,
  resolveResourceMonitorOptions,
} from './options.js';
import {
  type CpuTimes,
  type EventLoopDelaySource,
  type FilesystemStats,
  type ResourceSources,
  type SystemCpuTimes,
  systemResourceSources,
  unrefTimers,
} from './resource-sources.js';
import type { NodeVitals } from './vitals.js';

export interface ResourceMonitorComponents {
  /** Milliseconds; CPU percentages divide by its elapsed time. Default: the transport's systemClock. */
  readonly clock?: Clock;
  /** Schedules the periodic samples. Default: the global timers, unref'd. */
  readonly timers?: Timers;
  /** Figures to read instead of the real ones (any subset). Default: systemResourceSources. */
  readonly sources?: Partial<ResourceSources>;
}

/** Size of the fake filesystem reported when testDiskUsedPercent is set and the real one is unknown. */
const TEST_DISK_TOTAL_BYTES = 100 * 1024 ** 3;

const round3 = (value: number): number => Math.round(value * 1000) / 1000;
const round3OrNull = (value: number | null): number | null => (value === null ? null : round3(value));

/**
 * Measures this node's vital signs. Each sample() closes a window (the time since the previous sample) and
 * reports CPU use over it, event-loop lag p99/max, memory, the data filesystem's space, and the p99 of the syncs
 * and requests reported during it (recordSync / recordRequest). Memory is bounded: two fixed-size histograms,
 * a history ring of historySize samples, one cached statfs result.
 *
 * After start(), a sample is taken every sampleIntervalMs (kept in history() and passed to onSample) and the
 * filesystem figures are refreshed asynchronously. stop() clears the timer and disables the event-loop probe:
 * no handle is left behind.
 */
export class ResourceMonitor {
  readonly options: ResolvedResourceMonitorOptions;
  private readonly clock: Clock;
  private readonly timers: Timers;
  private readonly sources: ResourceSources;
  private readonly fsyncLatency = new LatencyHistogram();
  private readonly requestLatency = new LatencyHistogram();
  private requestErrors = 0;
  private eventLoopDelay: EventLoopDelaySource | null = null;
  private windowStartMs: number;
  private cpuBase: CpuTimes;
  private systemCpuBase: SystemCpuTimes | null;
  private disk: FilesystemStats | null = null;
  private diskRefresh: Promise<void> | null = null;
  private lastDiskError: Error | null = null;
  private testDiskUsedPercent: number | null;
  private readonly samples: NodeVitals[] = [];
  private timer: TimerHandle | null = null;
  private running = false;

  constructor(options: ResourceMonitorOptions = {}, components: ResourceMonitorComponents = {}) {
    this.options = resolveResourceMonitorOptions(options);
    this.clock = components.clock ?? systemClock;
    this.timers = components.timers ?? unrefTimers;
    this.sources = { ...systemResourceSources, ...components.sources };
    this.testDiskUsedPercent = this.options.testDiskUsedPercent;
    this.windowStartMs = this.clock.now();
    this.cpuBase = this.sources.cpuUsage();
    this.systemCpuBase = this.sources.systemCpuTimes();
  }

  /** Starts the event-loop probe and periodic sampling. Idempotent. */
  start(): void {
    if (this.running) return;
    this.running = true;
    this.eventLoopDelay ??= this.sources.eventLoopDelay(this.options.eventLoopResolutionMs);
    this.eventLoopDelay.reset();
    this.eventLoopDelay.enable();
    this.refreshDisk().catch(() => {});
    this.schedule();
  }

  /** Stops sampling and the event-loop probe; leaves no timers or handles. Idempotent; start() may follow. */
  stop(): void {
    this.running = false;
    if (this.timer !== null) this.timers.clearTimeout(this.timer);
    this.timer = null;
    this.eventLoopDelay?.disable();
  }

  /** The storage reports each sync's duration (LogStore's onSync). */
  recordSync(durationMs: number): void {
    this.fsyncLatency.record(durationMs);
  }

  /** The API reports each completed request: its duration and whether it succeeded. */
  recordRequest(durationMs: number, ok: boolean): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    this.requestLatency.record(durationMs);
    if (!ok) this.requestErrors++;
  }

  /**
   * Closes the current window and returns its vitals (also kept in history()). Called by the periodic timer;
   * call it directly only when not started (a direct call shortens the timer's window).
   */
  sample(): NodeVitals {
    const now = this.clock.now();
    const windowMs = Math.max(0, now - this.windowStartMs);
    const cpu = this.sources.cpuUsage();
    const systemCpu = this.sources.systemCpuTimes();
    const memory = this.sources.memoryUsage();
    const lag = this.readEventLoopLag();
    const disk = this.diskFigures();

    let cpuProcessPercent: number | null = null;
    if (windowMs > 0) {
      const cpuMicros = cpu.user - this.cpuBase.user + (cpu.system - this.cpuBase.system);
      cpuProcessPercent = Math.max(0, cpuMicros / 10 / windowMs);
    }
    let cpuSystemPercent: number | null = null;
    if (systemCpu !== null && this.systemCpuBase !== null) {
      const totalMs = systemCpu.totalMs - this.systemCpuBase.totalMs;
      const busyMs = systemCpu.busyMs - this.systemCpuBase.busyMs;
      if (totalMs > 0) cpuSystemPercent = Math.min(100, Math.max(0, (busyMs / totalMs) * 100));
    }
    const requests = this.requestLatency.count;
    const vitals: NodeVitals = {
      atMs: now,
      windowMs: round3(windowMs),
      cpuProcessPercent: round3OrNull(cpuProcessPercent),
      cpuSystemPercent: round3OrNull(cpuSystemPercent),
      cpuCores: this.sources.cpuCores(),
      eventLoopLagP99Ms: round3OrNull(lag.p99Ms),
      eventLoopLagMaxMs: round3OrNull(lag.maxMs),
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      heapLimitBytes: this.sources.heapLimitBytes(),
      diskUsedPercent: round3OrNull(disk.usedPercent),
      diskFreeBytes: disk.freeBytes,
      diskTotalBytes: disk.totalBytes,
      fsyncP99Ms: round3OrNull(this.fsyncLatency.percentile(99)),
      fsyncCount: this.fsyncLatency.count,
      requestsPerSec: windowMs > 0 ? round3((requests * 1000) / windowMs) : 0,
      requestP99Ms: round3OrNull(this.requestLatency.percentile(99)),
      requestErrorPercent: requests > 0 ? round3((this.requestErrors / requests) * 100) : null,
    };

    this.windowStartMs = now;
    this.cpuBase = cpu;
    this.systemCpuBase = systemCpu;
    this.fsyncLatency.reset();
    this.requestLatency.reset();
    this.requestErrors = 0;
    if (this.samples.length >= this.options.historySize) this.samples.shift();
    this.samples.push(vitals);
    return vitals;
  }

  /** The most recent sample; null before the first. What the heartbeat sender attaches. */
  latest(): NodeVitals | null {
    return this.samples.at(-1) ?? null;
  }

  /** Recent samples, oldest first, at most historySize (the input of evaluateHealthRules). */
  history(): readonly NodeVitals[] {
    return [...this.samples];
  }

  /** Re-reads the data filesystem's space (statfs). Concurrent calls share one read. */
  refreshDisk(): Promise<void> {
    const dataDir = this.options.dataDir;
    if (dataDir === null) return Promise.resolve();
    this.diskRefresh ??= this.sources
      .statfs(dataDir)
      .then(
        (stats) => {
          this.disk = stats;
          this.lastDiskError = null;
        },
        (error: unknown) => {
          // A vanished or unreadable data dir: report no disk figures rather than stale ones.
          this.disk = null;
          this.lastDiskError = error instanceof Error ? error : new Error(String(error));
        },
      )
      .finally(() => {
        this.diskRefresh = null;
      });
    return this.diskRefresh;
  }

  /** Why the last statfs failed; null if it succeeded (or none ran). */
  diskError(): Error | null {
    return this.lastDiskError;
  }

  /**
   * TEST ONLY: from the next sample on, report the data filesystem as this percent used (null: real figures).
   * Lets an integration test fill the disk of one node. Never call it in production.
   */
  setTestDiskUsedPercent(percent: number | null): void {
    this.testDiskUsedPercent = resolveResourceMonitorOptions({ testDiskUsedPercent: percent }).testDiskUsedPercent;
  }

  private schedule(): void {
    this.timer = this.timers.setTimeout(() => this.tick(), this.options.sampleIntervalMs);
  }

  private tick(): void {
    this.timer = null;
    if (!this.running) return;
    const vitals = this.sample();
    try {
      this.options.onSample?.(vitals);
    } catch {
      // A listener's bug must not stop the node's vital signs.
    }
    this.refreshDisk().catch(() => {});
    if (this.running) this.schedule();
  }

  private readEventLoopLag(): { p99Ms: number | null; maxMs: number | null } {
    const probe = this.eventLoopDelay;
    if (probe === null || probe.count === 0) {
      probe?.reset();
      return { p99Ms: null, maxMs: null };
    }
    // The probe records how long its timer of `resolution` ms really took: the lag is what exceeds it.
    const resolutionMs = this.options.eventLoopResolutionMs;
    const toLagMs = (nanoseconds: number) => Math.max(0, nanoseconds / 1e6 - resolutionMs);
    const figures = { p99Ms: toLagMs(probe.percentile(99)), maxMs: toLagMs(probe.max) };
    probe.reset();
    return figures;
  }

  private diskFigures(): { usedPercent: number | null; freeBytes: number | null; totalBytes: number | null } {
    const disk = this.disk;
    const totalBytes = disk === null ? null : disk.blocks * disk.bsize;
    if (this.testDiskUsedPercent !== null) {
      const fakeTotal = totalBytes ?? TEST_DISK_TOTAL_BYTES;
      const freeBytes = Math.round(fakeTotal * (1 - this.testDiskUsedPercent / 100));
      return { usedPercent: this.testDiskUsedPercent, freeBytes, totalBytes: fakeTotal };
    }
    if (disk === null) return { usedPercent: null, freeBytes: null, totalBytes: null };
    // As df computes it: blocks reserved for root count neither as used nor as available.
    const usedBlocks = Math.max(0, disk.blocks - disk.bfree);
    const usable = usedBlocks + disk.bavail;
    return {
      usedPercent: usable > 0 ? Math.min(100, (usedBlocks / usable) * 100) : null,
      freeBytes: disk.bavail * disk.bsize,
      totalBytes,
    };
  }
}
