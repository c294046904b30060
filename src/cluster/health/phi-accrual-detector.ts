import type { Clock } from '../../transport/index.js';
import { IntervalWindow } from './interval-window.js';
import { type PhiAccrualOptions, type ResolvedPhiAccrualOptions, resolvePhiAccrualOptions } from './options.js';
import { phiExponential, phiNormal } from './phi.js';

/** The statistics phi is currently computed from (for logs, metrics and tests). */
export interface PhiAccrualStats {
  /** Intervals in the window. */
  readonly samples: number;
  /** True while fewer than bootstrapMinSamples intervals are known and the prior is used. */
  readonly bootstrapping: boolean;
  /** Mean interval used (the prior while bootstrapping). */
  readonly meanMs: number;
  /** Standard deviation used, after the minStdDeviationMs floor (the prior while bootstrapping). */
  readonly stdDeviationMs: number;
  /** Intervals longer than maxIntervalMs that were kept out of the window. */
  readonly ignoredIntervals: number;
  /** Heartbeats recorded. */
  readonly heartbeats: number;
}

/**
 * Phi accrual failure detector for one peer (Hayashibara et al.; Akka's variant by default). It does not say
 * "dead" or "alive": it reports phi, a suspicion level that grows with the silence since the last heartbeat,
 * scaled by how regular this peer's heartbeats have been. The caller compares phi with a threshold.
 *
 * Time comes from the injected clock only. Before the first heartbeat (and before start()), phi is 0.
 */
export class PhiAccrualDetector {
  readonly options: ResolvedPhiAccrualOptions;
  private readonly window: IntervalWindow;
  private lastHeartbeatAtMs: number | null = null;
  /** start() sets a reference time without a heartbeat: the next heartbeat must not record an interval. */
  private referenceIsHeartbeat = false;
  private ignoredIntervals = 0;
  private heartbeats = 0;

  constructor(
    options: PhiAccrualOptions = {},
    private readonly clock: Clock,
  ) {
    this.options = resolvePhiAccrualOptions(options);
    this.window = new IntervalWindow(this.options.windowSize);
  }

  /**
   * Starts judging silence from now, as if a heartbeat had arrived but without recording one: a peer that is
   * expected but never heard from becomes suspect like one that went silent. Does nothing once heartbeats flow.
   */
  start(): void {
    if (this.lastHeartbeatAtMs !== null) return;
    this.lastHeartbeatAtMs = this.clock.now();
    this.referenceIsHeartbeat = false;
  }

  /** Records a heartbeat arriving now. */
  heartbeat(): void {
    const now = this.clock.now();
    if (this.lastHeartbeatAtMs !== null && this.referenceIsHeartbeat) {
      // A clock that went backwards gives a negative interval: record nothing rather than a lie.
      const intervalMs = now - this.lastHeartbeatAtMs;
      if (intervalMs > this.options.maxIntervalMs) this.ignoredIntervals++;
      else if (intervalMs >= 0) this.window.add(intervalMs);
    }
    this.lastHeartbeatAtMs = Math.max(now, this.lastHeartbeatAtMs ?? now);
    this.referenceIsHeartbeat = true;
    this.heartbeats++;
  }

  /** Suspicion level now: 0 right after a heartbeat, growing with silence; finite; 0 before any reference. */
  phi(): number {
    if (this.lastHeartbeatAtMs === null) return 0;
    const elapsedMs = Math.max(0, this.clock.now() - this.lastHeartbeatAtMs);
    const { meanMs, stdDeviationMs } = this.currentStats();
    const pauseMs = this.options.acceptableHeartbeatPauseMs;
    if (this.options.distribution === 'exponential') {
      // A window of near-zero intervals (a burst) must not divide by zero.
      return phiExponential(Math.max(0, elapsedMs - pauseMs), Math.max(meanMs, 1));
    }
    return phiNormal(elapsedMs, meanMs + pauseMs, stdDeviationMs);
  }

  /** Clock time of the last heartbeat; null if none was recorded (start() does not count). */
  lastHeartbeatAt(): number | null {
    return this.referenceIsHeartbeat ? this.lastHeartbeatAtMs : null;
  }

  stats(): PhiAccrualStats {
    const { meanMs, stdDeviationMs, bootstrapping } = this.currentStats();
    return {
      samples: this.window.size,
      bootstrapping,
      meanMs,
      stdDeviationMs,
      ignoredIntervals: this.ignoredIntervals,
      heartbeats: this.heartbeats,
    };
  }

  private currentStats(): { meanMs: number; stdDeviationMs: number; bootstrapping: boolean } {
    const { expectedIntervalMs, bootstrapMinSamples, minStdDeviationMs } = this.options;
    if (this.window.size < bootstrapMinSamples) {
      return {
        meanMs: expectedIntervalMs,
        stdDeviationMs: Math.max(expectedIntervalMs / 4, minStdDeviationMs),
        bootstrapping: true,
      };
    }
    return {
      meanMs: this.window.mean(),
      stdDeviationMs: Math.max(this.window.stdDeviation(), minStdDeviationMs),
      bootstrapping: false,
    };
  }
}
