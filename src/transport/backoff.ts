import type { Random } from '../util/random.js';

/**
 * Reconnect delay after `attempt` consecutive failures (0 for the first retry): "full jitter" (AWS architecture
 * blog, "Exponential Backoff and Jitter"), uniform in [0, min(max, min × 2^attempt)). Spreading retries over the
 * whole window keeps a restarted node from being hit by every peer at the same instant.
 */
export function backoffDelayMs(attempt: number, minMs: number, maxMs: number, random: Random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 40));
  return Math.floor(random.next() * ceiling);
}

/**
 * Delay after the other side refused our hello (wrong cluster, unknown name): a configuration problem that a
 * quick retry will not fix, so wait the cap, jittered to [½, 1] × max, instead of climbing from the base again.
 */
export function rejectedDelayMs(maxMs: number, random: Random): number {
  return Math.floor(maxMs * (0.5 + 0.5 * random.next()));
}
