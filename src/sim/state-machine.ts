import type { Entry } from '../consensus/types.js';

/** FNV-1a over bytes, continued from `seed`: cheap, deterministic, good enough to tell entries apart. */
export function fnv1a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/** A simulated client write, encoded as the entry's data. */
export interface ClientWrite {
  readonly client: number;
  readonly seq: number;
}

export function encodeWrite(w: ClientWrite, salt: number): Uint8Array {
  const data = new Uint8Array(12);
  const view = new DataView(data.buffer);
  view.setUint32(0, w.client);
  view.setUint32(4, w.seq);
  view.setUint32(8, salt >>> 0);
  return data;
}

export function decodeWrite(data: Uint8Array): ClientWrite | null {
  if (data.length !== 12) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { client: view.getUint32(0), seq: view.getUint32(4) };
}

/** Identity of an entry for comparisons across nodes (Raft: an entry is its term and its value). */
export function entryFingerprint(e: Entry): number {
  return fnv1a(e.data, (e.term * 31 + (e.type === 'confChange' ? 7 : 3)) >>> 0);
}

/**
 * Identity of an entry's value alone. Multi-Paxos re-proposes an accepted value under a newer ballot, so one chosen
 * value can sit at an index with different terms on different nodes: what must agree is the value.
 */
export function valueFingerprint(e: Entry): number {
  return fnv1a(e.data, e.type === 'confChange' ? 7 : 3);
}

/**
 * The simulated state machine: a chain digest over every applied entry, so two nodes that applied the same
 * sequence hold the same digest, and a snapshot carries the digest of everything it stands for.
 */
export class DigestStateMachine {
  applied = 0;
  digest = 0;

  constructor(private readonly fingerprint: (e: Entry) => number = entryFingerprint) {}

  apply(e: Entry): void {
    if (e.index !== this.applied + 1) {
      throw new Error(`state machine: applying ${e.index} after ${this.applied}`);
    }
    this.digest = Math.imul(this.digest ^ this.fingerprint(e), 0x9e3779b1) >>> 0;
    this.applied = e.index;
  }

  snapshot(): Uint8Array {
    const data = new Uint8Array(12);
    const view = new DataView(data.buffer);
    view.setFloat64(0, this.applied);
    view.setUint32(8, this.digest);
    return data;
  }

  restore(data: Uint8Array): void {
    if (data.length === 0) {
      this.applied = 0;
      this.digest = 0;
      return;
    }
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    this.applied = view.getFloat64(0);
    this.digest = view.getUint32(8);
  }
}
