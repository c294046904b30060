import type { CampaignPolicy } from '../consensus/types.js';

/**
 * After this many election timeouts without a leader, a node grants its pre-vote to any candidate, healthy or not.
 * Preferring healthy leaders must never cost the group its liveness: nodes judge health from heartbeats, and their
 * views can disagree for a while (each thinking some other voter healthy, that voter thinking itself degraded),
 * which on a saturated machine kept a cluster leaderless past the torture harness's 90 s heal timeout.
 */
export const LEADERLESS_ACCEPT_ANY_ELECTION_TIMEOUTS = 4;

export interface HealthView {
  isHealthy(name: string): boolean;
}

export interface HealthAwarePolicyInput {
  readonly self: string;
  readonly health: HealthView;
  /** The voters of the group's current configuration, as this node knows it. */
  readonly voters: () => readonly string[];
  readonly electionTicks: number;
  readonly tickMs: number;
  /** How long this node has known no leader, in ms (0 while it knows one). */
  readonly leaderlessForMs: () => number;
}

/**
 * The node's campaign policy: a degraded node waits two more election timeouts before it campaigns, and a node
 * refuses its pre-vote to an unhealthy candidate while another voter is healthy — until it has had no leader for
 * LEADERLESS_ACCEPT_ANY_ELECTION_TIMEOUTS election timeouts.
 */
export function healthAwareCampaignPolicy(input: HealthAwarePolicyInput): CampaignPolicy {
  const degraded = !input.health.isHealthy(input.self);
  const acceptAnyAfterMs = LEADERLESS_ACCEPT_ANY_ELECTION_TIMEOUTS * input.electionTicks * input.tickMs;
  return {
    deferTicks: degraded ? 2 * input.electionTicks : 0,
    acceptCandidate: (candidate) => {
      if (input.health.isHealthy(candidate)) return true;
      if (input.leaderlessForMs() >= acceptAnyAfterMs) return true;
      return !input.voters().some((v) => v !== candidate && input.health.isHealthy(v));
    },
  };
}
