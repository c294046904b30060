/** Byte helpers shared by the key layout, the record formats and the snapshot framing. */

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

export const EMPTY_BYTES: Uint8Array = new Uint8Array(0);

/** Up to this many UTF-16 units, an ASCII string is copied byte by byte (TextEncoder has a fixed cost of ~0.4 µs). */
const ASCII_FAST_PATH_MAX = 64;

export function utf8(text: string): Uint8Array {
  const n = text.length;
  if (n > ASCII_FAST_PATH_MAX) return encoder.encode(text);
  // Keys are mostly short ASCII, where UTF-8 is the character codes themselves: 6x faster than TextEncoder here.
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c > 0x7f) return encoder.encode(text);
    out[i] = c;
  }
  return out;
}

/** Decodes UTF-8; throws TypeError on malformed input (keys written by this module are always well formed). */
export function fromUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** A plain Uint8Array view (not a Buffer) over the same memory, so callers see one type everywhere. */
export function plain(bytes: Uint8Array): Uint8Array {
  return bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Unsigned lexicographic byte order (memcmp, then length): the order LMDB uses for binary keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && compareBytes(a, b) === 0;
}

export function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

/** The smallest byte string greater than every string starting with `prefix`; null when there is none (all 0xff). */
export function prefixEnd(prefix: Uint8Array): Uint8Array | null {
  for (let i = prefix.length - 1; i >= 0; i--) {
    if (prefix[i]! < 0xff) {
      const end = prefix.slice(0, i + 1);
      end[i] = prefix[i]! + 1;
      return end;
    }
  }
  return null;
}

/** The immediate successor of `bytes` in byte order: `bytes` followed by a zero byte. */
export function successor(bytes: Uint8Array): Uint8Array {
  const next = new Uint8Array(bytes.length + 1);
  next.set(bytes);
  return next;
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const p of parts) length += p.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

const TWO_32 = 0x1_0000_0000;

/** Writes a non-negative safe integer as 8 bytes big-endian (so byte order equals numeric order). */
export function writeUint53(view: DataView, offset: number, value: number): void {
  view.setUint32(offset, Math.floor(value / TWO_32));
  view.setUint32(offset + 4, value >>> 0);
}

export function readUint53(view: DataView, offset: number): number {
  return view.getUint32(offset) * TWO_32 + view.getUint32(offset + 4);
}

export function uint53Bytes(value: number): Uint8Array {
  const out = new Uint8Array(8);
  writeUint53(new DataView(out.buffer), 0, value);
  return out;
}

export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Appends fields to a growing buffer; used for the canonical and on-disk binary formats. */
export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  constructor(initialCapacity = 256) {
    this.buffer = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buffer.buffer);
  }

  private reserve(extra: number): void {
    const needed = this.length + extra;
    if (needed <= this.buffer.length) return;
    let capacity = this.buffer.length * 2;
    while (capacity < needed) capacity *= 2;
    const next = new Uint8Array(capacity);
    next.set(this.buffer.subarray(0, this.length));
    this.buffer = next;
    this.view = new DataView(next.buffer);
  }

  u8(value: number): this {
    this.reserve(1);
    this.buffer[this.length++] = value;
    return this;
  }

  u32(value: number): this {
    this.reserve(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
    return this;
  }

  u53(value: number): this {
    this.reserve(8);
    writeUint53(this.view, this.length, value);
    this.length += 8;
    return this;
  }

  raw(bytes: Uint8Array): this {
    this.reserve(bytes.length);
    this.buffer.set(bytes, this.length);
    this.length += bytes.length;
    return this;
  }

  /** A u32 length followed by the bytes. */
  bytes(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes);
  }

  finish(): Uint8Array {
    return this.buffer.slice(0, this.length);
  }
}

/** Reads what ByteWriter wrote; throws RangeError past the end (callers turn that into a format error). */
export class ByteReader {
  private readonly view: DataView;
  private offset = 0;

  constructor(private readonly source: Uint8Array) {
    this.view = viewOf(source);
  }

  get remaining(): number {
    return this.source.length - this.offset;
  }

  private need(n: number): void {
    if (this.offset + n > this.source.length) throw new RangeError('truncated record');
  }

  u8(): number {
    this.need(1);
    return this.source[this.offset++]!;
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.offset);
    this.offset += 4;
    return v;
  }

  u53(): number {
    this.need(8);
    const v = readUint53(this.view, this.offset);
    this.offset += 8;
    return v;
  }

  raw(length: number): Uint8Array {
    this.need(length);
    const out = this.source.subarray(this.offset, this.offset + length);
    this.offset += length;
    return plain(out);
  }

  bytes(): Uint8Array {
    return this.raw(this.u32());
  }
}
