import { isCount, isEntry, isSnapshot } from '../consensus/message-validation.js';
import type { Entry, GroupId, MessageEnvelope, NodeId, Snapshot } from '../consensus/types.js';

/**
 * Raft's messages. Every field is always present (zero when unused), so handlers never guess, and the
 * transport's msgpackr record structures stay stable.
 *
 * - app / appResp: AppendEntries (index/logTerm = the entry before `entries`); the response's `index` is the last
 *   index now matching, or on reject the rejected prevIndex with `rejectHint`/`logTerm` for fast backtracking.
 * - vote / preVote (+Resp): `index`/`logTerm` = the candidate's last entry; `transfer` = leadership transfer.
 * - heartbeat / heartbeatResp: `commit` capped at the follower's match; `context` = the leader's read round.
 * - snap: a snapshot for a follower behind the compacted log.
 * - timeoutNow: the leader tells a transfer target to campaign at once.
 * - readIndex / readIndexResp: a follower's linearizable read request (`lease` = a lease read is acceptable),
 *   and the leader's answer (`index`).
 * - prop: a proposal forwarded by a follower. transferLeader: a transfer request forwarded by a follower.
 */
export type RaftMessageType =
  | 'app'
  | 'appResp'
  | 'vote'
  | 'voteResp'
  | 'preVote'
  | 'preVoteResp'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'snap'
  | 'timeoutNow'
  | 'readIndex'
  | 'readIndexResp'
  | 'prop'
  | 'transferLeader';

/**
 * Every Raft message type, in a fixed order: a type's position is its code on the peer wire
 * (src/node/consensus-wire.ts), so a new type is only ever appended.
 */
export const RAFT_MESSAGE_TYPE_LIST: readonly RaftMessageType[] = [
  'app',
  'appResp',
  'vote',
  'voteResp',
  'preVote',
  'preVoteResp',
  'heartbeat',
  'heartbeatResp',
  'snap',
  'timeoutNow',
  'readIndex',
  'readIndexResp',
  'prop',
  'transferLeader',
];

export const RAFT_MESSAGE_TYPES: ReadonlySet<string> = new Set<RaftMessageType>(RAFT_MESSAGE_TYPE_LIST);

export interface RaftMessage extends MessageEnvelope {
  readonly type: RaftMessageType;
  readonly term: number;
  readonly logTerm: number;
  readonly index: number;
  readonly commit: number;
  readonly entries: readonly Entry[];
  readonly reject: boolean;
  readonly rejectHint: number;
  readonly snapshot: Snapshot | null;
  readonly context: number;
  readonly transfer: boolean;
  readonly lease: boolean;
}

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

export type MessageFields = Partial<Omit<RaftMessage, 'group' | 'from' | 'to' | 'type'>>;

/** Builds a message; `term` (when given) overrides `fields.term`. */
export function raftMessage(
  group: GroupId,
  from: NodeId,
  to: NodeId,
  type: RaftMessageType,
  fields: MessageFields,
  term?: number,
): RaftMessage {
  return {
    group,
    from,
    to,
    type,
    term: term ?? fields.term ?? 0,
    logTerm: fields.logTerm ?? 0,
    index: fields.index ?? 0,
    commit: fields.commit ?? 0,
    entries: fields.entries ?? NO_ENTRIES,
    reject: fields.reject ?? false,
    rejectHint: fields.rejectHint ?? 0,
    snapshot: fields.snapshot ?? null,
    context: fields.context ?? 0,
    transfer: fields.transfer ?? false,
    lease: fields.lease ?? false,
  };
}

/**
 * Why a message from the network cannot be handled, or null when it is well formed. A malformed peer message is
 * dropped (and counted by the driver); it must never throw inside the engine.
 */
export function malformedReason(m: unknown): string | null {
  if (typeof m !== 'object' || m === null) return 'not an object';
  const x = m as RaftMessage;
  if (!RAFT_MESSAGE_TYPES.has(x.type)) return `unknown type ${String(x.type)}`;
  if (!isCount(x.group)) return 'bad group';
  if (typeof x.from !== 'string' || typeof x.to !== 'string') return 'bad from/to';
  if (!isCount(x.term) || !isCount(x.logTerm) || !isCount(x.index) || !isCount(x.commit)) return 'bad counters';
  if (!isCount(x.rejectHint) || typeof x.reject !== 'boolean') return 'bad reject';
  if (typeof x.transfer !== 'boolean' || typeof x.lease !== 'boolean') return 'bad flags';
  if (typeof x.context !== 'number' || !Number.isSafeInteger(x.context)) return 'bad context';
  if (!Array.isArray(x.entries)) return 'bad entries';
  for (let i = 0; i < x.entries.length; i++) {
    const e = x.entries[i];
    if (!isEntry(e, x.type !== 'prop')) return `bad entry ${i}`;
    if (x.type === 'app' && e.index !== x.index + i + 1) return 'entries not contiguous';
  }
  if (x.snapshot !== null && !isSnapshot(x.snapshot)) return 'bad snapshot';
  if (x.type === 'snap' && x.snapshot === null) return 'snap without snapshot';
  return null;
}
