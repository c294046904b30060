import { createHash, type Hash } from 'node:crypto';
import type { Transaction } from 'lmdb';
import { ByteReader, ByteWriter, bytesEqual, compareBytes, concatBytes, fromUtf8, viewOf } from './bytes.js';
import { KvError } from './errors.js';
import type { KvLimits } from './options.js';
import { decodeEvent, decodeRecord } from './record.js';
import {
  hashRecord,
  parseStateRecord,
  type RecordCounts,
  RecordType,
  StateRecordSource,
  stateRecord,
} from './state-records.js';
import type { KvTables, MetaState } from './tables.js';

/**
 * Snapshot stream format. The state's canonical records (see state-records.ts), framed as [u32 length][record],
 * form one byte stream: a HEADER record first (format, applied index, revision, oldest revision), then the
 * state records, then a TRAILER (record counts and the sha256 the checksum() of the state would give).
 * The stream is cut into chunks of at most `chunkBytes`; a record may span chunks. Each chunk:
 *
 *   [0..4) magic "CKVS"  [4..8) sequence number  [8] flags (1 = last)  [9..12) zero
 *   [12..16) payload length  [16..48) sha256 of bytes [0..16) and the payload  [48..) payload
 */
const MAGIC = 0x434b5653;
export const CHUNK_OVERHEAD = 48;
const MIN_CHUNK_BYTES = 256;
const FORMAT = 1;
const LAST = 1;

export interface SnapshotInfo {
  readonly appliedIndex: number;
  readonly revision: number;
  readonly oldestRevision: number;
}

function frame(seq: number, last: boolean, payload: Uint8Array): Uint8Array {
  const chunk = new Uint8Array(CHUNK_OVERHEAD + payload.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, MAGIC);
  view.setUint32(4, seq);
  chunk[8] = last ? LAST : 0;
  view.setUint32(12, payload.length);
  chunk.set(payload, CHUNK_OVERHEAD);
  const digest = createHash('sha256').update(chunk.subarray(0, 16)).update(payload).digest();
  chunk.set(digest, 16);
  return chunk;
}

function lengthPrefix(length: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, length);
  return out;
}

/**
 * Streams one consistent snapshot (a single read transaction, taken when the reader is created) as chunks.
 * Memory: one chunk plus the records of about one chunk. Iterate it (for await) or call nextChunk().
 */
export class KvSnapshotReader implements AsyncIterable<Uint8Array>, SnapshotInfo {
  readonly appliedIndex: number;
  readonly revision: number;
  readonly oldestRevision: number;
  private readonly source: StateRecordSource;
  private readonly hash: Hash = createHash('sha256');
  private readonly pending: Uint8Array[] = [];
  private pendingOffset = 0;
  private headerQueued = false;
  private trailerQueued = false;
  private seq = 0;
  private finished = false;
  private released = false;
  private abortedBy: KvError | null = null;

  constructor(
    tables: KvTables,
    private readonly txn: Transaction,
    meta: MetaState,
    private readonly chunkBytes: number,
    private readonly onRelease: (reader: KvSnapshotReader) => void,
  ) {
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes < MIN_CHUNK_BYTES) {
      txn.done();
      throw new KvError('INVALID_ARGUMENT', `chunkBytes must be an integer ≥ ${MIN_CHUNK_BYTES}`);
    }
    this.appliedIndex = meta.appliedIndex;
    this.revision = meta.revision;
    this.oldestRevision = meta.oldestRevision;
    this.source = new StateRecordSource(tables, txn, meta);
  }

  private queue(record: Uint8Array): void {
    this.pending.push(lengthPrefix(record.length), record);
  }

  private refill(capacity: number): boolean {
    if (!this.headerQueued) {
      this.headerQueued = true;
      const header = new ByteWriter(40)
        .u8(RecordType.header)
        .u32(FORMAT)
        .u53(this.appliedIndex)
        .u53(this.revision)
        .u53(this.oldestRevision)
        .finish();
      this.queue(header);
      return true;
    }
    if (!this.source.finished) {
      const records = this.source.next(capacity);
      for (const record of records) {
        hashRecord(this.hash, record);
        this.queue(record);
      }
      if (records.length > 0) return true;
    }
    if (!this.trailerQueued) {
      this.trailerQueued = true;
      const counts = this.source.counts;
      const trailer = new ByteWriter(64)
        .u8(RecordType.trailer)
        .u53(counts.leases)
        .u53(counts.kvs)
        .u53(counts.events)
        .raw(this.hash.digest())
        .finish();
      this.queue(trailer);
      return true;
    }
    return false;
  }

  /** The next chunk, or null at the end. Throws KvError SNAPSHOT_ABORTED if the store closed or was restored. */
  nextChunk(): Uint8Array | null {
    if (this.abortedBy) throw this.abortedBy;
    if (this.finished) return null;
    const capacity = this.chunkBytes - CHUNK_OVERHEAD;
    const payload = new Uint8Array(capacity);
    let used = 0;
    while (used < capacity) {
      if (this.pending.length === 0 && !this.refill(capacity)) break;
      const head = this.pending[0]!;
      const take = Math.min(capacity - used, head.length - this.pendingOffset);
      payload.set(head.subarray(this.pendingOffset, this.pendingOffset + take), used);
      used += take;
      this.pendingOffset += take;
      if (this.pendingOffset === head.length) {
        this.pending.shift();
        this.pendingOffset = 0;
      }
    }
    const last = this.pending.length === 0 && this.trailerQueued;
    if (last) {
      this.finished = true;
      this.release();
    }
    return frame(this.seq++, last, payload.subarray(0, used));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    try {
      for (;;) {
        const chunk = this.nextChunk();
        if (chunk === null) return;
        yield chunk;
      }
    } finally {
      this.close();
    }
  }

  /** Releases the read transaction (idempotent). */
  close(): void {
    this.finished = true;
    this.release();
  }

  /** Called by the store before it closes or replaces the environment. */
  abort(error: KvError): void {
    if (!this.finished) this.abortedBy = error;
    this.close();
  }

  private release(): void {
    if (this.released) return;
    this.released = true;
    this.txn.done();
    this.onRelease(this);
  }
}

/** What the writer needs from the store. */
export interface RestoreTarget {
  readonly limits: KvLimits;
  /** A fresh, empty environment (and its directory name) to restore into. */
  openRestoreEnv(): { tables: KvTables; name: string };
  /** Atomically makes the restored environment the store's state. Throws KvError SNAPSHOT_STALE, CLOSED. */
  installRestoredEnv(tables: KvTables, name: string, meta: MetaState): Promise<void>;
  /** Closes and deletes an unfinished restore environment. */
  discardRestoreEnv(tables: KvTables, name: string): Promise<void>;
  /** The writer is done (installed, failed or aborted): another restore may start. */
  restoreEnded(): void;
}

function corrupt(message: string, cause?: unknown): KvError {
  return new KvError('SNAPSHOT_CORRUPT', `snapshot stream: ${message}`, cause === undefined ? {} : { cause });
}

const STAGES = { header: 0, state: 1, lease: 2, kv: 3, event: 4, trailer: 5 } as const;

/**
 * Restores a snapshot stream into a fresh environment, verifying each chunk's hash, the sequence, record order
 * and the whole state's checksum against the trailer; finish() then switches the store to it atomically.
 * The live state is untouched until then, and on any error the partial environment is discarded.
 */
export class KvSnapshotWriter {
  private readonly tables: KvTables;
  private readonly envName: string;
  private readonly hash: Hash = createHash('sha256');
  private readonly counts: RecordCounts = { leases: 0, kvs: 0, events: 0 };
  private readonly maxRecordBytes: number;
  private expectedSeq = 0;
  private carry: Uint8Array = new Uint8Array(0);
  private stage: number = STAGES.header;
  private header: SnapshotInfo | null = null;
  private lastLease = 0;
  private lastKey: Uint8Array | null = null;
  private lastEvent: { revision: number; seq: number } | null = null;
  private sawLastChunk = false;
  private state: 'open' | 'finishing' | 'ended' = 'open';
  private discarded: Promise<void> | null = null;

  constructor(private readonly target: RestoreTarget) {
    const { tables, name } = target.openRestoreEnv();
    this.tables = tables;
    this.envName = name;
    const { maxValueBytes, maxKeyBytes } = target.limits;
    // The largest record: an event with a value and a previous value, plus keys and headers.
    this.maxRecordBytes = 2 * maxValueBytes + 2 * maxKeyBytes + 1024;
  }

  /** Takes the next chunk. Throws KvError SNAPSHOT_CORRUPT (and discards the restore) on any defect. */
  write(chunk: Uint8Array): void {
    if (this.state !== 'open') throw new KvError('INVALID_ARGUMENT', 'snapshot writer is no longer accepting chunks');
    try {
      this.accept(chunk);
    } catch (error) {
      this.fail();
      if (error instanceof KvError) throw error;
      throw corrupt('malformed record', error);
    }
  }

  private accept(chunk: Uint8Array): void {
    if (this.sawLastChunk) throw corrupt('chunk after the last one');
    if (!(chunk instanceof Uint8Array) || chunk.length < CHUNK_OVERHEAD) throw corrupt('chunk too short');
    const view = viewOf(chunk);
    if (view.getUint32(0) !== MAGIC) throw corrupt('bad magic');
    const seq = view.getUint32(4);
    if (seq !== this.expectedSeq) throw corrupt(`chunk ${seq} where ${this.expectedSeq} was expected`);
    const payloadLength = view.getUint32(12);
    if (payloadLength !== chunk.length - CHUNK_OVERHEAD) throw corrupt('payload length mismatch');
    const payload = chunk.subarray(CHUNK_OVERHEAD);
    const digest = createHash('sha256').update(chunk.subarray(0, 16)).update(payload).digest();
    if (!bytesEqual(digest, chunk.subarray(16, CHUNK_OVERHEAD))) throw corrupt(`chunk ${seq} checksum mismatch`);
    this.expectedSeq++;
    const data = this.carry.length > 0 ? concatBytes(this.carry, payload) : payload;
    const dataView = viewOf(data);
    let offset = 0;
    this.tables.write(() => {
      while (data.length - offset >= 4) {
        const length = dataView.getUint32(offset);
        if (length > this.maxRecordBytes) throw corrupt(`record of ${length} bytes`);
        if (data.length - offset - 4 < length) break;
        this.record(data.subarray(offset + 4, offset + 4 + length));
        offset += 4 + length;
      }
    });
    this.carry = data.slice(offset);
    if (chunk[8]! & LAST) {
      if (this.stage !== STAGES.trailer || this.carry.length > 0) throw corrupt('last chunk ends early');
      this.sawLastChunk = true;
    }
  }

  private record(record: Uint8Array): void {
    const type = record[0];
    if (this.stage === STAGES.trailer) throw corrupt('record after the trailer');
    if (type === RecordType.header) {
      if (this.stage !== STAGES.header) throw corrupt('second header');
      const r = new ByteReader(record);
      r.u8();
      const format = r.u32();
      if (format !== FORMAT) throw corrupt(`unknown format ${format}`);
      this.header = { appliedIndex: r.u53(), revision: r.u53(), oldestRevision: r.u53() };
      if (r.remaining !== 0) throw corrupt('header has trailing bytes');
      const { revision, oldestRevision } = this.header;
      if (revision < 1 || oldestRevision < 1 || oldestRevision > revision + 1) throw corrupt('header out of range');
      this.stage = STAGES.state;
      return;
    }
    if (this.header === null) throw corrupt('missing header');
    if (type === RecordType.state) {
      // The first state record repeats the header's revisions; it is part of what the checksum covers.
      if (this.stage !== STAGES.state) throw corrupt('state record out of place');
      if (!bytesEqual(record, stateRecord(this.header.revision, this.header.oldestRevision))) {
        throw corrupt('state record disagrees with the header');
      }
      hashRecord(this.hash, record);
      this.stage = STAGES.lease;
      return;
    }
    if (this.stage === STAGES.state) throw corrupt('missing state record');
    if (type === RecordType.trailer) {
      this.trailer(record);
      return;
    }
    const parsed = parseStateRecord(record);
    hashRecord(this.hash, record);
    const stage = STAGES[parsed.type];
    if (stage < this.stage) throw corrupt(`${parsed.type} record out of order`);
    this.stage = stage;
    switch (parsed.type) {
      case 'lease': {
        if (parsed.id <= this.lastLease) throw corrupt('leases out of order');
        this.lastLease = parsed.id;
        this.tables.putLease(parsed.id, { ttlSeconds: parsed.ttlSeconds, keys: 0 });
        this.counts.leases++;
        return;
      }
      case 'kv': {
        const { key, raw } = parsed;
        if (key.length === 0 || key.length > this.target.limits.maxKeyBytes) throw corrupt('key length');
        fromUtf8(key);
        if (this.lastKey !== null && compareBytes(key, this.lastKey) <= 0) throw corrupt('keys out of order');
        this.lastKey = key;
        const stored = decodeRecord(raw);
        if (stored.lease !== 0) {
          const lease = this.tables.getLease(stored.lease);
          if (lease === undefined) throw corrupt(`key attached to unknown lease ${stored.lease}`);
          this.tables.putLease(stored.lease, { ...lease, keys: lease.keys + 1 });
          this.tables.attachToLease(stored.lease, key);
        }
        this.tables.putRecord(key, stored, false);
        this.counts.kvs++;
        return;
      }
      case 'event': {
        const { revision, seq, raw } = parsed;
        const last = this.lastEvent;
        if (last !== null && (revision < last.revision || (revision === last.revision && seq <= last.seq))) {
          throw corrupt('events out of order');
        }
        if (revision < this.header.oldestRevision || revision > this.header.revision) throw corrupt('event revision');
        decodeEvent(raw);
        this.lastEvent = { revision, seq };
        this.tables.putEncodedEvent(revision, seq, raw);
        this.counts.events++;
        return;
      }
    }
  }

  private trailer(record: Uint8Array): void {
    const r = new ByteReader(record);
    r.u8();
    const leases = r.u53();
    const kvs = r.u53();
    const events = r.u53();
    const digest = r.raw(32);
    if (r.remaining !== 0) throw corrupt('trailer has trailing bytes');
    const c = this.counts;
    if (leases !== c.leases || kvs !== c.kvs || events !== c.events) throw corrupt('record counts differ');
    if (!bytesEqual(this.hash.digest(), digest)) throw corrupt('state checksum mismatch');
    this.stage = STAGES.trailer;
  }

  /**
   * Verifies the stream was complete, makes the restored state durable and switches the store to it.
   * Throws KvError SNAPSHOT_CORRUPT (truncated), SNAPSHOT_STALE, CLOSED; the restore is discarded then.
   */
  async finish(): Promise<SnapshotInfo> {
    if (this.state !== 'open') throw new KvError('INVALID_ARGUMENT', 'snapshot writer already finished or aborted');
    if (!this.sawLastChunk || this.header === null) {
      this.fail();
      await this.discarded;
      throw corrupt('stream truncated (no last chunk)');
    }
    this.state = 'finishing';
    const header = this.header;
    const meta: MetaState = {
      appliedIndex: header.appliedIndex,
      revision: header.revision,
      oldestRevision: header.oldestRevision,
      leaseCount: this.counts.leases,
    };
    try {
      this.tables.write(() => this.tables.writeMeta(meta));
      await this.tables.sync();
      await this.target.installRestoredEnv(this.tables, this.envName, meta);
    } catch (error) {
      this.state = 'open';
      this.fail();
      await this.discarded;
      throw error;
    }
    this.state = 'ended';
    this.target.restoreEnded();
    return header;
  }

  /** Abandons the restore and deletes its partial environment. */
  async abort(): Promise<void> {
    if (this.state === 'ended') return this.discarded ?? undefined;
    this.fail();
    await this.discarded;
  }

  private fail(): void {
    if (this.state === 'ended') return;
    this.state = 'ended';
    this.discarded = this.target.discardRestoreEnv(this.tables, this.envName).catch(() => undefined);
    this.target.restoreEnded();
  }
}
