import type { Entry, EntryType, NodeId, Snapshot } from '../consensus/types.js';
import { PAXOS_MESSAGE_TYPE_LIST, type PaxosMessage } from '../paxos/messages.js';
import { RAFT_MESSAGE_TYPE_LIST, type RaftMessage } from '../raft/messages.js';

/**
 * Consensus messages on the peer wire, by position instead of by name.
 *
 * A Raft message as a msgpack map spent more bytes on its 15 field names than on an append's values, and decoding
 * it was the biggest single item of a follower's CPU at one write in flight (msgpackr: 10 % of its samples, 6 % in
 * the frame decoder, most of it reading map keys and the from/to/type strings; 5 % and 1.4 % now). Here a message
 * is an array:
 *
 *   Raft:  [type, group, term, logTerm, index, commit, entries, reject, rejectHint, snapshot, context, transfer, lease]
 *   Paxos: [type, group, ballot, index, commit, entries, reject, hint, snapshot, context, force, lease]
 *
 * - `type` is the message type's number in the tables below: codes are only ever appended, never reused.
 * - `entries` is one flat array, four elements per entry: term, index, type (0 normal, 1 confChange), data.
 * - `from` and `to` are not sent: the transport authenticated the sender at the handshake, and the receiver is
 *   the node itself. (The old map form carried them, and the node dropped a message whose `from` was another.)
 * - The snapshot (only in `snap` messages, rare) stays a map.
 *
 * Elements after the listed ones are ignored, so a later version can append fields. Decoding never throws: a
 * malformed array yields null, and the engine's own validation (raft/messages.ts malformedReason, paxos's) checks
 * every value's type and range after that. The array form is the transport's protocol version 2.
 */

/** Raft's message types by wire code (the position): the order Raft lists them in. */
export const RAFT_WIRE_TYPES = RAFT_MESSAGE_TYPE_LIST;

/** Multi-Paxos's message types by wire code (the position): the order Multi-Paxos lists them in. */
export const PAXOS_WIRE_TYPES = PAXOS_MESSAGE_TYPE_LIST;

const RAFT_CODES = new Map(RAFT_WIRE_TYPES.map((type, code) => [type, code]));
const PAXOS_CODES = new Map(PAXOS_WIRE_TYPES.map((type, code) => [type, code]));

/** Elements in a Raft and a Paxos message array. */
export const RAFT_WIRE_LENGTH = 13;
export const PAXOS_WIRE_LENGTH = 12;

const ENTRY_FIELDS = 4;
const NO_ENTRIES: readonly unknown[] = Object.freeze([]);

/** An entry list as one flat array (term, index, type code, data per entry). */
export function encodeEntries(entries: readonly Entry[]): readonly unknown[] {
  if (entries.length === 0) return NO_ENTRIES;
  // Pushed, not `new Array(n)` filled in: a preallocated array is "holey" to V8, slower for everyone after.
  const flat: unknown[] = [];
  for (const e of entries) flat.push(e.term, e.index, e.type === 'confChange' ? 1 : 0, e.data);
  return flat;
}

/** The entries of a flat array, or null when its shape is wrong (term and index are checked by the engine). */
export function decodeEntries(raw: unknown): Entry[] | null {
  if (!Array.isArray(raw) || raw.length % ENTRY_FIELDS !== 0) return null;
  const entries: Entry[] = [];
  for (let at = 0; at < raw.length; at += ENTRY_FIELDS) {
    const code = raw[at + 2];
    const data = raw[at + 3];
    if ((code !== 0 && code !== 1) || !(data instanceof Uint8Array)) return null;
    const type: EntryType = code === 1 ? 'confChange' : 'normal';
    entries.push({ term: raw[at] as number, index: raw[at + 1] as number, type, data });
  }
  return entries;
}

export function encodeRaftMessage(m: RaftMessage): unknown[] {
  const code = RAFT_CODES.get(m.type);
  if (code === undefined) throw new TypeError(`no wire code for Raft message type ${m.type}`);
  return [
    code,
    m.group,
    m.term,
    m.logTerm,
    m.index,
    m.commit,
    encodeEntries(m.entries),
    m.reject,
    m.rejectHint,
    m.snapshot,
    m.context,
    m.transfer,
    m.lease,
  ];
}

/** The Raft message an array encodes, from the authenticated sender to this node; null when malformed. */
export function decodeRaftMessage(a: readonly unknown[], from: NodeId, to: NodeId): RaftMessage | null {
  if (a.length < RAFT_WIRE_LENGTH) return null;
  const type = typeOf(RAFT_WIRE_TYPES, a[0]);
  const entries = decodeEntries(a[6]);
  if (type === null || entries === null) return null;
  return {
    group: a[1] as number,
    from,
    to,
    type,
    term: a[2] as number,
    logTerm: a[3] as number,
    index: a[4] as number,
    commit: a[5] as number,
    entries,
    reject: a[7] as boolean,
    rejectHint: a[8] as number,
    snapshot: a[9] as Snapshot | null,
    context: a[10] as number,
    transfer: a[11] as boolean,
    lease: a[12] as boolean,
  };
}

export function encodePaxosMessage(m: PaxosMessage): unknown[] {
  const code = PAXOS_CODES.get(m.type);
  if (code === undefined) throw new TypeError(`no wire code for Paxos message type ${m.type}`);
  return [
    code,
    m.group,
    m.ballot,
    m.index,
    m.commit,
    encodeEntries(m.entries),
    m.reject,
    m.hint,
    m.snapshot,
    m.context,
    m.force,
    m.lease,
  ];
}

/** The Paxos message an array encodes, from the authenticated sender to this node; null when malformed. */
export function decodePaxosMessage(a: readonly unknown[], from: NodeId, to: NodeId): PaxosMessage | null {
  if (a.length < PAXOS_WIRE_LENGTH) return null;
  const type = typeOf(PAXOS_WIRE_TYPES, a[0]);
  const entries = decodeEntries(a[5]);
  if (type === null || entries === null) return null;
  return {
    group: a[1] as number,
    from,
    to,
    type,
    ballot: a[2] as number,
    index: a[3] as number,
    commit: a[4] as number,
    entries,
    reject: a[6] as boolean,
    hint: a[7] as number,
    snapshot: a[8] as Snapshot | null,
    context: a[9] as number,
    force: a[10] as boolean,
    lease: a[11] as boolean,
  };
}

function typeOf<T extends string>(types: readonly T[], code: unknown): T | null {
  // An integer check first: types['__proto__'] or types['length'] must not pass for a type.
  return Number.isInteger(code) && (code as number) >= 0 && (code as number) < types.length
    ? types[code as number]!
    : null;
}
