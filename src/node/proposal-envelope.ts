/**
 * A write's log entry carries a proposal id next to the command, so the leader that proposed it can tell whether
 * the entry applied at its index is *its* proposal.
 *
 * Why the entry's term is not enough: under Multi-Paxos a new leader re-proposes values it finds accepted, with
 * its own ballot, so a write can be applied under another term than the one it was proposed in (the torture
 * harness caught writes answered "did not take effect" that had). Raft never changes an entry's term, but one
 * rule for both engines is simpler, and the id also tells two byte-identical commands apart.
 *
 * Layout: 0xC1 (a byte msgpack never uses, so entries written before the envelope existed still decode as bare
 * commands), a 6-byte big-endian id, the msgpack command.
 */
const MARKER = 0xc1;
const ID_BYTES = 6;
const HEADER_BYTES = 1 + ID_BYTES;
const ID_SPACE = 2 ** (8 * ID_BYTES);

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
}

export function wrapProposal(id: number, command: Uint8Array): Uint8Array {
  const out = Buffer.allocUnsafe(HEADER_BYTES + command.length);
  out[0] = MARKER;
  out.writeUIntBE(id, 1, ID_BYTES);
  out.set(command, HEADER_BYTES);
  return out;
}

/** The proposal id (null for a bare command or an empty entry) and the command bytes. */
export function unwrapProposal(data: Uint8Array): { id: number | null; command: Uint8Array } {
  if (data.length < HEADER_BYTES || data[0] !== MARKER) return { id: null, command: data };
  const view = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { id: view.readUIntBE(1, ID_BYTES), command: data.subarray(HEADER_BYTES) };
}
