import type { Transaction } from 'lmdb';
import { ByteReader, ByteWriter, successor } from './bytes.js';
import type { KvTables, MetaState } from './tables.js';

/**
 * The logical state as a canonical sequence of records: the basis of both checksum() and snapshots, so a
 * snapshot carries exactly what the checksum covers and a restore can be verified against it.
 *
 * Order: one STATE record (revision, oldest revision), every lease by id, every key in byte order, every
 * retained history event (revision ≥ oldest revision) in (revision, seq) order. The applied index is not part
 * of it (a no-op entry changes no state); snapshots carry it in their header.
 */
export const RecordType = {
  header: 0,
  kv: 1,
  lease: 2,
  event: 3,
  state: 4,
  trailer: 5,
} as const;

export function stateRecord(revision: number, oldestRevision: number): Uint8Array {
  return new ByteWriter(17).u8(RecordType.state).u53(revision).u53(oldestRevision).finish();
}

export function leaseRecord(id: number, ttlSeconds: number): Uint8Array {
  return new ByteWriter(17).u8(RecordType.lease).u53(id).u53(ttlSeconds).finish();
}

export function kvRecord(key: Uint8Array, raw: Uint8Array): Uint8Array {
  return new ByteWriter(9 + key.length + raw.length).u8(RecordType.kv).bytes(key).bytes(raw).finish();
}

export function eventRecord(revision: number, seq: number, raw: Uint8Array): Uint8Array {
  return new ByteWriter(17 + raw.length).u8(RecordType.event).u53(revision).u32(seq).bytes(raw).finish();
}

export type ParsedRecord =
  | { type: 'lease'; id: number; ttlSeconds: number }
  | { type: 'kv'; key: Uint8Array; raw: Uint8Array }
  | { type: 'event'; revision: number; seq: number; raw: Uint8Array };

/** Parses a lease, kv or event record; throws RangeError if malformed. */
export function parseStateRecord(record: Uint8Array): ParsedRecord {
  const r = new ByteReader(record);
  const type = r.u8();
  let parsed: ParsedRecord;
  if (type === RecordType.lease) parsed = { type: 'lease', id: r.u53(), ttlSeconds: r.u53() };
  else if (type === RecordType.kv) parsed = { type: 'kv', key: r.bytes(), raw: r.bytes() };
  else if (type === RecordType.event) parsed = { type: 'event', revision: r.u53(), seq: r.u32(), raw: r.bytes() };
  else throw new RangeError(`unexpected record type ${type}`);
  if (r.remaining !== 0) throw new RangeError('trailing bytes in record');
  return parsed;
}

export interface RecordCounts {
  leases: number;
  kvs: number;
  events: number;
}

/**
 * Produces the canonical records of one consistent snapshot (a read transaction), a bounded amount at a time.
 * Each call opens fresh cursors from where the previous one stopped, so no cursor stays open between calls.
 */
export class StateRecordSource {
  private stage: 'state' | 'leases' | 'kvs' | 'events' | 'done' = 'state';
  private leaseAfter = 0;
  private kvFrom: Uint8Array = new Uint8Array(0);
  private eventFrom: { revision: number; seq: number };
  readonly counts: RecordCounts = { leases: 0, kvs: 0, events: 0 };

  constructor(
    private readonly tables: KvTables,
    private readonly txn: Transaction,
    readonly meta: MetaState,
  ) {
    this.eventFrom = { revision: meta.oldestRevision, seq: 0 };
  }

  get finished(): boolean {
    return this.stage === 'done';
  }

  /** The next records, about `maxBytes` of them (at least one unless finished). */
  next(maxBytes: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    let bytes = 0;
    const full = () => bytes >= maxBytes;
    while (!full() && this.stage !== 'done') {
      switch (this.stage) {
        case 'state': {
          const record = stateRecord(this.meta.revision, this.meta.oldestRevision);
          out.push(record);
          bytes += record.length;
          this.stage = 'leases';
          break;
        }
        case 'leases': {
          let exhausted = true;
          for (const lease of this.tables.leases(this.txn, this.leaseAfter)) {
            const record = leaseRecord(lease.id, lease.ttlSeconds);
            out.push(record);
            bytes += record.length;
            this.counts.leases++;
            this.leaseAfter = lease.id;
            if (full()) {
              exhausted = false;
              break;
            }
          }
          if (exhausted) this.stage = 'kvs';
          break;
        }
        case 'kvs': {
          let exhausted = true;
          for (const entry of this.tables.scan({ start: this.kvFrom, end: null }, this.txn)) {
            const record = kvRecord(entry.key, entry.raw);
            out.push(record);
            bytes += record.length;
            this.counts.kvs++;
            this.kvFrom = successor(entry.key);
            if (full()) {
              exhausted = false;
              break;
            }
          }
          if (exhausted) this.stage = 'events';
          break;
        }
        case 'events': {
          let exhausted = true;
          const from = this.eventFrom;
          for (const entry of this.tables.historyFrom(from.revision, this.txn, from.seq)) {
            if (entry.revision > this.meta.revision) break;
            const record = eventRecord(entry.revision, entry.seq, entry.raw);
            out.push(record);
            bytes += record.length;
            this.counts.events++;
            this.eventFrom = { revision: entry.revision, seq: entry.seq + 1 };
            if (full()) {
              exhausted = false;
              break;
            }
          }
          if (exhausted) this.stage = 'done';
          break;
        }
      }
    }
    return out;
  }
}

/** Feeds one canonical record into a running hash (length-prefixed, so record boundaries are unambiguous). */
export function hashRecord(hash: { update(data: Uint8Array): unknown }, record: Uint8Array): void {
  const length = new Uint8Array(4);
  new DataView(length.buffer).setUint32(0, record.length);
  hash.update(length);
  hash.update(record);
}
