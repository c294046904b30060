import { crc32 } from 'node:zlib';
import type { ConfState, Entry, EntryType, GroupId, HardState, SnapshotMeta } from '../consensus/types.js';
import { ByteReader, ByteWriter } from './byte-codec.js';
import { StorageError } from './errors.js';

/**
 * The write-ahead log's record format. Every record is framed as
 *
 *   crc32 u32 | bodyLength u32 | type u8 | body
 *
 * where the CRC covers bodyLength, type and body. One durable commit is a run of records closed by a COMMIT
 * record (batch sequence number + how many records precede it); recovery applies a batch only when its COMMIT
 * is intact, so a commit is all-or-nothing. Inside an ENTRIES record each entry carries its own CRC as well, so
 * an entry read back later on its own (a cold read) is verified too.
 */
export const RecordType = {
  entries: 1,
  hardState: 2,
  snapshotInstall: 3,
  snapshotCreate: 4,
  compact: 5,
  groupReset: 6,
  groupDelete: 7,
  meta: 8,
  commit: 9,
} as const;
export type RecordTypeCode = (typeof RecordType)[keyof typeof RecordType];

export const RECORD_HEADER_BYTES = 9;
/** crc u32 | index u53 | term u53 | type u8 | dataLength u32, then the data. */
export const ENTRY_HEADER_BYTES = 25;
const COMMIT_BODY_BYTES = 12;
const NULL_VOTE = 0xffff;

/** Where a snapshot's data lives: a file in the snapshot directory ('' when the data is empty). */
export interface SnapshotRef {
  readonly meta: SnapshotMeta;
  readonly file: string;
  readonly size: number;
  readonly crc: number;
}

/** An entry as found in the log: its position in the segment file, not its data. */
export interface EntryLocation {
  readonly index: number;
  readonly term: number;
  readonly type: EntryType;
  /** File offset of the entry's header, and its whole length (header + data). */
  readonly pos: number;
  readonly len: number;
}

export interface GroupBase {
  readonly hardState: HardState;
  readonly snapshot: SnapshotRef;
  /** The log starts after `offset` (may lag the snapshot index: compaction is separate). */
  readonly offset: number;
  readonly offsetTerm: number;
}

export type WalRecord =
  | { readonly type: typeof RecordType.entries; readonly group: GroupId; readonly entries: EntryLocation[] }
  | { readonly type: typeof RecordType.hardState; readonly group: GroupId; readonly hardState: HardState }
  | { readonly type: typeof RecordType.snapshotInstall; readonly group: GroupId; readonly snapshot: SnapshotRef }
  | { readonly type: typeof RecordType.snapshotCreate; readonly group: GroupId; readonly snapshot: SnapshotRef }
  | { readonly type: typeof RecordType.compact; readonly group: GroupId; readonly index: number }
  | { readonly type: typeof RecordType.groupReset; readonly group: GroupId; readonly base: GroupBase }
  | { readonly type: typeof RecordType.groupDelete; readonly group: GroupId }
  | { readonly type: typeof RecordType.meta; readonly key: string; readonly value: Buffer }
  | { readonly type: typeof RecordType.commit; readonly batchSeq: number; readonly recordCount: number };

const ENTRY_TYPE_CODES: Record<EntryType, number> = { normal: 0, confChange: 1 };

function entryTypeOf(code: number): EntryType {
  if (code === 0) return 'normal';
  if (code === 1) return 'confChange';
  throw new StorageError('CORRUPTED', `unknown entry type code ${code}`);
}

function writeHardStateFields(w: ByteWriter, hs: HardState): void {
  w.u53(hs.term);
  w.u53(hs.commit);
  if (hs.vote === null) w.u16(NULL_VOTE);
  else w.str16(hs.vote);
}

function readHardStateFields(r: ByteReader): HardState {
  const term = r.u53();
  const commit = r.u53();
  const voteLen = r.u16();
  const vote = voteLen === NULL_VOTE ? null : r.raw(voteLen).toString('utf8');
  return { term, vote, commit };
}

function writeSnapshotFields(w: ByteWriter, s: SnapshotRef): void {
  w.u53(s.meta.index);
  w.u53(s.meta.term);
  w.bytes32(Buffer.from(JSON.stringify(s.meta.confState), 'utf8'));
  w.str16(s.file);
  w.u53(s.size);
  w.u32(s.crc);
}

function readSnapshotFields(r: ByteReader): SnapshotRef {
  const index = r.u53();
  const term = r.u53();
  const confState = decodeConfState(r.bytes32());
  const file = r.str16();
  const size = r.u53();
  const crc = r.u32();
  return { meta: { index, term, confState }, file, size, crc };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function decodeConfState(bytes: Buffer): ConfState {
  let raw: unknown;
  try {
    raw = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw new StorageError('CORRUPTED', 'undecodable configuration in a snapshot record');
  }
  const c = raw as Record<string, unknown>;
  if (
    typeof c !== 'object' ||
    c === null ||
    !isStringArray(c.voters) ||
    !isStringArray(c.votersOutgoing) ||
    !isStringArray(c.learners) ||
    !isStringArray(c.learnersNext) ||
    typeof c.autoLeave !== 'boolean'
  ) {
    throw new StorageError('CORRUPTED', 'malformed configuration in a snapshot record');
  }
  return {
    voters: c.voters,
    votersOutgoing: c.votersOutgoing,
    learners: c.learners,
    learnersNext: c.learnersNext,
    autoLeave: c.autoLeave,
  };
}

/**
 * Builds one commit: records appended in order, closed by `commit()`. Record CRCs are seeded with the target
 * segment's salt.
 */
export class BatchEncoder {
  readonly w: ByteWriter;
  private records = 0;

  constructor(
    private readonly salt: number,
    estimatedBytes: number,
  ) {
    this.w = new ByteWriter(estimatedBytes);
  }

  /** Records written so far (the COMMIT record not counted). */
  get recordCount(): number {
    return this.records;
  }

  private begin(type: RecordTypeCode): number {
    const at = this.w.reserve(RECORD_HEADER_BYTES);
    this.w.buffer[at + 8] = type;
    return at;
  }

  /** Patches the body length and the checksum into the frame started at `at`. */
  private end(at: number): void {
    const buf = this.w.buffer;
    buf.writeUInt32LE(this.w.length - at - RECORD_HEADER_BYTES, at + 4);
    buf.writeUInt32LE(crc32(buf.subarray(at + 4, this.w.length), this.salt), at);
    this.records++;
  }

  /**
   * An ENTRIES record. `positions` receives the offset (inside this batch) of each entry's header, which the
   * caller turns into a file offset once it knows where the batch lands.
   */
  entries(group: GroupId, entries: readonly Entry[], positions: number[]): void {
    const w = this.w;
    const at = this.begin(RecordType.entries);
    w.u32(group);
    w.u32(entries.length);
    for (const e of entries) {
      const start = w.reserve(4);
      positions.push(start);
      w.u53(e.index);
      w.u53(e.term);
      w.u8(ENTRY_TYPE_CODES[e.type]);
      w.bytes32(e.data);
      w.buffer.writeUInt32LE(crc32(w.buffer.subarray(start + 4, w.length)), start);
    }
    this.end(at);
  }

  hardState(group: GroupId, hs: HardState): void {
    const at = this.begin(RecordType.hardState);
    this.w.u32(group);
    writeHardStateFields(this.w, hs);
    this.end(at);
  }

  snapshot(
    type: typeof RecordType.snapshotInstall | typeof RecordType.snapshotCreate,
    group: GroupId,
    snapshot: SnapshotRef,
  ): void {
    const at = this.begin(type);
    this.w.u32(group);
    writeSnapshotFields(this.w, snapshot);
    this.end(at);
  }

  compact(group: GroupId, index: number): void {
    const at = this.begin(RecordType.compact);
    this.w.u32(group);
    this.w.u53(index);
    this.end(at);
  }

  groupReset(group: GroupId, base: GroupBase): void {
    const at = this.begin(RecordType.groupReset);
    this.w.u32(group);
    writeHardStateFields(this.w, base.hardState);
    writeSnapshotFields(this.w, base.snapshot);
    this.w.u53(base.offset);
    this.w.u53(base.offsetTerm);
    this.end(at);
  }

  groupDelete(group: GroupId): void {
    const at = this.begin(RecordType.groupDelete);
    this.w.u32(group);
    this.end(at);
  }

  meta(key: string, value: Uint8Array): void {
    const at = this.begin(RecordType.meta);
    this.w.str16(key);
    this.w.bytes32(value);
    this.end(at);
  }

  /** Closes the batch; returns its bytes. */
  commit(batchSeq: number): Buffer {
    const count = this.records;
    const at = this.begin(RecordType.commit);
    this.w.u53(batchSeq);
    this.w.u32(count);
    this.end(at);
    this.records = count;
    return this.w.bytes();
  }
}

/** Outcome of framing the bytes at one offset: a whole record, or why not. */
export type FrameResult =
  | { readonly ok: true; readonly type: number; readonly bodyStart: number; readonly end: number }
  | { readonly ok: false; readonly reason: 'truncated' | 'checksum' };

/**
 * Checks the frame at `pos`: enough bytes for it, and a matching CRC (skipped when `salt` is null: a batch this
 * process just built). Does not decode the body.
 */
export function readFrame(buf: Buffer, pos: number, end: number, salt: number | null): FrameResult {
  if (pos + RECORD_HEADER_BYTES > end) return { ok: false, reason: 'truncated' };
  const bodyLength = buf.readUInt32LE(pos + 4);
  const recordEnd = pos + RECORD_HEADER_BYTES + bodyLength;
  if (recordEnd > end) return { ok: false, reason: 'truncated' };
  if (salt !== null && crc32(buf.subarray(pos + 4, recordEnd), salt) !== buf.readUInt32LE(pos)) {
    return { ok: false, reason: 'checksum' };
  }
  return { ok: true, type: buf[pos + 8]!, bodyStart: pos + RECORD_HEADER_BYTES, end: recordEnd };
}

/**
 * True when a valid COMMIT record starts at `pos`. Used to scan past a damaged record: finding a later intact
 * commit proves the damage is not an unfinished tail.
 */
export function isCommitFrameAt(buf: Buffer, pos: number, end: number, salt: number): boolean {
  if (pos + RECORD_HEADER_BYTES + COMMIT_BODY_BYTES > end) return false;
  if (buf[pos + 8] !== RecordType.commit || buf.readUInt32LE(pos + 4) !== COMMIT_BODY_BYTES) return false;
  return readFrame(buf, pos, end, salt).ok;
}

/** Decodes the body of a framed record; `buf` holds a whole segment file, so entry positions are file offsets. */
export function decodeRecord(buf: Buffer, type: number, bodyStart: number, end: number): WalRecord {
  const r = new ByteReader(buf, bodyStart, end);
  let record: WalRecord;
  switch (type) {
    case RecordType.entries: {
      const group = r.u32();
      const count = r.u32();
      const entries: EntryLocation[] = [];
      for (let i = 0; i < count; i++) {
        const pos = r.pos;
        r.u32(); // the entry's own CRC: the record CRC already covered it
        const index = r.u53();
        const term = r.u53();
        const entryType = entryTypeOf(r.u8());
        const dataLength = r.u32();
        r.raw(dataLength);
        entries.push({ index, term, type: entryType, pos, len: ENTRY_HEADER_BYTES + dataLength });
      }
      record = { type, group, entries };
      break;
    }
    case RecordType.hardState:
      record = { type, group: r.u32(), hardState: readHardStateFields(r) };
      break;
    case RecordType.snapshotInstall:
    case RecordType.snapshotCreate:
      record = { type, group: r.u32(), snapshot: readSnapshotFields(r) };
      break;
    case RecordType.compact:
      record = { type, group: r.u32(), index: r.u53() };
      break;
    case RecordType.groupReset: {
      const group = r.u32();
      const hardState = readHardStateFields(r);
      const snapshot = readSnapshotFields(r);
      record = { type, group, base: { hardState, snapshot, offset: r.u53(), offsetTerm: r.u53() } };
      break;
    }
    case RecordType.groupDelete:
      record = { type, group: r.u32() };
      break;
    case RecordType.meta: {
      const key = r.str16();
      record = { type, key, value: Buffer.from(r.bytes32()) };
      break;
    }
    case RecordType.commit:
      record = { type, batchSeq: r.u53(), recordCount: r.u32() };
      break;
    default:
      throw new StorageError('CORRUPTED', `unknown record type ${type}`);
  }
  r.done();
  return record;
}

/**
 * Decodes one entry read back on its own (`buf` holds exactly its header and data) and verifies its CRC and that
 * it is the entry the index expected.
 */
export function decodeEntryAt(buf: Buffer, expectIndex: number, expectTerm: number): Entry {
  const r = new ByteReader(buf, 0, buf.length);
  const crc = r.u32();
  if (crc32(buf.subarray(4)) !== crc) {
    throw new StorageError('CORRUPTED', `log entry ${expectIndex} failed its checksum on read`);
  }
  const index = r.u53();
  const term = r.u53();
  const type = entryTypeOf(r.u8());
  const data = r.bytes32();
  r.done();
  if (index !== expectIndex || term !== expectTerm) {
    throw new StorageError('CORRUPTED', `expected log entry ${expectIndex}/${expectTerm}, found ${index}/${term}`);
  }
  return { index, term, type, data };
}
