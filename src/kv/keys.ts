import { compareBytes, EMPTY_BYTES, prefixEnd, successor, utf8 } from './bytes.js';
import { KvError } from './errors.js';
import type { KeySelector } from './types.js';

/** A lone surrogate cannot be encoded as UTF-8 (TextEncoder would silently turn it into U+FFFD). */
const LONE_SURROGATE = /\p{Cs}/u;

/** Validates a key and returns its UTF-8 bytes. Throws KvError INVALID_KEY or KEY_TOO_LARGE. */
export function keyBytes(key: unknown, maxKeyBytes: number, what = 'key'): Uint8Array {
  if (typeof key !== 'string') throw new KvError('INVALID_KEY', `${what} must be a string`);
  if (key.length === 0) throw new KvError('INVALID_KEY', `${what} must not be empty`);
  // UTF-8 is never shorter than UTF-16 code units, so this rejects huge strings before encoding them.
  if (key.length > maxKeyBytes) {
    throw new KvError('KEY_TOO_LARGE', `${what} is longer than ${maxKeyBytes} bytes`);
  }
  if (LONE_SURROGATE.test(key)) throw new KvError('INVALID_KEY', `${what} is not valid UTF-8 (lone surrogate)`);
  const bytes = utf8(key);
  return checkLength(bytes, maxKeyBytes, what);
}

/**
 * Validates a key without returning its bytes; skips the UTF-8 encoding when the string is too short to exceed
 * the limit (a UTF-16 code unit is at most 3 UTF-8 bytes). Throws like keyBytes.
 */
export function checkKey(key: unknown, maxKeyBytes: number, what = 'key'): void {
  if (typeof key === 'string' && key.length > 0 && key.length * 3 <= maxKeyBytes && !LONE_SURROGATE.test(key)) return;
  keyBytes(key, maxKeyBytes, what);
}

function checkLength(bytes: Uint8Array, maxKeyBytes: number, what: string): Uint8Array {
  if (bytes.length > maxKeyBytes) {
    throw new KvError('KEY_TOO_LARGE', `${what} is ${bytes.length} bytes, more than ${maxKeyBytes}`);
  }
  return bytes;
}

/** Like keyBytes but allows the empty string (a range bound or prefix may be empty: "from the first key"). */
export function boundBytes(bound: unknown, maxKeyBytes: number, what: string): Uint8Array {
  if (bound === '') return EMPTY_BYTES;
  return keyBytes(bound, maxKeyBytes, what);
}

/** A half-open byte range [start, end); end null = unbounded. */
export interface ByteRange {
  readonly start: Uint8Array;
  readonly end: Uint8Array | null;
}

/** The fields a selector may use; validated by `selectorRange`. */
export interface SelectorFields {
  readonly key?: unknown;
  readonly prefix?: unknown;
  readonly start?: unknown;
  readonly end?: unknown;
}

/**
 * Turns a key selector into a byte range. Accepted shapes: {key}; {prefix, start?} (start must lie inside the
 * prefix: it is how a paged prefix read continues); {start, end?}. Throws KvError (INVALID_ARGUMENT, INVALID_KEY,
 * KEY_TOO_LARGE) on anything else.
 */
export function selectorRange(selector: SelectorFields | KeySelector, maxKeyBytes: number): ByteRange {
  const s = selector as SelectorFields;
  if (typeof s !== 'object' || s === null) throw new KvError('INVALID_ARGUMENT', 'a key selector must be an object');
  const has = (field: keyof SelectorFields): boolean => s[field] !== undefined;
  if (has('key')) {
    if (has('prefix') || has('start') || has('end')) {
      throw new KvError('INVALID_ARGUMENT', 'a selector with key takes no prefix, start or end');
    }
    const key = keyBytes(s.key, maxKeyBytes);
    return { start: key, end: successor(key) };
  }
  if (has('prefix')) {
    if (has('end')) throw new KvError('INVALID_ARGUMENT', 'a selector with prefix takes no end');
    const prefix = boundBytes(s.prefix, maxKeyBytes, 'prefix');
    const end = prefixEnd(prefix);
    if (!has('start')) return { start: prefix, end };
    const start = boundBytes(s.start, maxKeyBytes, 'start');
    if (compareBytes(start, prefix) < 0 || (end !== null && compareBytes(start, end) >= 0)) {
      throw new KvError('INVALID_ARGUMENT', 'start must lie inside the prefix');
    }
    return { start, end };
  }
  if (has('start')) {
    const start = boundBytes(s.start, maxKeyBytes, 'start');
    const end = has('end') ? boundBytes(s.end, maxKeyBytes, 'end') : null;
    if (end !== null && end.length === 0) throw new KvError('INVALID_ARGUMENT', 'end must not be empty');
    return { start, end };
  }
  throw new KvError('INVALID_ARGUMENT', 'a key selector needs key, prefix or start');
}

export function inRange(key: Uint8Array, range: ByteRange): boolean {
  return compareBytes(key, range.start) >= 0 && (range.end === null || compareBytes(key, range.end) < 0);
}
