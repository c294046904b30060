import { statfs } from 'node:fs/promises';
import { availableParallelism, cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { getHeapStatistics } from 'node:v8';
import type { Timers } from '../../transport/index.js';

/**
 * Where ResourceMonitor reads the process's and the machine's figures from. Tests replace any of them;
 * `systemResourceSources` reads the real ones.
 */

/** Cumulative CPU time of the process, in microseconds (the shape of process.cpuUsage()). */
export interface CpuTimes {
  readonly user: number;
  readonly system: number;
}

/** Cumulative CPU time of the whole machine, summed over all cores, in milliseconds. */
export interface SystemCpuTimes {
  readonly busyMs: number;
  readonly totalMs: number;
}

/** The fields of fs.statfs the monitor needs (block counts and block size). */
export interface FilesystemStats {
  readonly bsize: number;
  readonly blocks: number;
  readonly bfree: number;
  readonly bavail: number;
}

/** The part of perf_hooks' IntervalHistogram the monitor uses. Values in nanoseconds. */
export interface EventLoopDelaySource {
  enable(): void;
  disable(): void;
  reset(): void;
  percentile(percentile: number): number;
  readonly max: number;
  readonly count: number;
}

export interface ResourceSources {
  cpuUsage(): CpuTimes;
  /** Null when the platform does not report per-core times. */
  systemCpuTimes(): SystemCpuTimes | null;
  cpuCores(): number;
  memoryUsage(): { readonly rss: number; readonly heapUsed: number };
  heapLimitBytes(): number;
  statfs(path: string): Promise<FilesystemStats>;
  /** Creates the event-loop delay probe (not yet enabled). */
  eventLoopDelay(resolutionMs: number): EventLoopDelaySource;
}

export const systemResourceSources: ResourceSources = {
  cpuUsage: () => process.cpuUsage(),
  systemCpuTimes: () => {
    let busyMs = 0;
    let totalMs = 0;
    for (const core of cpus()) {
      const { user, nice, sys, idle, irq } = core.times;
      busyMs += user + nice + sys + irq;
      totalMs += user + nice + sys + irq + idle;
    }
    return totalMs > 0 ? { busyMs, totalMs } : null;
  },
  cpuCores: () => availableParallelism(),
  memoryUsage: () => process.memoryUsage(),
  heapLimitBytes: () => getHeapStatistics().heap_size_limit,
  statfs: (path) => statfs(path),
  eventLoopDelay: (resolutionMs) => monitorEventLoopDelay({ resolution: resolutionMs }),
};

/**
 * The global timers, unref'd: a monitor (a background observer) must never be what keeps the process alive.
 */
export const unrefTimers: Timers = {
  setTimeout: (callback, delayMs) => setTimeout(callback, delayMs).unref(),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
