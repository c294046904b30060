/**
 * A node's vital signs over one sampling window, as measured by ResourceMonitor and carried on every health
 * heartbeat. Plain JSON/msgpack data, ~20 numbers. A figure that could not be measured in the window is null
 * (no fsync happened, the first CPU sample has no previous one, statfs not answered yet...).
 */
export interface NodeVitals {
  /** When the sample was taken, on the sampling node's clock (ms; not comparable across nodes). */
  readonly atMs: number;
  /** Wall time the windowed figures cover (since the previous sample). */
  readonly windowMs: number;
  /** Process CPU time over wall time, in percent of ONE core (150 = one and a half cores). */
  readonly cpuProcessPercent: number | null;
  /** Whole machine: busy time over all cores, 0..100. */
  readonly cpuSystemPercent: number | null;
  /** Cores available to the process (os.availableParallelism()). */
  readonly cpuCores: number;
  /** Event-loop lag (delay beyond the probe's resolution), 99th percentile over the window. */
  readonly eventLoopLagP99Ms: number | null;
  /** Event-loop lag, maximum over the window: the longest stall. */
  readonly eventLoopLagMaxMs: number | null;
  /** Resident set size. */
  readonly rssBytes: number;
  /** V8 heap in use. */
  readonly heapUsedBytes: number;
  /** V8 heap limit (past it the process dies of OOM). */
  readonly heapLimitBytes: number;
  /** Data directory's filesystem, percent used as `df` computes it (reserved blocks count as not available). */
  readonly diskUsedPercent: number | null;
  /** Bytes an unprivileged process can still write on the data filesystem. */
  readonly diskFreeBytes: number | null;
  /** Size of the data filesystem. */
  readonly diskTotalBytes: number | null;
  /** fsync (storage commit) latency, 99th percentile over the window; null when no sync completed. */
  readonly fsyncP99Ms: number | null;
  /** Syncs completed in the window. */
  readonly fsyncCount: number;
  /** Requests completed per second over the window. */
  readonly requestsPerSec: number;
  /** Request latency, 99th percentile over the window; null when no request completed. */
  readonly requestP99Ms: number | null;
  /** Failed requests in percent of the window's requests; null when none completed. */
  readonly requestErrorPercent: number | null;
}

interface VitalsField {
  readonly name: keyof NodeVitals;
  readonly nullable: boolean;
  /** Smallest accepted value (received vitals are checked against these bounds). */
  readonly min: number;
  /** Largest accepted value. */
  readonly max: number;
}

const BIG = Number.MAX_SAFE_INTEGER;
const PERCENT_OF_CORES = 100 * 100_000;

/** Every field of NodeVitals with its accepted range; the heartbeat validator walks this list. */
export const VITALS_FIELDS: readonly VitalsField[] = [
  { name: 'atMs', nullable: false, min: -BIG, max: BIG },
  { name: 'windowMs', nullable: false, min: 0, max: BIG },
  { name: 'cpuProcessPercent', nullable: true, min: 0, max: PERCENT_OF_CORES },
  { name: 'cpuSystemPercent', nullable: true, min: 0, max: 100 },
  { name: 'cpuCores', nullable: false, min: 0, max: 100_000 },
  { name: 'eventLoopLagP99Ms', nullable: true, min: 0, max: BIG },
  { name: 'eventLoopLagMaxMs', nullable: true, min: 0, max: BIG },
  { name: 'rssBytes', nullable: false, min: 0, max: BIG },
  { name: 'heapUsedBytes', nullable: false, min: 0, max: BIG },
  { name: 'heapLimitBytes', nullable: false, min: 0, max: BIG },
  { name: 'diskUsedPercent', nullable: true, min: 0, max: 100 },
  { name: 'diskFreeBytes', nullable: true, min: 0, max: BIG },
  { name: 'diskTotalBytes', nullable: true, min: 0, max: BIG },
  { name: 'fsyncP99Ms', nullable: true, min: 0, max: BIG },
  { name: 'fsyncCount', nullable: false, min: 0, max: BIG },
  { name: 'requestsPerSec', nullable: false, min: 0, max: BIG },
  { name: 'requestP99Ms', nullable: true, min: 0, max: BIG },
  { name: 'requestErrorPercent', nullable: true, min: 0, max: 100 },
];

/**
 * Checks received vitals: an object with every field of NodeVitals, each a finite number in range (or null where
 * allowed). Returns a fresh object with only the known fields (extra fields from a newer version are dropped),
 * or a string saying what is wrong. Never throws on plain data.
 */
export function parseVitals(value: unknown): NodeVitals | string {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return 'vitals: expected an object';
  const source = value as Record<string, unknown>;
  const parsed: Record<string, number | null> = {};
  for (const field of VITALS_FIELDS) {
    const fieldValue = Object.hasOwn(source, field.name) ? source[field.name] : undefined;
    if (fieldValue === null && field.nullable) {
      parsed[field.name] = null;
      continue;
    }
    if (
      typeof fieldValue !== 'number' ||
      !Number.isFinite(fieldValue) ||
      fieldValue < field.min ||
      fieldValue > field.max
    ) {
      return `vitals.${field.name}: expected ${field.nullable ? 'null or ' : ''}a number in [${field.min}, ${field.max}]`;
    }
    parsed[field.name] = fieldValue;
  }
  return parsed as unknown as NodeVitals;
}
