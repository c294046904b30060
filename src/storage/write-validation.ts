import type { ConfState, Entry, GroupId, HardState, Snapshot } from '../consensus/types.js';
import { StorageError } from './errors.js';

/** Largest group id: ids are stored as u32. */
export const MAX_GROUP_ID = 0xffff_ffff;
/** Node ids (votes, members) are stored with a u16 length; far more than any sane name needs. */
const MAX_NODE_ID_BYTES = 1024;
export const MAX_META_KEY_BYTES = 256;

function invalid(message: string): StorageError {
  return new StorageError('INVALID_ARGUMENT', message);
}

function isIndex(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

export function validateGroupId(group: unknown): asserts group is GroupId {
  if (typeof group !== 'number' || !Number.isInteger(group) || group < 0 || group > MAX_GROUP_ID) {
    throw invalid(`group id must be an integer in [0, ${MAX_GROUP_ID}], got ${String(group)}`);
  }
}

function validateNodeId(id: unknown, what: string): void {
  if (typeof id !== 'string' || id.length === 0 || Buffer.byteLength(id, 'utf8') > MAX_NODE_ID_BYTES) {
    throw invalid(`${what} must be a non-empty string of at most ${MAX_NODE_ID_BYTES} bytes`);
  }
}

export function validateHardState(hs: HardState): void {
  if (typeof hs !== 'object' || hs === null || !isIndex(hs.term) || !isIndex(hs.commit)) {
    throw invalid('hard state needs integer term and commit >= 0');
  }
  if (hs.vote !== null) validateNodeId(hs.vote, 'hard state vote');
}

export function validateConfState(c: ConfState): void {
  if (typeof c !== 'object' || c === null || typeof c.autoLeave !== 'boolean') {
    throw invalid('configuration must be an object with autoLeave');
  }
  for (const field of ['voters', 'votersOutgoing', 'learners', 'learnersNext'] as const) {
    const list = c[field];
    if (!Array.isArray(list)) throw invalid(`configuration field ${field} must be a list`);
    for (const id of list) validateNodeId(id, `configuration ${field} member`);
  }
}

/** Checks entries are well formed, contiguous and within the size limit; returns their log bytes. */
export function validateEntries(entries: readonly Entry[], maxEntryBytes: number): number {
  if (!Array.isArray(entries)) throw invalid('entries must be a list');
  let bytes = 0;
  let previous = -1;
  for (const e of entries) {
    if (typeof e !== 'object' || e === null || !isIndex(e.index) || e.index === 0 || !isIndex(e.term)) {
      throw invalid('an entry needs an integer index >= 1 and term >= 0');
    }
    if (e.type !== 'normal' && e.type !== 'confChange') throw invalid(`unknown entry type ${String(e.type)}`);
    if (!(e.data instanceof Uint8Array)) throw invalid(`entry ${e.index} data must be a Uint8Array`);
    if (e.data.length > maxEntryBytes) {
      throw new StorageError(
        'ENTRY_TOO_LARGE',
        `entry ${e.index} has ${e.data.length} bytes of data, the limit is ${maxEntryBytes}`,
      );
    }
    if (previous >= 0 && e.index !== previous + 1) {
      throw invalid(`entries must have consecutive indexes: ${e.index} follows ${previous}`);
    }
    previous = e.index;
    bytes += e.data.length + 25;
  }
  return bytes;
}

export function validateSnapshot(snapshot: Snapshot, maxSnapshotBytes: number): void {
  if (typeof snapshot !== 'object' || snapshot === null || typeof snapshot.meta !== 'object') {
    throw invalid('a snapshot needs meta and data');
  }
  const { index, term, confState } = snapshot.meta;
  if (!isIndex(index) || !isIndex(term)) throw invalid('snapshot index and term must be integers >= 0');
  validateConfState(confState);
  validateSnapshotData(snapshot.data, maxSnapshotBytes);
}

export function validateSnapshotData(data: Uint8Array, maxSnapshotBytes: number): void {
  if (!(data instanceof Uint8Array)) throw invalid('snapshot data must be a Uint8Array');
  if (data.length > maxSnapshotBytes) {
    throw new StorageError('SNAPSHOT_TOO_LARGE', `snapshot has ${data.length} bytes, the limit is ${maxSnapshotBytes}`);
  }
}

export function validateIndex(index: unknown, what: string): asserts index is number {
  if (!isIndex(index)) throw invalid(`${what} must be an integer >= 0, got ${String(index)}`);
}

export function validateMeta(key: string, value: Uint8Array, maxValueBytes: number): void {
  if (typeof key !== 'string' || key.length === 0) throw invalid('metadata key must be a non-empty string');
  if (Buffer.byteLength(key, 'utf8') > MAX_META_KEY_BYTES) {
    throw new StorageError('META_TOO_LARGE', `metadata key is over ${MAX_META_KEY_BYTES} bytes`);
  }
  if (!(value instanceof Uint8Array)) throw invalid('metadata value must be a Uint8Array');
  if (value.length > maxValueBytes) {
    throw new StorageError('META_TOO_LARGE', `metadata value has ${value.length} bytes, the limit is ${maxValueBytes}`);
  }
}
