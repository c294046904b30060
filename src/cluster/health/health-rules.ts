import { type HealthRulesOptions, type ResolvedHealthRulesOptions, resolveHealthRulesOptions } from './options.js';
import type { NodeVitals } from './vitals.js';

/** `degraded`: the node should give up leadership and take no new data. `healthy` may still carry warnings. */
export type HealthStatus = 'healthy' | 'degraded';

/** `degraded` reasons make the status degraded; `warning` reasons inform (e.g. placement avoids DISK_HIGH). */
export type HealthSeverity = 'degraded' | 'warning';

/** The reason codes these rules produce. Stable: other parts of Cairn match on them. */
export const HEALTH_REASON_CODES = [
  'DISK_FULL',
  'DISK_HIGH',
  'SLOW_FSYNC',
  'EVENT_LOOP_LAG',
  'MEMORY_HIGH',
  'CPU_SATURATED',
] as const;

export type HealthReasonCode = (typeof HEALTH_REASON_CODES)[number];

export interface HealthReason {
  /**
   * A HealthReasonCode for conditions computed here; typed as string because a peer running a newer version
   * may send codes this one does not know (they are kept, not rejected).
   */
  readonly code: string;
  readonly severity: HealthSeverity;
  /** Human text with the figures, e.g. "fsync p99 above 50 ms for 30 s (latest 72.4 ms)". */
  readonly message: string;
}

export interface HealthCondition {
  readonly status: HealthStatus;
  /** Active reasons, in the fixed order of HEALTH_REASON_CODES. Empty when all is well. */
  readonly reasons: readonly HealthReason[];
}

export const HEALTHY: HealthCondition = { status: 'healthy', reasons: [] };

interface Rule {
  readonly code: HealthReasonCode;
  readonly severity: HealthSeverity;
  readonly sustainMs: number;
  /** Whether the sample breaks the rule's threshold; null when it carries no evidence (figure not measured). */
  exceeds(sample: NodeVitals): boolean | null;
  /** Human text for the latest sample. */
  describe(sample: NodeVitals): string;
}

const round1 = (value: number): number => Math.round(value * 10) / 10;
const seconds = (ms: number): string => `${round1(ms / 1000)} s`;
const GiB = 1024 ** 3;

function over(value: number | null, threshold: number): boolean | null {
  return value === null ? null : value > threshold;
}

/** CPU judged: the machine's busy percent or the process's share of all cores, whichever is higher. */
export function cpuLoadPercent(sample: NodeVitals): number | null {
  const processShare =
    sample.cpuProcessPercent !== null && sample.cpuCores > 0 ? sample.cpuProcessPercent / sample.cpuCores : null;
  if (processShare === null) return sample.cpuSystemPercent;
  if (sample.cpuSystemPercent === null) return processShare;
  return Math.max(processShare, sample.cpuSystemPercent);
}

function heapPercent(sample: NodeVitals): number | null {
  return sample.heapLimitBytes > 0 ? (sample.heapUsedBytes / sample.heapLimitBytes) * 100 : null;
}

function buildRules(o: ResolvedHealthRulesOptions): Rule[] {
  const sustained = (what: string) => `${what} for ${seconds(o.sustainMs)}`;
  const latest = (value: number | null, unit: string) =>
    value === null ? 'no data' : `latest ${round1(value)}${unit}`;
  return [
    {
      code: 'DISK_FULL',
      severity: 'degraded',
      sustainMs: o.diskSustainMs,
      exceeds: (s) => over(s.diskUsedPercent, o.diskFullPercent),
      describe: (s) => `data disk ${latest(s.diskUsedPercent, ' %')} used (limit ${o.diskFullPercent} %)`,
    },
    {
      code: 'DISK_HIGH',
      severity: 'warning',
      sustainMs: o.diskSustainMs,
      exceeds: (s) => over(s.diskUsedPercent, o.diskHighPercent),
      describe: (s) => `data disk ${latest(s.diskUsedPercent, ' %')} used (above ${o.diskHighPercent} %: no new data)`,
    },
    {
      code: 'SLOW_FSYNC',
      severity: 'degraded',
      sustainMs: o.sustainMs,
      exceeds: (s) => over(s.fsyncP99Ms, o.slowFsyncP99Ms),
      describe: (s) => `${sustained(`fsync p99 above ${o.slowFsyncP99Ms} ms`)} (${latest(s.fsyncP99Ms, ' ms')})`,
    },
    {
      code: 'EVENT_LOOP_LAG',
      severity: 'degraded',
      sustainMs: o.sustainMs,
      exceeds: (s) => over(s.eventLoopLagP99Ms, o.eventLoopLagP99Ms),
      describe: (s) =>
        `${sustained(`event-loop lag p99 above ${o.eventLoopLagP99Ms} ms`)} (${latest(s.eventLoopLagP99Ms, ' ms')})`,
    },
    {
      code: 'MEMORY_HIGH',
      severity: 'degraded',
      sustainMs: o.sustainMs,
      exceeds: (s) => {
        const heap = over(heapPercent(s), o.heapUsedPercentOfLimit);
        const rss = o.rssLimitBytes === null ? null : s.rssBytes > o.rssLimitBytes;
        if (heap === null && rss === null) return null;
        return heap === true || rss === true;
      },
      describe: (s) => {
        const rssLimit = o.rssLimitBytes === null ? '' : `, RSS limit ${round1(o.rssLimitBytes / GiB)} GiB`;
        return (
          `${sustained('memory above its limit')} (heap ${latest(heapPercent(s), ' %')} of the heap limit, ` +
          `limit ${o.heapUsedPercentOfLimit} %; RSS ${round1(s.rssBytes / GiB)} GiB${rssLimit})`
        );
      },
    },
    {
      code: 'CPU_SATURATED',
      severity: 'degraded',
      sustainMs: o.sustainMs,
      exceeds: (s) => over(cpuLoadPercent(s), o.cpuSaturatedPercent),
      describe: (s) =>
        `${sustained(`CPU above ${o.cpuSaturatedPercent} % of the cores`)} (${latest(cpuLoadPercent(s), ' %')})`,
    },
  ];
}

/**
 * Whether `holds` is true of every sample of an unbroken run reaching back at least `durationMs` from `nowMs`.
 * Walks the history from the newest sample. The run breaks (false) at a sample where it does not hold, or at a
 * gap longer than maxSampleGapMs (including between now and the newest sample). A sample with no evidence
 * (null) neither breaks nor counts, unless `noEvidenceHolds` (then it counts as holding). The run must contain
 * at least `minSamples` counted samples (1 when durationMs is 0: the latest evidence decides).
 * A sample covers (atMs - windowMs, atMs], so 30 one-second samples cover 30 s.
 */
function holdsOver(
  history: readonly NodeVitals[],
  holds: (sample: NodeVitals) => boolean | null,
  durationMs: number,
  options: ResolvedHealthRulesOptions,
  nowMs: number,
  noEvidenceHolds: boolean,
): boolean {
  const minSamples = durationMs === 0 ? 1 : options.minSamples;
  let counted = 0;
  let newerAtMs = nowMs;
  for (let i = history.length - 1; i >= 0; i--) {
    const sample = history[i]!;
    if (sample.atMs > nowMs) continue;
    if (newerAtMs - sample.atMs > options.maxSampleGapMs) return false;
    newerAtMs = sample.atMs;
    const verdict = holds(sample);
    if (verdict === false) return false;
    if (verdict === null && !noEvidenceHolds) continue;
    counted++;
    const coveredFromMs = sample.atMs - Math.min(Math.max(0, sample.windowMs), options.maxSampleGapMs);
    if (nowMs - coveredFromMs >= durationMs && counted >= minSamples) return true;
  }
  return false;
}

/**
 * The health condition of a node from its recent vitals. Pure: the same history, previous condition and time
 * always give the same answer.
 *
 * - A rule that is not active triggers when its threshold is broken by every sample of the last sustainMs
 *   (diskSustainMs for the disk rules), with at least minSamples samples carrying the figure. A sample without
 *   the figure (e.g. no fsync in that second) is no evidence either way.
 * - A rule that is active (its code is in `previous`) clears only when every sample of the last recoverMs is
 *   within the threshold, with at least minSamples samples. Here a sample without the figure counts as within
 *   (a degraded node loses its load, so an idle disk must be able to recover).
 * - Anything in between keeps the previous verdict: that is the hysteresis that prevents flapping.
 *
 * @param history the node's samples, oldest first (ResourceMonitor.history()).
 * @param previous the condition returned by the previous call (null at startup).
 * @param nowMs the time to judge at, on the same clock as the samples' atMs (usually the newest atMs).
 */
export function evaluateHealthRules(
  history: readonly NodeVitals[],
  previous: HealthCondition | null,
  nowMs: number,
  options: HealthRulesOptions | ResolvedHealthRulesOptions = {},
): HealthCondition {
  const resolved = resolveHealthRulesOptions(options);
  const newest = history.at(-1);
  const reasons: HealthReason[] = [];
  for (const rule of buildRules(resolved)) {
    const wasActive = previous?.reasons.some((reason) => reason.code === rule.code) ?? false;
    const active = wasActive
      ? !holdsOver(history, (s) => negate(rule.exceeds(s)), resolved.recoverMs, resolved, nowMs, true)
      : holdsOver(history, (s) => rule.exceeds(s), rule.sustainMs, resolved, nowMs, false);
    if (active) {
      reasons.push({ code: rule.code, severity: rule.severity, message: newest ? rule.describe(newest) : 'no data' });
    }
  }
  const degraded = reasons.some((reason) => reason.severity === 'degraded');
  return { status: degraded ? 'degraded' : 'healthy', reasons };
}

function negate(value: boolean | null): boolean | null {
  return value === null ? null : !value;
}
