/**
 * A write's log entry carries a proposal id next to the command, so the leader that proposed it can tell whether
 * the entry applied at its index is *its* proposal.
 *
 * Why the entry's term is not enough: under Multi-Paxos a new leader re-proposes values it finds accepted, with
 * its own ballot, so a write can be applied under another term than the one it was proposed in (the torture
 * harness caught writes answered "did not take effect" that had). Raft never changes an entry's term, but one
 * rule for both engines is simpler, and the id also tells two byte-identical commands apart.
 *
 * Two layouts:
 *  - one command: 0xC1 (a byte msgpack never uses, so entries written before the envelope existed still decode as
 *    bare commands), a 6-byte big-endian id, the msgpack command;
 *  - a batch (the writes one event-loop turn proposed together, see docs/performance.md): 0xC0 (msgpack's nil,
 *    never the first byte of a command, which is always a map), the 6-byte id of the first command (the others
 *    have the following ids), a 2-byte count (at least 2), then each command as a 4-byte length and its bytes.
 *    Every command of a batch is applied on its own, with its own revision and result, as if each had its own
 *    entry; the batch only shares the log entry, its replication and its bookkeeping.
 */
const MARKER = 0xc1;
const BATCH_MARKER = 0xc0;
const ID_BYTES = 6;
const HEADER_BYTES = 1 + ID_BYTES;
const BATCH_HEADER_BYTES = HEADER_BYTES + 2;
const LENGTH_BYTES = 4;
const ID_SPACE = 2 ** (8 * ID_BYTES);
/** The most commands one batch entry may hold (its count is 16 bits). */
export const MAX_BATCH_COMMANDS = 0xffff;

/** Hands out proposal ids: a random start per process, then consecutive (wrapping in 48 bits). */
export class ProposalIds {
  private next: number;

  constructor(random: () => number) {
    this.next = Math.floor(random() * ID_SPACE);
  }

  take(): number {
    const id = this.next;
    this.next = (this.next + 1) % ID_SPACE;
    return id;
  }

  /** `count` consecutive ids; returns the first. */
  takeMany(count: number): number {
    const first = this.next;
    this.next = (this.next + count) % ID_SPACE;
    return first;
  }
}

export function wrapProposal(id: number, command: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(HEADER_BYTES + command.length);
  out[0] = MARKER;
  out.writeUIntBE(id, 1, ID_BYTES);
  out.set(command, HEADER_BYTES);
  return out;
}

/** A batch of commands (2..MAX_BATCH_COMMANDS) with consecutive ids from `firstId`, in one entry. */
export function wrapBatch(firstId: number, commands: readonly Uint8Array[]): Uint8Array {
  if (commands.length < 2 || commands.length > MAX_BATCH_COMMANDS) {
    throw new RangeError(`a batch holds 2..${MAX_BATCH_COMMANDS} commands, not ${commands.length}`);
  }
  let size = BATCH_HEADER_BYTES;
  for (const c of commands) size += LENGTH_BYTES + c.length;
  const out = Buffer.allocUnsafe(size);
  out[0] = BATCH_MARKER;
  out.writeUIntBE(firstId, 1, ID_BYTES);
  out.writeUInt16BE(commands.length, HEADER_BYTES);
  let pos = BATCH_HEADER_BYTES;
  for (const c of commands) {
    out.writeUInt32BE(c.length, pos);
    out.set(c, pos + LENGTH_BYTES);
    pos += LENGTH_BYTES + c.length;
  }
  return out;
}

/** An entry's proposal: one command (`command`) or a batch (`commands`), and the (first) proposal id. */
export interface UnwrappedProposal {
  /** The (first) proposal id; null for a bare command, an empty entry or an entry that is not a valid batch. */
  readonly id: number | null;
  /** The command's bytes; null for a batch. */
  readonly command: Uint8Array | null;
  /** A batch's commands, in order; null for a single command. */
  readonly commands: readonly Uint8Array[] | null;
}

/**
 * Splits an entry's data. Deterministic on every replica: a batch that does not parse exactly (which only a bug
 * could write: entries are checksummed in the log) comes back as one command with no id — its bytes, which then
 * fail to decode as a command, so applying it changes nothing but the applied index, and no waiting write takes
 * it for its own.
 */
export function unwrapProposal(data: Uint8Array): UnwrappedProposal {
  if (data.length >= HEADER_BYTES && data[0] === MARKER) {
    const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    return { id: view.readUIntBE(1, ID_BYTES), command: data.subarray(HEADER_BYTES), commands: null };
  }
  if (data.length >= BATCH_HEADER_BYTES && data[0] === BATCH_MARKER) {
    const commands = unwrapBatch(data);
    if (commands !== null) {
      const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
      return { id: view.readUIntBE(1, ID_BYTES), command: null, commands };
    }
  }
  return { id: null, command: data, commands: null };
}

function unwrapBatch(data: Uint8Array): Uint8Array[] | null {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const count = view.getUint16(HEADER_BYTES);
  if (count < 2) return null;
  const commands: Uint8Array[] = [];
  let pos = BATCH_HEADER_BYTES;
  for (let i = 0; i < count; i++) {
    if (pos + LENGTH_BYTES > data.length) return null;
    const length = view.getUint32(pos);
    pos += LENGTH_BYTES;
    if (pos + length > data.length) return null;
    commands.push(data.subarray(pos, pos + length));
    pos += length;
  }
  return pos === data.length ? commands : null;
}
