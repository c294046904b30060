import type {
  CpuTimes,
  EventLoopDelaySource,
  FilesystemStats,
  ResourceSources,
  SystemCpuTimes,
} from '../../../src/cluster/health/resource-sources.js';

/** An event-loop delay probe whose recorded delays (ns) the test sets. */
export class FakeEventLoopDelay implements EventLoopDelaySource {
  enabled = false;
  resets = 0;
  valuesNs: number[] = [];

  enable(): void {
    this.enabled = true;
  }
  disable(): void {
    this.enabled = false;
  }
  reset(): void {
    this.resets++;
    this.valuesNs = [];
  }
  percentile(percentile: number): number {
    const sorted = [...this.valuesNs].sort((a, b) => a - b);
    return sorted[Math.max(0, Math.ceil((percentile / 100) * sorted.length) - 1)] ?? 0;
  }
  get max(): number {
    return Math.max(0, ...this.valuesNs);
  }
  get count(): number {
    return this.valuesNs.length;
  }
}

/** Every figure the monitor reads, set by hand. */
export class FakeSources implements ResourceSources {
  cpu: CpuTimes = { user: 0, system: 0 };
  systemCpu: SystemCpuTimes | null = { busyMs: 0, totalMs: 0 };
  cores = 2;
  memory = { rss: 200 * 1024 * 1024, heapUsed: 50 * 1024 * 1024 };
  heapLimit = 4 * 1024 ** 3;
  filesystem: FilesystemStats | Error = { bsize: 4096, blocks: 1000, bfree: 100, bavail: 50 };
  statfsCalls: string[] = [];
  readonly probe = new FakeEventLoopDelay();
  probeResolutionMs: number | null = null;

  readonly cpuUsage = () => this.cpu;
  readonly systemCpuTimes = () => this.systemCpu;
  readonly cpuCores = () => this.cores;
  readonly memoryUsage = () => this.memory;
  readonly heapLimitBytes = () => this.heapLimit;
  readonly statfs = async (path: string) => {
    this.statfsCalls.push(path);
    if (this.filesystem instanceof Error) throw this.filesystem;
    return this.filesystem;
  };
  readonly eventLoopDelay = (resolutionMs: number) => {
    this.probeResolutionMs = resolutionMs;
    return this.probe;
  };

  /** Adds process CPU time (ms of user and system) and machine time (busy and total ms over all cores). */
  burn(processUserMs: number, processSystemMs: number, machineBusyMs = 0, machineTotalMs = 0): void {
    this.cpu = { user: this.cpu.user + processUserMs * 1000, system: this.cpu.system + processSystemMs * 1000 };
    if (this.systemCpu) {
      this.systemCpu = {
        busyMs: this.systemCpu.busyMs + machineBusyMs,
        totalMs: this.systemCpu.totalMs + machineTotalMs,
      };
    }
  }
}
