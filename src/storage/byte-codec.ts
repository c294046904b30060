import { StorageError } from './errors.js';

/**
 * Little-endian writer over one fresh Buffer. Integers up to 2^53 (indexes, terms, offsets) are written as two
 * 32-bit halves: exact for every safe integer, and cheaper than BigInt.
 */
export class ByteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialBytes: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initialBytes));
  }

  get length(): number {
    return this.pos;
  }

  /** The bytes written so far (a view, not a copy). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /** Reserves `n` bytes and returns their offset, growing the buffer when needed. */
  reserve(n: number): number {
    const at = this.pos;
    const need = at + n;
    if (need > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(grown, 0, 0, at);
      this.buf = grown;
    }
    this.pos = need;
    return at;
  }

  /** Direct access for in-place patches (checksums written after the bytes they cover). */
  get buffer(): Buffer {
    return this.buf;
  }

  // Each writer reserves first, then reads `this.buf`: reserve() may replace the buffer.
  u8(v: number): void {
    const at = this.reserve(1);
    this.buf[at] = v;
  }

  u16(v: number): void {
    const at = this.reserve(2);
    this.buf.writeUInt16LE(v, at);
  }

  u32(v: number): void {
    const at = this.reserve(4);
    this.buf.writeUInt32LE(v >>> 0, at);
  }

  u53(v: number): void {
    const at = this.reserve(8);
    this.buf.writeUInt32LE(v >>> 0, at);
    this.buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), at + 4);
  }

  raw(data: Uint8Array): void {
    const at = this.reserve(data.length);
    this.buf.set(data, at);
  }

  /** A UTF-8 string prefixed by its byte length (u16). */
  str16(s: string): void {
    const len = Buffer.byteLength(s, 'utf8');
    this.u16(len);
    const at = this.reserve(len);
    this.buf.write(s, at, 'utf8');
  }

  /** Bytes prefixed by their length (u32). */
  bytes32(data: Uint8Array): void {
    this.u32(data.length);
    this.raw(data);
  }
}

/** Bounds-checked reader; running past the end means the (checksummed) record is malformed: CORRUPTED. */
export class ByteReader {
  pos: number;

  constructor(
    private readonly buf: Buffer,
    start: number,
    private readonly end: number,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  private take(n: number): number {
    const at = this.pos;
    if (at + n > this.end) throw new StorageError('CORRUPTED', 'record is shorter than its contents');
    this.pos = at + n;
    return at;
  }

  u8(): number {
    return this.buf[this.take(1)]!;
  }

  u16(): number {
    return this.buf.readUInt16LE(this.take(2));
  }

  u32(): number {
    return this.buf.readUInt32LE(this.take(4));
  }

  u53(): number {
    const at = this.take(8);
    const hi = this.buf.readUInt32LE(at + 4);
    if (hi > 0x1f_ffff) throw new StorageError('CORRUPTED', 'integer field is out of range');
    return hi * 0x1_0000_0000 + this.buf.readUInt32LE(at);
  }

  /** A view of the next `n` bytes (not a copy). */
  raw(n: number): Buffer {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }

  str16(): string {
    const len = this.u16();
    return this.raw(len).toString('utf8');
  }

  bytes32(): Buffer {
    return this.raw(this.u32());
  }

  /** Asserts the record was consumed exactly: trailing bytes mean a format mismatch. */
  done(): void {
    if (this.pos !== this.end) throw new StorageError('CORRUPTED', 'record has unexpected trailing bytes');
  }
}
