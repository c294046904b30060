import { ByteReader, EMPTY_BYTES, fromUtf8, plain, readUint53, viewOf, writeUint53 } from './bytes.js';
import type { KeyValue, WatchEvent } from './types.js';

/** What the store keeps per key. */
export interface StoredRecord {
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  /** 0 = no lease. */
  readonly lease: number;
  readonly value: Uint8Array;
}

/** On disk a record is a 32-byte header (four big-endian 64-bit integers) followed by the value bytes. */
export const RECORD_HEADER_BYTES = 32;

/** Bytes of an encoded record. */
export function recordSize(record: StoredRecord): number {
  return RECORD_HEADER_BYTES + record.value.length;
}

/** Encodes `record` at the start of `out` (`view` over the same bytes, from offset 0): header, then the value. */
export function writeRecord(out: Uint8Array, view: DataView, record: StoredRecord): void {
  writeUint53(view, 0, record.createRevision);
  writeUint53(view, 8, record.modRevision);
  writeUint53(view, 16, record.version);
  writeUint53(view, 24, record.lease);
  out.set(record.value, RECORD_HEADER_BYTES);
}

export function decodeRecord(bytes: Uint8Array, keysOnly = false): StoredRecord {
  if (bytes.length < RECORD_HEADER_BYTES) throw new RangeError('record shorter than its header');
  const view = viewOf(bytes);
  return {
    createRevision: readUint53(view, 0),
    modRevision: readUint53(view, 8),
    version: readUint53(view, 16),
    lease: readUint53(view, 24),
    value: keysOnly ? EMPTY_BYTES : plain(bytes.subarray(RECORD_HEADER_BYTES)),
  };
}

/** A big-endian 64-bit integer below 2^53 at `offset`, read without a DataView. */
function readUint53At(bytes: Uint8Array, offset: number): number {
  const high =
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>> 0;
  const low =
    ((bytes[offset + 4]! << 24) | (bytes[offset + 5]! << 16) | (bytes[offset + 6]! << 8) | bytes[offset + 7]!) >>> 0;
  return high * 2 ** 32 + low;
}

/**
 * Decodes the record in `bytes[0, size)`, a buffer that will be overwritten (lmdb's shared read buffer): the value is
 * copied out, and nothing else is allocated but the record (see KvTables.getRecord).
 */
export function decodeRecordCopy(bytes: Uint8Array, size: number): StoredRecord {
  if (size < RECORD_HEADER_BYTES || size > bytes.length) throw new RangeError('record shorter than its header');
  return {
    createRevision: readUint53At(bytes, 0),
    modRevision: readUint53At(bytes, 8),
    version: readUint53At(bytes, 16),
    lease: readUint53At(bytes, 24),
    value: new Uint8Array(bytes.buffer, bytes.byteOffset + RECORD_HEADER_BYTES, size - RECORD_HEADER_BYTES).slice(),
  };
}

export function toKeyValue(key: Uint8Array | string, record: StoredRecord): KeyValue {
  return {
    key: typeof key === 'string' ? key : fromUtf8(key),
    value: record.value,
    createRevision: record.createRevision,
    modRevision: record.modRevision,
    version: record.version,
    lease: record.lease,
  };
}

/** One change, as kept in the watch history (and in memory for live watchers). */
export interface StoredEvent {
  readonly type: 'put' | 'delete';
  readonly key: Uint8Array;
  /** The key as a string when already known (saves decoding for the common put path). */
  readonly keyText?: string;
  /** After the change; for a delete: zeros except modRevision, empty value. */
  readonly record: StoredRecord;
  /** Before the change; null when the key did not exist. */
  readonly prev: StoredRecord | null;
}

const PUT = 1;
const DELETE = 2;

function readRecordFields(r: ByteReader): StoredRecord {
  return { createRevision: r.u53(), modRevision: r.u53(), version: r.u53(), lease: r.u53(), value: r.bytes() };
}

/** Bytes of an encoded event. */
export function eventSize(event: StoredEvent): number {
  const { key, record, prev } = event;
  return 1 + 4 + key.length + 36 + record.value.length + 1 + (prev === null ? 0 : 36 + prev.value.length);
}

/**
 * Encodes `event` at the start of `out` (`view` over the same bytes, from offset 0). Layout: type u8, key (u32
 * length + bytes), record fields, has-prev u8, [prev record fields].
 */
export function writeEvent(out: Uint8Array, view: DataView, event: StoredEvent): void {
  const { key, record, prev } = event;
  out[0] = event.type === 'put' ? PUT : DELETE;
  view.setUint32(1, key.length);
  out.set(key, 5);
  const at = writeRecordFields(out, view, 5 + key.length, record);
  if (prev === null) out[at] = 0;
  else {
    out[at] = 1;
    writeRecordFields(out, view, at + 1, prev);
  }
}

/** Writes a record's fields at `at` (4 × u53, value length u32, value); returns the offset after them. */
function writeRecordFields(out: Uint8Array, view: DataView, at: number, r: StoredRecord): number {
  writeUint53(view, at, r.createRevision);
  writeUint53(view, at + 8, r.modRevision);
  writeUint53(view, at + 16, r.version);
  writeUint53(view, at + 24, r.lease);
  view.setUint32(at + 32, r.value.length);
  out.set(r.value, at + 36);
  return at + 36 + r.value.length;
}

/** Throws RangeError on malformed bytes. */
export function decodeEvent(bytes: Uint8Array): StoredEvent {
  const r = new ByteReader(bytes);
  const tag = r.u8();
  if (tag !== PUT && tag !== DELETE) throw new RangeError('unknown event type');
  const key = r.bytes();
  const record = readRecordFields(r);
  const prev = r.u8() === 1 ? readRecordFields(r) : null;
  if (r.remaining !== 0) throw new RangeError('trailing bytes after event');
  return { type: tag === PUT ? 'put' : 'delete', key, record, prev };
}

/** Approximate memory an event holds, for buffer accounting. */
export function eventBytes(event: StoredEvent): number {
  return 96 + event.key.length + event.record.value.length + (event.prev?.value.length ?? 0);
}

export function toWatchEvent(event: StoredEvent, withPrevKv: boolean): WatchEvent {
  const key = event.keyText ?? fromUtf8(event.key);
  const base = {
    type: event.type,
    key,
    value: event.record.value,
    createRevision: event.record.createRevision,
    modRevision: event.record.modRevision,
    version: event.record.version,
    lease: event.record.lease,
  };
  return withPrevKv && event.prev !== null ? { ...base, prevKv: toKeyValue(key, event.prev) } : base;
}
