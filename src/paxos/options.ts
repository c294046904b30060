import { ConsensusError } from '../consensus/errors.js';
import { type RaftOptions, type ResolvedRaftOptions, resolveRaftOptions } from '../raft/options.js';

/**
 * Multi-Paxos takes Raft's options, with the same meanings and defaults (src/raft/options.ts): ticks, pre-vote
 * (here: pre-prepare), check-quorum (here: leader stickiness, which leases need), flow control and limits.
 */
export interface PaxosOptions extends RaftOptions {
  /** Most bytes of accepted values an acceptor reports in one promise to a candidate behind it. Default 64 MiB. */
  readonly maxPromiseBytes?: number;
}

export interface ResolvedPaxosOptions extends ResolvedRaftOptions {
  readonly maxPromiseBytes: number;
}

export function resolvePaxosOptions(o: PaxosOptions): ResolvedPaxosOptions {
  const maxPromiseBytes = o.maxPromiseBytes ?? 64 * 1024 * 1024;
  if (!Number.isSafeInteger(maxPromiseBytes) || maxPromiseBytes <= 0) {
    throw new ConsensusError('INVALID_ARGUMENT', `maxPromiseBytes must be a positive integer, got ${maxPromiseBytes}`);
  }
  return { ...resolveRaftOptions(o), maxPromiseBytes };
}
