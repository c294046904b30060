import { ByteReader, ByteWriter, EMPTY_BYTES, fromUtf8, plain, readUint53, viewOf, writeUint53 } from './bytes.js';
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

export function encodeRecord(record: StoredRecord): Uint8Array {
  const out = new Uint8Array(RECORD_HEADER_BYTES + record.value.length);
  const view = new DataView(out.buffer);
  writeUint53(view, 0, record.createRevision);
  writeUint53(view, 8, record.modRevision);
  writeUint53(view, 16, record.version);
  writeUint53(view, 24, record.lease);
  out.set(record.value, RECORD_HEADER_BYTES);
  return out;
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

function writeRecordFields(w: ByteWriter, r: StoredRecord): void {
  w.u53(r.createRevision).u53(r.modRevision).u53(r.version).u53(r.lease).bytes(r.value);
}

function readRecordFields(r: ByteReader): StoredRecord {
  return { createRevision: r.u53(), modRevision: r.u53(), version: r.u53(), lease: r.u53(), value: r.bytes() };
}

export function encodeEvent(event: StoredEvent): Uint8Array {
  const size = 64 + event.key.length + event.record.value.length + (event.prev?.value.length ?? 0) + 48;
  const w = new ByteWriter(size);
  w.u8(event.type === 'put' ? PUT : DELETE).bytes(event.key);
  writeRecordFields(w, event.record);
  if (event.prev === null) w.u8(0);
  else {
    w.u8(1);
    writeRecordFields(w, event.prev);
  }
  return w.finish();
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
