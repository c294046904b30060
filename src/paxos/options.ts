import { ConsensusError } from '../consensus/errors.js';
import type { LogStorage } from '../consensus/log-storage.js';
import type { GroupId, NodeId } from '../consensus/types.js';
import type { Random } from '../util/random.js';

/**
 * How a Multi-Paxos engine is set up. The shape is Raft's (RaftOptions) so that a driver can pass the same options
 * to either engine (plus `maxPromiseBytes`).
 */
export interface PaxosOptions {
  /** This node's id. */
  readonly id: NodeId;
  /** The group this engine serves; every message carries it. Default 0. */
  readonly group?: GroupId;
  /** The durable state the engine starts from and reads the stable log through. */
  readonly storage: LogStorage;
  /** Randomizes takeover timeouts. Injected so that a seed reproduces a run. */
  readonly random: Random;
  /** Ticks without hearing from a leader before running phase 1; randomized in [1x, 2x). Default 10 (1 s). */
  readonly electionTicks?: number;
  /** Ticks between leader heartbeats. Default 1 (100 ms). Must be < electionTicks. */
  readonly heartbeatTicks?: number;
  /**
   * Ask "would you promise?" before phase 1, so that a node that cannot win never raises its ballot (and never
   * deposes a working leader by it). Default true.
   */
  readonly preVote?: boolean;
  /**
   * A leader that hears from no quorum within an election timeout steps down, and an acceptor that heard from a
   * leader within an election timeout ignores prepares (leader stickiness). Default true. Lease reads need it.
   */
  readonly checkQuorum?: boolean;
  /**
   * How long (ticks) a quorum's acknowledgement of a heartbeat lets the leader serve reads without a round trip.
   * Must be < electionTicks. Default electionTicks - 2. 0 disables lease reads (they fall back to a read round).
   */
  readonly leaseTicks?: number;
  /** Most bytes of entries in one accept message. Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Most accept messages in flight to one acceptor. Default 256. */
  readonly maxInflightMessages?: number;
  /** Most bytes of entries in flight to one acceptor; 0 = unbounded. Default 0. */
  readonly maxInflightBytes?: number;
  /** Most bytes of proposed but unchosen entries before proposals are refused. Default 64 MiB. */
  readonly maxUncommittedBytes?: number;
  /** Most bytes of committed entries handed out in one Ready. Default 16 MiB. */
  readonly maxApplyBytes?: number;
  /**
   * Most bytes of entries an acceptor reports in one promise to a candidate that is behind it (its commit index is
   * below the acceptor's); past it the acceptor refuses, and a more up-to-date node must lead. Default 64 MiB.
   */
  readonly maxPromiseBytes?: number;
  /** Refuse proposals on followers instead of forwarding them to the leader. Default false. */
  readonly disableProposalForwarding?: boolean;
  /** The index the state machine has applied (on restart). Default: the storage's snapshot index. */
  readonly applied?: number;
}

export interface ResolvedPaxosOptions {
  readonly id: NodeId;
  readonly group: GroupId;
  readonly storage: LogStorage;
  readonly random: Random;
  readonly electionTicks: number;
  readonly heartbeatTicks: number;
  readonly preVote: boolean;
  readonly checkQuorum: boolean;
  readonly leaseTicks: number;
  readonly maxMessageBytes: number;
  readonly maxInflightMessages: number;
  readonly maxInflightBytes: number;
  readonly maxUncommittedBytes: number;
  readonly maxApplyBytes: number;
  readonly maxPromiseBytes: number;
  readonly disableProposalForwarding: boolean;
  readonly applied: number | undefined;
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new ConsensusError('INVALID_ARGUMENT', `${name} must be a positive integer, got ${value}`);
  }
  return value;
}

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new ConsensusError('INVALID_ARGUMENT', `${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}

export function resolvePaxosOptions(o: PaxosOptions): ResolvedPaxosOptions {
  if (typeof o.id !== 'string' || o.id.length === 0) {
    throw new ConsensusError('INVALID_ARGUMENT', 'id must be a non-empty string');
  }
  const electionTicks = positiveInteger('electionTicks', o.electionTicks ?? 10);
  const heartbeatTicks = positiveInteger('heartbeatTicks', o.heartbeatTicks ?? 1);
  if (heartbeatTicks >= electionTicks) {
    throw new ConsensusError('INVALID_ARGUMENT', 'heartbeatTicks must be smaller than electionTicks');
  }
  const checkQuorum = o.checkQuorum ?? true;
  const leaseTicks = nonNegativeInteger('leaseTicks', o.leaseTicks ?? Math.max(0, electionTicks - 2));
  if (leaseTicks >= electionTicks) {
    throw new ConsensusError('INVALID_ARGUMENT', 'leaseTicks must be smaller than electionTicks');
  }
  return {
    id: o.id,
    group: nonNegativeInteger('group', o.group ?? 0),
    storage: o.storage,
    random: o.random,
    electionTicks,
    heartbeatTicks,
    preVote: o.preVote ?? true,
    checkQuorum,
    // Without leader stickiness nothing stops acceptors from promising a new ballot inside the lease.
    leaseTicks: checkQuorum ? leaseTicks : 0,
    maxMessageBytes: positiveInteger('maxMessageBytes', o.maxMessageBytes ?? 1024 * 1024),
    maxInflightMessages: positiveInteger('maxInflightMessages', o.maxInflightMessages ?? 256),
    maxInflightBytes: nonNegativeInteger('maxInflightBytes', o.maxInflightBytes ?? 0),
    maxUncommittedBytes: positiveInteger('maxUncommittedBytes', o.maxUncommittedBytes ?? 64 * 1024 * 1024),
    maxApplyBytes: positiveInteger('maxApplyBytes', o.maxApplyBytes ?? 16 * 1024 * 1024),
    maxPromiseBytes: positiveInteger('maxPromiseBytes', o.maxPromiseBytes ?? 64 * 1024 * 1024),
    disableProposalForwarding: o.disableProposalForwarding ?? false,
    applied: o.applied === undefined ? undefined : nonNegativeInteger('applied', o.applied),
  };
}
