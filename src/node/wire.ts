import type { MessageEnvelope, NodeId, Snapshot } from '../consensus/types.js';
import type { PaxosMessage } from '../paxos/messages.js';
import type { RaftMessage } from '../raft/messages.js';
import { decodePaxosMessage, decodeRaftMessage, encodePaxosMessage, encodeRaftMessage } from './consensus-wire.js';

/** A consensus engine's message (Raft's or Multi-Paxos's), as the node moves it around. */
export type ConsensusMessage = MessageEnvelope & { readonly snapshot?: Snapshot | null };

/**
 * What nodes send each other over the peer transport. Consensus messages of every group share the connection
 * with member announcements, health heartbeats and snapshot streams.
 */
export type WireMessage =
  | { readonly t: 'consensus'; readonly m: ConsensusMessage }
  /**
   * A member announcing how to reach its API, its labels, and how far its log is (sent on connect and every few
   * seconds; the progress figures feed /v1/cluster/status).
   */
  | {
      readonly t: 'hello';
      readonly name: string;
      readonly http: string;
      readonly labels: Record<string, string>;
      /** The sender's engine: a mismatch is a configuration error, reported clearly. */
      readonly consensus?: string;
      readonly commit?: number;
      readonly applied?: number;
    }
  /** A health heartbeat (vital signs and condition), every second; parsed by src/cluster/health. */
  | { readonly t: 'health'; readonly hb: unknown }
  /** Snapshot stream: begin (with the Raft snapshot metadata), chunks in order, end. */
  | { readonly t: 'snapBegin'; readonly group: number; readonly id: string; readonly index: number }
  | {
      readonly t: 'snapChunk';
      readonly group: number;
      readonly id: string;
      readonly seq: number;
      readonly data: Uint8Array;
    }
  | { readonly t: 'snapEnd'; readonly group: number; readonly id: string; readonly chunks: number };

export type ConsensusEngineName = 'raft' | 'paxos';

/**
 * What the transport sends for a wire message: a consensus message as an array (consensus-wire.ts, the hot path),
 * every other kind as the map above.
 */
export function encodeWireMessage(message: WireMessage, engine: ConsensusEngineName): unknown {
  if (message.t !== 'consensus') return message;
  return engine === 'paxos'
    ? encodePaxosMessage(message.m as PaxosMessage)
    : encodeRaftMessage(message.m as RaftMessage);
}

/**
 * The wire message the transport delivered from `from` (authenticated by its handshake) to `self`, or why it is
 * malformed. Checks the outer shape only: the engine validates its own messages in depth.
 */
export function decodeWireMessage(
  raw: unknown,
  engine: ConsensusEngineName,
  from: NodeId,
  self: NodeId,
): WireMessage | string {
  if (Array.isArray(raw)) {
    const m = engine === 'paxos' ? decodePaxosMessage(raw, from, self) : decodeRaftMessage(raw, from, self);
    return m === null ? 'malformed consensus message' : { t: 'consensus', m };
  }
  const problem = wireMessageProblem(raw);
  return problem === null ? (raw as WireMessage) : problem;
}

/** Checks the outer shape of a received wire message that is not a consensus message. */
function wireMessageProblem(raw: unknown): string | null {
  if (typeof raw !== 'object' || raw === null) return 'not an object';
  const m = raw as { t?: unknown; [k: string]: unknown };
  switch (m.t) {
    case 'hello':
      return typeof m.name === 'string' &&
        typeof m.http === 'string' &&
        typeof m.labels === 'object' &&
        m.labels !== null
        ? null
        : 'bad hello';
    case 'health':
      return typeof m.hb === 'object' && m.hb !== null ? null : 'bad health heartbeat';
    case 'snapBegin':
      return Number.isSafeInteger(m.group) && typeof m.id === 'string' && Number.isSafeInteger(m.index)
        ? null
        : 'bad snapBegin';
    case 'snapChunk':
      return Number.isSafeInteger(m.group) &&
        typeof m.id === 'string' &&
        Number.isSafeInteger(m.seq) &&
        m.data instanceof Uint8Array
        ? null
        : 'bad snapChunk';
    case 'snapEnd':
      return Number.isSafeInteger(m.group) && typeof m.id === 'string' && Number.isSafeInteger(m.chunks)
        ? null
        : 'bad snapEnd';
    default:
      return `unknown kind ${String(m.t)}`;
  }
}
