import type { MemoryLogStorage } from '../consensus/memory-log-storage.js';
import type { ConsensusEngine, Entry, HardState, MessageEnvelope, NodeId } from '../consensus/types.js';
import type { PaxosOptions } from '../paxos/options.js';
import { Paxos } from '../paxos/paxos.js';
import { PaxosEngine } from '../paxos/paxos-engine.js';
import { bootstrapLog } from '../raft/bootstrap.js';
import type { RaftOptions } from '../raft/options.js';
import { Raft } from '../raft/raft.js';
import { RaftEngine } from '../raft/raft-engine.js';
import type { Random } from '../util/random.js';

/**
 * What the invariants may assume about an engine's logs. Raft's entries are identified by (term, value) and its
 * logs match as prefixes; Multi-Paxos re-proposes accepted values under newer ballots, so only the value identifies
 * a chosen entry, and two logs agree entry by entry (same index and ballot, same value) but not as prefixes.
 */
export interface EngineSemantics {
  /** `termAndValue`: applied entries must agree on term and value (Raft). `value`: on the value only. */
  readonly entryIdentity: 'termAndValue' | 'value';
  /** `prefix`: Raft's log matching property. `entry`: same index and term in two logs imply the same value. */
  readonly logMatching: 'prefix' | 'entry';
  /** The replication message whose failed delivery the transport reports with `reportUnreachable`. */
  readonly appendMessageType: string;
  /** With `value` identity: the entry a new leader holds at `index` (leader completeness compares values). */
  readonly entryAt?: (engine: ConsensusEngine, index: number) => Entry | undefined;
}

export const RAFT_SEMANTICS: EngineSemantics = {
  entryIdentity: 'termAndValue',
  logMatching: 'prefix',
  appendMessageType: 'app',
};

export const PAXOS_SEMANTICS: EngineSemantics = {
  entryIdentity: 'value',
  logMatching: 'entry',
  appendMessageType: 'accept',
  entryAt: (engine, index) => (engine as unknown as PaxosEngine).entryAt(index),
};

/** How the simulator makes engines: the same runs drive Raft or any other engine behind the shared interface. */
export interface EngineFactory<M extends MessageEnvelope = MessageEnvelope> {
  readonly name: string;
  /** Raft's when absent. */
  readonly semantics?: EngineSemantics;
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

/** Multi-Paxos as the simulator runs it: the same limits as Raft's. */
export const SIM_PAXOS_OPTIONS: Partial<PaxosOptions> = {
  heartbeatTicks: 1,
  maxUncommittedBytes: 64 * 1024,
};

export type PaxosConstructor = new (options: PaxosOptions) => Paxos;

export function paxosFactory(
  options: Partial<PaxosOptions> = {},
  PaxosClass: PaxosConstructor = Paxos,
  name = 'paxos',
): EngineFactory {
  return {
    name,
    semantics: PAXOS_SEMANTICS,
    // The founding configuration is in the log, as with Raft; ballot 1 (round 0) belongs to nobody.
    bootstrap: bootstrapLog,
    create: (id, storage, random, applied, tuning) =>
      new PaxosEngine(new PaxosClass({ ...SIM_PAXOS_OPTIONS, ...tuning, ...options, id, storage, random, applied })),
  };
}

export function engineFactoryByName(name: string): EngineFactory {
  switch (name) {
    case 'raft':
      return raftFactory();
    case 'paxos':
      return paxosFactory();
    default:
      throw new Error(`unknown engine "${name}" (known: raft, paxos)`);
  }
}
