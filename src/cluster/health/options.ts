import { HealthError } from './errors.js';
import type { NodeVitals } from './vitals.js';

/**
 * Every option of the health building blocks, with its default and unit. Resolve functions apply the defaults
 * and validate, throwing HealthError('INVALID_OPTION') naming the culprit, so a bad configuration fails at startup.
 */

/**
 * Which distribution of heartbeat inter-arrival times phi is computed from.
 * - `normal` (Akka, Hayashibara et al.): uses the mean and the standard deviation of the window, so a steady
 *   network is judged tightly and a jittery one loosely. The default: it detects a dead 1 s peer in ~2.6 s.
 * - `exponential` (Cassandra): uses only the mean; phi = log10(e) × elapsed / mean. Very robust to jitter but
 *   slow: at threshold 8 a 1 s peer is suspected only after ~18.4 s.
 */
export type PhiDistribution = 'normal' | 'exponential';

export interface PhiAccrualOptions {
  /**
   * Heartbeat inter-arrival intervals remembered per peer (a ring; 8 bytes each). Default 1000, as Akka and
   * Cassandra: ~17 minutes of 1 s heartbeats, long enough that a burst of jitter does not swing the statistics,
   * short enough to follow a change of network. Range 2..100000.
   */
  windowSize?: number;
  /**
   * Floor of the standard deviation used for phi. Default 100 ms. Without it a perfectly regular sender (std ≈ 0)
   * would be suspected a few milliseconds after a late heartbeat.
   */
  minStdDeviationMs?: number;
  /**
   * Silence beyond the mean interval that is accepted before phi starts to rise (normal: added to the mean;
   * exponential: subtracted from the elapsed time). Default 1000 ms: absorbs an occasional heartbeat delayed by
   * a few hundred ms (a GC pause on the sender, a TCP retransmission) without suspicion.
   */
  acceptableHeartbeatPauseMs?: number;
  /**
   * Intervals longer than this are not added to the window (Cassandra: 2 s): a restart, a partition or a pause
   * must not teach the detector that long silences are normal. The heartbeat still counts as "heard". Default
   * 2000 ms; must be ≥ expectedIntervalMs.
   */
  maxIntervalMs?: number;
  /** The heartbeat interval senders use; the statistics' prior until enough samples arrived. Default 1000 ms. */
  expectedIntervalMs?: number;
  /**
   * Until this many intervals are in the window, phi uses the prior: mean = expectedIntervalMs, standard
   * deviation = expectedIntervalMs / 4 (wide, since nothing is known yet). Default 5. Range 1..windowSize.
   */
  bootstrapMinSamples?: number;
  /** See PhiDistribution. Default 'normal'. */
  distribution?: PhiDistribution;
}

export type ResolvedPhiAccrualOptions = Readonly<Required<PhiAccrualOptions>>;

export const PHI_ACCRUAL_DEFAULTS: ResolvedPhiAccrualOptions = {
  windowSize: 1000,
  minStdDeviationMs: 100,
  acceptableHeartbeatPauseMs: 1000,
  maxIntervalMs: 2000,
  expectedIntervalMs: 1000,
  bootstrapMinSamples: 5,
  distribution: 'normal',
};

export interface PeerHealthTrackerOptions {
  /** Options of each peer's phi accrual detector. Default: PHI_ACCRUAL_DEFAULTS. */
  detector?: PhiAccrualOptions;
  /** A peer whose phi is above this is suspect. Default 8 (Akka, Cassandra): ~1e-8 odds that it is alive. */
  phiThreshold?: number;
  /**
   * A peer suspect continuously for this long (as observed by a node that was running the whole time) is dead.
   * Default 300000 ms (5 min, CockroachDB); tests set seconds.
   */
  timeUntilDeadMs?: number;
  /**
   * A suspect or dead peer is alive again after this many heartbeats in a row with phi under the threshold
   * (counting from the heartbeat that ended the silence). Default 3: with 1 s heartbeats a recovered peer is
   * alive ~2 s after it resumes, and a peer that gets one heartbeat through now and then stays suspect.
   */
  recoveryHeartbeats?: number;
  /**
   * A local event-loop stall longer than this counts as a local pause (see localPauseGraceMs). Default 1000 ms:
   * a suspect verdict needs ~2.6 s of silence with the default detector, so a longer local stall (plus up to one
   * heartbeat interval of phase) could make every peer look silent.
   */
  localPauseThresholdMs?: number;
  /**
   * After a local pause, no peer is moved to suspect or dead for this long, and every suspect peer's dead clock
   * restarts: a node that was paused must not accuse everyone else. Default 5000 ms (Cassandra's figure).
   */
  localPauseGraceMs?: number;
  /** Most peers tracked; heartbeats from further unknown peers are ignored ('peer-limit'). Default 1024. */
  maxPeers?: number;
}

export interface ResolvedPeerHealthTrackerOptions {
  readonly detector: ResolvedPhiAccrualOptions;
  readonly phiThreshold: number;
  readonly timeUntilDeadMs: number;
  readonly recoveryHeartbeats: number;
  readonly localPauseThresholdMs: number;
  readonly localPauseGraceMs: number;
  readonly maxPeers: number;
}

export const PEER_HEALTH_TRACKER_DEFAULTS = {
  phiThreshold: 8,
  timeUntilDeadMs: 300_000,
  recoveryHeartbeats: 3,
  localPauseThresholdMs: 1000,
  localPauseGraceMs: 5000,
  maxPeers: 1024,
} as const;

export interface ResourceMonitorOptions {
  /** Directory whose filesystem's space is reported (the node's data dir). Default null: no disk figures. */
  dataDir?: string | null;
  /** Period of automatic sampling after start(); also the window each sample covers. Default 1000 ms. */
  sampleIntervalMs?: number;
  /** Samples kept in history() (a bounded ring). Default 64: enough for the rules' 30 s windows at 1 s. */
  historySize?: number;
  /** Resolution of perf_hooks.monitorEventLoopDelay. Default 10 ms (Node's default). */
  eventLoopResolutionMs?: number;
  /**
   * TEST ONLY: report the data directory's filesystem as this percent used (0..100) instead of the real figure,
   * to fake a full disk in integration tests. Never set it in production. Default null (real figures).
   */
  testDiskUsedPercent?: number | null;
  /** Called with every periodic sample (after start()); an exception it throws is swallowed. Default none. */
  onSample?: ((vitals: NodeVitals) => void) | null;
}

export interface ResolvedResourceMonitorOptions {
  readonly dataDir: string | null;
  readonly sampleIntervalMs: number;
  readonly historySize: number;
  readonly eventLoopResolutionMs: number;
  readonly testDiskUsedPercent: number | null;
  readonly onSample: ((vitals: NodeVitals) => void) | null;
}

export const RESOURCE_MONITOR_DEFAULTS: ResolvedResourceMonitorOptions = {
  dataDir: null,
  sampleIntervalMs: 1000,
  historySize: 64,
  eventLoopResolutionMs: 10,
  testDiskUsedPercent: null,
  onSample: null,
};

export interface HealthRulesOptions {
  /** DISK_FULL (degraded) when the data filesystem is more than this percent used. Default 90. */
  diskFullPercent?: number;
  /** DISK_HIGH (warning: place no new data here) when more than this percent used. Default 80. */
  diskHighPercent?: number;
  /**
   * How long a disk rule's condition must hold before it triggers. Default 0 ms: disk usage is not noisy and a
   * full disk is urgent, so the latest sample decides.
   */
  diskSustainMs?: number;
  /** SLOW_FSYNC when the fsync p99 is above this, sustained. Default 50 ms. */
  slowFsyncP99Ms?: number;
  /** EVENT_LOOP_LAG when the event-loop lag p99 is above this, sustained. Default 200 ms. */
  eventLoopLagP99Ms?: number;
  /**
   * CPU_SATURATED when CPU use is above this percent of the available cores, sustained. The value judged is
   * the larger of the machine's busy percent and the process's CPU divided by the cores. Default 90.
   */
  cpuSaturatedPercent?: number;
  /** MEMORY_HIGH when the V8 heap in use is above this percent of the heap limit, sustained. Default 90. */
  heapUsedPercentOfLimit?: number;
  /** MEMORY_HIGH when the resident set is above this many bytes, sustained. Default null (no RSS limit). */
  rssLimitBytes?: number | null;
  /**
   * A rule triggers when every sample of at least the last sustainMs breaks its threshold. Default 30000 ms.
   */
  sustainMs?: number;
  /**
   * An active rule clears when every sample of at least the last recoverMs is within its threshold (recovery is
   * sustained too, so a value hovering at the threshold does not flap). Default 30000 ms.
   */
  recoverMs?: number;
  /** A sustained decision (trigger or recovery) needs at least this many samples with a value. Default 5. */
  minSamples?: number;
  /**
   * Two consecutive samples further apart than this break a run (no evidence in between), as does a newest
   * sample older than this. Default 5000 ms (five missed 1 s samples).
   */
  maxSampleGapMs?: number;
}

export type ResolvedHealthRulesOptions = Readonly<Required<HealthRulesOptions>>;

export const HEALTH_RULES_DEFAULTS: ResolvedHealthRulesOptions = {
  diskFullPercent: 90,
  diskHighPercent: 80,
  diskSustainMs: 0,
  slowFsyncP99Ms: 50,
  eventLoopLagP99Ms: 200,
  cpuSaturatedPercent: 90,
  heapUsedPercentOfLimit: 90,
  rssLimitBytes: null,
  sustainMs: 30_000,
  recoverMs: 30_000,
  minSamples: 5,
  maxSampleGapMs: 5000,
};

// ---- validation ---------------------------------------------------------------------------------------------

function numberOption(name: string, value: unknown, min: number, max: number, integer: boolean): number {
  const ok = typeof value === 'number' && Number.isFinite(value) && value >= min && value <= max;
  if (!ok || (integer && !Number.isInteger(value))) {
    const kind = integer ? 'an integer' : 'a number';
    throw new HealthError('INVALID_OPTION', `${name} must be ${kind} in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

function checkObject(name: string, value: unknown): void {
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new HealthError('INVALID_OPTION', `${name} must be an object`);
  }
}

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

export function resolvePhiAccrualOptions(options: PhiAccrualOptions = {}): ResolvedPhiAccrualOptions {
  checkObject('detector options', options);
  const d = PHI_ACCRUAL_DEFAULTS;
  const windowSize = numberOption('windowSize', options.windowSize ?? d.windowSize, 2, 100_000, true);
  const expectedIntervalMs = numberOption(
    'expectedIntervalMs',
    options.expectedIntervalMs ?? d.expectedIntervalMs,
    1,
    HOUR_MS,
    false,
  );
  const distribution = options.distribution ?? d.distribution;
  if (distribution !== 'normal' && distribution !== 'exponential') {
    throw new HealthError('INVALID_OPTION', `distribution must be 'normal' or 'exponential'`);
  }
  return {
    windowSize,
    minStdDeviationMs: numberOption(
      'minStdDeviationMs',
      options.minStdDeviationMs ?? d.minStdDeviationMs,
      1e-3,
      HOUR_MS,
      false,
    ),
    acceptableHeartbeatPauseMs: numberOption(
      'acceptableHeartbeatPauseMs',
      options.acceptableHeartbeatPauseMs ?? d.acceptableHeartbeatPauseMs,
      0,
      HOUR_MS,
      false,
    ),
    maxIntervalMs: numberOption(
      'maxIntervalMs',
      options.maxIntervalMs ?? Math.max(d.maxIntervalMs, expectedIntervalMs),
      expectedIntervalMs,
      DAY_MS,
      false,
    ),
    expectedIntervalMs,
    bootstrapMinSamples: numberOption(
      'bootstrapMinSamples',
      options.bootstrapMinSamples ?? Math.min(d.bootstrapMinSamples, windowSize),
      1,
      windowSize,
      true,
    ),
    distribution,
  };
}

export function resolvePeerHealthTrackerOptions(
  options: PeerHealthTrackerOptions = {},
): ResolvedPeerHealthTrackerOptions {
  checkObject('tracker options', options);
  const d = PEER_HEALTH_TRACKER_DEFAULTS;
  return {
    detector: resolvePhiAccrualOptions(options.detector),
    phiThreshold: numberOption('phiThreshold', options.phiThreshold ?? d.phiThreshold, 0.1, 1000, false),
    timeUntilDeadMs: numberOption(
      'timeUntilDeadMs',
      options.timeUntilDeadMs ?? d.timeUntilDeadMs,
      0,
      30 * DAY_MS,
      false,
    ),
    recoveryHeartbeats: numberOption(
      'recoveryHeartbeats',
      options.recoveryHeartbeats ?? d.recoveryHeartbeats,
      1,
      1000,
      true,
    ),
    localPauseThresholdMs: numberOption(
      'localPauseThresholdMs',
      options.localPauseThresholdMs ?? d.localPauseThresholdMs,
      1,
      DAY_MS,
      false,
    ),
    localPauseGraceMs: numberOption(
      'localPauseGraceMs',
      options.localPauseGraceMs ?? d.localPauseGraceMs,
      0,
      DAY_MS,
      false,
    ),
    maxPeers: numberOption('maxPeers', options.maxPeers ?? d.maxPeers, 1, 1_000_000, true),
  };
}

export function resolveResourceMonitorOptions(options: ResourceMonitorOptions = {}): ResolvedResourceMonitorOptions {
  checkObject('monitor options', options);
  const d = RESOURCE_MONITOR_DEFAULTS;
  const dataDir = options.dataDir ?? d.dataDir;
  if (dataDir !== null && (typeof dataDir !== 'string' || dataDir.length === 0)) {
    throw new HealthError('INVALID_OPTION', 'dataDir must be a non-empty path or null');
  }
  const testDiskUsedPercent = options.testDiskUsedPercent ?? d.testDiskUsedPercent;
  const onSample = options.onSample ?? d.onSample;
  if (onSample !== null && typeof onSample !== 'function') {
    throw new HealthError('INVALID_OPTION', 'onSample must be a function or null');
  }
  return {
    dataDir,
    sampleIntervalMs: numberOption(
      'sampleIntervalMs',
      options.sampleIntervalMs ?? d.sampleIntervalMs,
      1,
      HOUR_MS,
      false,
    ),
    historySize: numberOption('historySize', options.historySize ?? d.historySize, 1, 10_000, true),
    eventLoopResolutionMs: numberOption(
      'eventLoopResolutionMs',
      options.eventLoopResolutionMs ?? d.eventLoopResolutionMs,
      1,
      10_000,
      true,
    ),
    testDiskUsedPercent:
      testDiskUsedPercent === null ? null : numberOption('testDiskUsedPercent', testDiskUsedPercent, 0, 100, false),
    onSample,
  };
}

export function resolveHealthRulesOptions(options: HealthRulesOptions = {}): ResolvedHealthRulesOptions {
  checkObject('rules options', options);
  const d = HEALTH_RULES_DEFAULTS;
  const percent = (name: keyof HealthRulesOptions, value: unknown) => numberOption(name, value, 0, 100, false);
  const duration = (name: keyof HealthRulesOptions, value: unknown) => numberOption(name, value, 0, DAY_MS, false);
  const rssLimitBytes = options.rssLimitBytes ?? d.rssLimitBytes;
  return {
    diskFullPercent: percent('diskFullPercent', options.diskFullPercent ?? d.diskFullPercent),
    diskHighPercent: percent('diskHighPercent', options.diskHighPercent ?? d.diskHighPercent),
    diskSustainMs: duration('diskSustainMs', options.diskSustainMs ?? d.diskSustainMs),
    slowFsyncP99Ms: numberOption('slowFsyncP99Ms', options.slowFsyncP99Ms ?? d.slowFsyncP99Ms, 0, HOUR_MS, false),
    eventLoopLagP99Ms: numberOption(
      'eventLoopLagP99Ms',
      options.eventLoopLagP99Ms ?? d.eventLoopLagP99Ms,
      0,
      HOUR_MS,
      false,
    ),
    cpuSaturatedPercent: percent('cpuSaturatedPercent', options.cpuSaturatedPercent ?? d.cpuSaturatedPercent),
    heapUsedPercentOfLimit: percent(
      'heapUsedPercentOfLimit',
      options.heapUsedPercentOfLimit ?? d.heapUsedPercentOfLimit,
    ),
    rssLimitBytes: rssLimitBytes === null ? null : numberOption('rssLimitBytes', rssLimitBytes, 1, 2 ** 53, true),
    sustainMs: duration('sustainMs', options.sustainMs ?? d.sustainMs),
    recoverMs: duration('recoverMs', options.recoverMs ?? d.recoverMs),
    minSamples: numberOption('minSamples', options.minSamples ?? d.minSamples, 1, 100_000, true),
    maxSampleGapMs: numberOption('maxSampleGapMs', options.maxSampleGapMs ?? d.maxSampleGapMs, 1, DAY_MS, false),
  };
}
