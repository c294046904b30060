import type { MemoryLogStorage } from '../consensus/memory-log-storage.js';
import type { ConsensusEngine, Entry, HardState, MessageEnvelope, NodeId } from '../consensus/types.js';
import { bootstrapLog } from '../raft/bootstrap.js';
import type { RaftOptions } from '../raft/options.js';
import { Raft } from '../raft/raft.js';
import { RaftEngine } from '../raft/raft-engine.js';
import type { Random } from '../util/random.js';

/** How the simulator makes engines: the same runs drive Raft or any other engine behind the shared interface. */
export interface EngineFactory<M extends MessageEnvelope = MessageEnvelope> {
  readonly name: string;
  /** The log every founding member starts with. */
  bootstrap(voters: readonly NodeId[]): { entries: Entry[]; hardState: HardState };
  /** An engine over `storage` (the node's disk), resuming with the state machine at `applied`. */
  create(
    id: NodeId,
    storage: MemoryLogStorage,
    random: Random,
    applied: number,
    tuning: EngineTuning,
  ): ConsensusEngine<M>;
}

/** Per-seed engine limits, varied so that batching, pipelining and flow control get exercised at their edges. */
export interface EngineTuning {
  readonly maxMessageBytes: number;
  readonly maxInflightMessages: number;
  /** Shorter election timeouts mean more elections per run (more leader churn to explore). */
  readonly electionTicks: number;
}

/** Raft as the simulator runs it: small messages and windows, so flow control and pipelining get exercised. */
export const SIM_RAFT_OPTIONS: Partial<RaftOptions> = {
  heartbeatTicks: 1,
  maxUncommittedBytes: 64 * 1024,
};

export type RaftConstructor = new (options: RaftOptions) => Raft;

export function raftFactory(
  options: Partial<RaftOptions> = {},
  RaftClass: RaftConstructor = Raft,
  name = 'raft',
): EngineFactory {
  return {
    name,
    bootstrap: bootstrapLog,
    create: (id, storage, random, applied, tuning) =>
      new RaftEngine(new RaftClass({ ...SIM_RAFT_OPTIONS, ...tuning, ...options, id, storage, random, applied })),
  };
}

export function engineFactoryByName(name: string): EngineFactory {
  switch (name) {
    case 'raft':
      return raftFactory();
    default:
      throw new Error(`unknown engine "${name}" (known: raft)`);
  }
}
