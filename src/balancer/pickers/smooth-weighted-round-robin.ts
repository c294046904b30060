import { invalidArgument } from '../errors.js';
import type { HostRecord } from '../host-tracker.js';
import type { BalanceRequest } from '../types.js';
import { ratio } from '../validate.js';
import type { Picker, PickerContext } from './picker.js';

export interface SmoothWeightedRoundRobinOptions {
  /** Each failure cuts the host's effective weight by this fraction of its configured weight. Default: 0.5. */
  failureCutRatio?: number;
  /** Each success gives back this fraction of its configured weight, up to the full weight. Default: 0.1. */
  successRecoveryRatio?: number;
  /**
   * The effective weight never drops below this fraction of the configured weight: the host keeps a trickle of
   * traffic, which is how it shows it recovered (removing a host is the outlier detector's job). Default: 0.1.
   */
  minWeightRatio?: number;
}

export const WRR_DEFAULTS = { failureCutRatio: 0.5, successRecoveryRatio: 0.1, minWeightRatio: 0.1 } as const;

interface PeerState {
  record: HostRecord;
  /** The configured weight this state was built for; a change resets the effective weight. */
  weight: number;
  effectiveWeight: number;
  current: number;
}

/**
 * Smooth weighted round-robin (nginx): every pick adds each candidate's effective weight to its current score,
 * takes the highest score (the first one on a tie) and subtracts the total from the winner. Over any Σweights
 * consecutive picks each host is chosen exactly `weight` times, and picks of a heavy host are spread out
 * (5/1/1 → a a b a c a a) rather than bunched. Unlike nginx, whose effective weight climbs back by one on
 * every pick, ours is cut on each failure and climbs back on each success, so a failing host earns its share
 * back by answering.
 */
export class SmoothWeightedRoundRobinPicker implements Picker {
  readonly strategy = 'wrr' as const;
  private readonly peers = new Map<string, PeerState>();
  private readonly failureCut: number;
  private readonly successRecovery: number;
  private readonly minWeight: number;

  constructor(
    private readonly context: Pick<PickerContext, 'tracker'>,
    options: SmoothWeightedRoundRobinOptions = {},
  ) {
    this.failureCut = ratio('wrr.failureCutRatio', options.failureCutRatio, WRR_DEFAULTS.failureCutRatio);
    this.successRecovery = ratio(
      'wrr.successRecoveryRatio',
      options.successRecoveryRatio,
      WRR_DEFAULTS.successRecoveryRatio,
    );
    this.minWeight = ratio('wrr.minWeightRatio', options.minWeightRatio, WRR_DEFAULTS.minWeightRatio);
    if (this.minWeight === 0) throw invalidArgument('wrr.minWeightRatio must be > 0');
  }

  pick(_request: BalanceRequest, candidates: readonly HostRecord[], excluded?: ReadonlySet<string>): HostRecord | null {
    let total = 0;
    let best: PeerState | null = null;
    for (const record of candidates) {
      if (excluded?.has(record.id)) continue;
      const peer = this.peer(record);
      peer.current += peer.effectiveWeight;
      total += peer.effectiveWeight;
      if (best === null || peer.current > best.current) best = peer;
    }
    if (best === null) return null;
    best.current -= total;
    this.prune();
    return best.record;
  }

  onResult(record: HostRecord, ok: boolean): void {
    const peer = this.peers.get(record.id);
    if (!peer || peer.record !== record) return;
    const weight = peer.weight;
    peer.effectiveWeight = ok
      ? Math.min(weight, peer.effectiveWeight + weight * this.successRecovery)
      : Math.max(weight * this.minWeight, peer.effectiveWeight - weight * this.failureCut);
  }

  /** The effective weight of a host (for tests and the stats page); its configured weight if never picked. */
  effectiveWeight(record: HostRecord): number {
    return this.peers.get(record.id)?.effectiveWeight ?? record.host.weight;
  }

  private peer(record: HostRecord): PeerState {
    let peer = this.peers.get(record.id);
    if (!peer || peer.record !== record || peer.weight !== record.host.weight) {
      peer = { record, weight: record.host.weight, effectiveWeight: record.host.weight, current: peer?.current ?? 0 };
      this.peers.set(record.id, peer);
    }
    return peer;
  }

  /** Forgets hosts that left the membership, once they could make the map grow past a small bound. */
  private prune(): void {
    if (this.peers.size <= 2 * this.context.tracker.size + 16) return;
    for (const [id, peer] of this.peers) if (peer.record.removed) this.peers.delete(id);
  }
}
