import { PaxosEngine } from '../paxos/paxos-engine.js';
import type { RaftOptions } from '../raft/options.js';
import { RaftEngine } from '../raft/raft-engine.js';
import { ConsensusError } from './errors.js';
import type { ConsensusEngine, MessageEnvelope } from './types.js';

/** The consensus engines Cairn ships (`cairn start --consensus raft|paxos`). */
export type EngineKind = 'raft' | 'paxos';

export const ENGINE_KINDS: readonly EngineKind[] = ['raft', 'paxos'];

/**
 * Options for either engine: Raft's options (see src/raft/options.ts), which Multi-Paxos takes too, plus the one
 * only Multi-Paxos reads. Each engine ignores what it does not use.
 */
export type EngineOptions = RaftOptions & {
  /** Multi-Paxos only: most bytes an acceptor reports in one promise to a candidate behind it. Default 64 MiB. */
  readonly maxPromiseBytes?: number;
};

/**
 * Makes a consensus engine of the given kind over the given storage. Both engines implement the same
 * ConsensusEngine/Ready contract, read the same LogStorage and write the same entries, hard state and snapshots,
 * so the node's driver and storage run either one unchanged. A node must keep the kind it started with: the two
 * protocols' messages and durable state are not interchangeable within one group.
 */
export function createEngine(kind: EngineKind, options: EngineOptions): ConsensusEngine<MessageEnvelope> {
  switch (kind) {
    case 'raft':
      return new RaftEngine(options);
    case 'paxos':
      return new PaxosEngine(options);
    default:
      throw new ConsensusError(
        'INVALID_ARGUMENT',
        `unknown consensus engine ${JSON.stringify(kind)} (known: raft, paxos)`,
      );
  }
}
