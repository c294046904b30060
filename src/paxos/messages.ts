import { isCount, isEntry, isSnapshot } from '../consensus/message-validation.js';
import type { Entry, GroupId, MessageEnvelope, NodeId, Snapshot } from '../consensus/types.js';

/**
 * Multi-Paxos messages. Every field is always present (zero when unused), like Raft's, so handlers never guess and
 * a transport's record structures stay stable. `ballot` is the ballot the message belongs to (see ballot.ts).
 *
 * Answers (promise, accepted, heartbeatResp) carry the acceptor's promised ballot in `ballot`: a ballot above the
 * asker's tells it that it has been superseded (it steps down), exactly like a term in Raft's answers.
 *
 * - prePrepare / prePromise: "would you promise this ballot?" asked before phase 1, changing no state anywhere
 *   (Raft's pre-vote). A node that cannot win (cut off, or behind the others' compacted logs) thus never raises
 *   its ballot, and never deposes a working leader with it. A refusal's `hint` is the acceptor's promised ballot.
 * - prepare (phase 1a): `index` = the candidate's commit index; it asks about every instance after it.
 * - promise (phase 1b): `entries` = every value this acceptor accepted after `index`, each with the ballot it was
 *   accepted in as its term; `commit` = the acceptor's commit index. `reject` with the candidate's own ballot means
 *   the acceptor compacted instances the candidate lacks (the candidate is too far behind to lead).
 * - accept (phase 2a): the values of the instances after `index`; `commit` piggybacks the chosen prefix.
 * - accepted (phase 2b): `index` = the highest instance up to which this acceptor holds the leader's values. With
 *   `reject`, `index` echoes the refused accept's `index` and `hint` is where the acceptor's verified prefix ends.
 * - heartbeat / heartbeatResp: leadership and read rounds (`context`), commit index; the answer's `index` is the
 *   acceptor's verified prefix.
 * - snap: a snapshot for an acceptor behind the compacted log. timeoutNow: campaign at once (leadership transfer).
 * - readIndex / readIndexResp, prop, transferLeader: a follower's read request, forwarded proposal and transfer
 *   request, and the leader's answer to a read.
 */
export type PaxosMessageType =
  | 'prePrepare'
  | 'prePromise'
  | 'prepare'
  | 'promise'
  | 'accept'
  | 'accepted'
  | 'heartbeat'
  | 'heartbeatResp'
  | 'snap'
  | 'timeoutNow'
  | 'readIndex'
  | 'readIndexResp'
  | 'prop'
  | 'transferLeader';

/**
 * Every Multi-Paxos message type, in a fixed order: a type's position is its code on the peer wire
 * (src/node/consensus-wire.ts), so a new type is only ever appended.
 */
export const PAXOS_MESSAGE_TYPE_LIST: readonly PaxosMessageType[] = [
  'prePrepare',
  'prePromise',
  'prepare',
  'promise',
  'accept',
  'accepted',
  'heartbeat',
  'heartbeatResp',
  'snap',
  'timeoutNow',
  'readIndex',
  'readIndexResp',
  'prop',
  'transferLeader',
];

export const PAXOS_MESSAGE_TYPES: ReadonlySet<string> = new Set<PaxosMessageType>(PAXOS_MESSAGE_TYPE_LIST);

export interface PaxosMessage extends MessageEnvelope {
  readonly type: PaxosMessageType;
  readonly ballot: number;
  readonly index: number;
  readonly commit: number;
  readonly entries: readonly Entry[];
  readonly reject: boolean;
  readonly hint: number;
  readonly snapshot: Snapshot | null;
  readonly context: number;
  /** prepare: a leadership transfer, which bypasses the acceptors' leader stickiness. */
  readonly force: boolean;
  /** readIndex: a lease read is acceptable. */
  readonly lease: boolean;
}

const NO_ENTRIES: readonly Entry[] = Object.freeze([]);

export type PaxosMessageFields = Partial<Omit<PaxosMessage, 'group' | 'from' | 'to' | 'type'>>;

export function paxosMessage(
  group: GroupId,
  from: NodeId,
  to: NodeId,
  type: PaxosMessageType,
  fields: PaxosMessageFields,
): PaxosMessage {
  return {
    group,
    from,
    to,
    type,
    ballot: fields.ballot ?? 0,
    index: fields.index ?? 0,
    commit: fields.commit ?? 0,
    entries: fields.entries ?? NO_ENTRIES,
    reject: fields.reject ?? false,
    hint: fields.hint ?? 0,
    snapshot: fields.snapshot ?? null,
    context: fields.context ?? 0,
    force: fields.force ?? false,
    lease: fields.lease ?? false,
  };
}

/** Why a message from the network cannot be handled, or null when it is well formed. Never throws. */
export function malformedReason(m: unknown): string | null {
  if (typeof m !== 'object' || m === null) return 'not an object';
  const x = m as PaxosMessage;
  if (!PAXOS_MESSAGE_TYPES.has(x.type)) return `unknown type ${String(x.type)}`;
  if (!isCount(x.group)) return 'bad group';
  if (typeof x.from !== 'string' || typeof x.to !== 'string') return 'bad from/to';
  if (!isCount(x.ballot) || !isCount(x.index) || !isCount(x.commit) || !isCount(x.hint)) return 'bad counters';
  if (typeof x.reject !== 'boolean' || typeof x.force !== 'boolean' || typeof x.lease !== 'boolean') {
    return 'bad flags';
  }
  if (typeof x.context !== 'number' || !Number.isSafeInteger(x.context)) return 'bad context';
  if (!Array.isArray(x.entries)) return 'bad entries';
  for (let i = 0; i < x.entries.length; i++) {
    const e = x.entries[i];
    if (!isEntry(e, x.type !== 'prop')) return `bad entry ${i}`;
    if ((x.type === 'accept' || x.type === 'promise') && e.index !== x.index + i + 1) {
      return 'entries not contiguous';
    }
  }
  if (x.snapshot !== null && !isSnapshot(x.snapshot)) return 'bad snapshot';
  if (x.type === 'snap' && x.snapshot === null) return 'snap without snapshot';
  return null;
}
