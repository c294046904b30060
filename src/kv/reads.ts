import type { Transaction } from 'lmdb';
import { fromUtf8 } from './bytes.js';
import type { ByteRange } from './keys.js';
import { decodeRecord, toKeyValue } from './record.js';
import type { KvTables } from './tables.js';
import type { KeyValue } from './types.js';

export interface RangeLimits {
  /** Default and maximum number of keys. */
  readonly maxLimit: number;
  /** Stop after this many bytes of keys and values (at least one key is returned). */
  readonly maxBytes: number;
}

export interface RangeRead {
  readonly kvs: KeyValue[];
  readonly more: boolean;
  readonly nextStart?: string;
}

/** Reads keys of `range` in byte order, bounded by count and bytes, with the continuation point. */
export function readRange(
  tables: KvTables,
  range: ByteRange,
  limit: number | undefined,
  keysOnly: boolean,
  limits: RangeLimits,
  txn?: Transaction,
): RangeRead {
  const max = limit === undefined || limit === 0 ? limits.maxLimit : Math.min(limit, limits.maxLimit);
  const kvs: KeyValue[] = [];
  let bytes = 0;
  for (const entry of tables.scan(range, txn)) {
    if (kvs.length >= max || (kvs.length > 0 && bytes >= limits.maxBytes)) {
      return { kvs, more: true, nextStart: fromUtf8(entry.key) };
    }
    const record = decodeRecord(entry.raw, keysOnly);
    kvs.push(toKeyValue(entry.key, record));
    bytes += entry.key.length + record.value.length;
  }
  return { kvs, more: false };
}
