import { ConsensusError } from '../consensus/errors.js';
import type { LogStorage } from '../consensus/log-storage.js';
import type { GroupId, NodeId } from '../consensus/types.js';
import type { Random } from '../util/random.js';

/** How a Raft engine is set up. Time is counted in ticks; the driver decides how long a tick is (default 100 ms). */
export interface RaftOptions {
  /** This node's id. */
  readonly id: NodeId;
  /** The group this engine serves; every message carries it. Default 0. */
  readonly group?: GroupId;
  /** The durable state the engine starts from and reads the stable log through. */
  readonly storage: LogStorage;
  /** Randomizes election timeouts. Injected so that a seed reproduces a run. */
  readonly random: Random;
  /** Ticks without hearing from a leader before campaigning; randomized in [1x, 2x). Default 10 (1 s). */
  readonly electionTicks?: number;
  /** Ticks between leader heartbeats. Default 1 (100 ms). Must be < electionTicks. */
  readonly heartbeatTicks?: number;
  /** Ask for pre-votes before a real election, so a partitioned node cannot disrupt by inflating terms. Default true. */
  readonly preVote?: boolean;
  /**
   * A leader that hears from no quorum within an election timeout steps down; followers ignore votes while they
   * hear from a leader. Default true. Lease reads need it.
   */
  readonly checkQuorum?: boolean;
  /**
   * How long (ticks) a quorum's acknowledgement of a heartbeat lets the leader serve reads without a round trip.
   * Must be < electionTicks (followers refuse votes for electionTicks after hearing from the leader); the margin
   * absorbs clock drift. Default electionTicks - 2. 0 disables lease reads (they fall back to ReadIndex).
   */
  readonly leaseTicks?: number;
  /** Most bytes of entries in one append message. Default 1 MiB. */
  readonly maxMessageBytes?: number;
  /** Most append messages in flight to one follower. Default 256. */
  readonly maxInflightMessages?: number;
  /** Most bytes of entries in flight to one follower; 0 = unbounded. Default 0. */
  readonly maxInflightBytes?: number;
  /** Most bytes of proposed but uncommitted entries before proposals are refused. Default 64 MiB. */
  readonly maxUncommittedBytes?: number;
  /** Most bytes of committed entries handed out in one Ready. Default 16 MiB. */
  readonly maxApplyBytes?: number;
  /** Refuse proposals on followers instead of forwarding them to the leader. Default false. */
  readonly disableProposalForwarding?: boolean;
  /** The index the state machine has applied (on restart). Default: the storage's snapshot index. */
  readonly applied?: number;
}

export interface ResolvedRaftOptions {
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

export function resolveRaftOptions(o: RaftOptions): ResolvedRaftOptions {
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
    // Without check-quorum nothing stops followers from electing a new leader inside the lease.
    leaseTicks: checkQuorum ? leaseTicks : 0,
    maxMessageBytes: positiveInteger('maxMessageBytes', o.maxMessageBytes ?? 1024 * 1024),
    maxInflightMessages: positiveInteger('maxInflightMessages', o.maxInflightMessages ?? 256),
    maxInflightBytes: nonNegativeInteger('maxInflightBytes', o.maxInflightBytes ?? 0),
    maxUncommittedBytes: positiveInteger('maxUncommittedBytes', o.maxUncommittedBytes ?? 64 * 1024 * 1024),
    maxApplyBytes: positiveInteger('maxApplyBytes', o.maxApplyBytes ?? 16 * 1024 * 1024),
    disableProposalForwarding: o.disableProposalForwarding ?? false,
    applied: o.applied === undefined ? undefined : nonNegativeInteger('applied', o.applied),
  };
}
