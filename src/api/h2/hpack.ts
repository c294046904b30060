/**
 * HPACK (RFC 7541) for the HTTP/2 server: a decoder for request header blocks and a stateless encoder for
 * response header blocks.
 *
 * Decoder errors. Every malformed block throws HpackError (code COMPRESSION_ERROR). After one, the decoder's
 * dynamic table no longer matches the peer's encoder, so the error is a connection error (RFC 9113 §4.3: GOAWAY
 * with COMPRESSION_ERROR) and the decoder refuses further blocks. The one exception is a header list over
 * maxHeaderListBytes: the block is still decoded to its end (table updates applied, fields dropped), so the error
 * has `decoderUsable: true` and the caller may reset just that stream (e.g. 431) and keep the connection.
 *
 * Encoder. Responses use only static-table references and literals without indexing, never Huffman and never the
 * dynamic table, so the peer's SETTINGS_HEADER_TABLE_SIZE never matters and no encoder state exists.
 */
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES, HUFFMAN_EOS, STATIC_TABLE } from './hpack-tables.js';

export class HpackError extends Error {
  readonly code = 'COMPRESSION_ERROR';
  /** True only when the dynamic table is still in step with the peer (header list too large). */
  readonly decoderUsable: boolean;

  constructor(message: string, decoderUsable = false) {
    super(`HPACK: ${message}`);
    this.name = 'HpackError';
    this.decoderUsable = decoderUsable;
  }
}

export interface HpackDecoderOptions {
  /** The SETTINGS_HEADER_TABLE_SIZE we advertise: the largest dynamic table the peer may ask for. Default 4096. */
  maxTableBytes?: number;
  /** Limit on the sum of name + value + 32 over a block's fields (SETTINGS_MAX_HEADER_LIST_SIZE). Default 16384. */
  maxHeaderListBytes?: number;
}

/** Per-entry overhead of the dynamic table and of header list sizes (RFC 7541 §4.1, RFC 9113 §6.5.2). */
const ENTRY_OVERHEAD = 32;
const STATIC_COUNT = STATIC_TABLE.length;
// Indexed from 1 like the RFC, so the hot path needs no `- 1`.
const STATIC_NAMES: readonly string[] = ['', ...STATIC_TABLE.map(([name]) => name)];
const STATIC_VALUES: readonly string[] = ['', ...STATIC_TABLE.map(([, value]) => value)];
/** Largest integer accepted on the wire: indexes, lengths and sizes are far below this in any sane block. */
const MAX_INTEGER = 0x7fffffff;
/** Values below 2^31 need at most 5 continuation octets of 7 bits; a sixth is never needed. */
const MAX_CONTINUATION_OCTETS = 5;

// ---- Huffman decoding ----------------------------------------------------------------------------------------------
//
// A state is an internal node of the code tree (256 of them; 0 is the root) or DEAD (EOS seen). The byte table
// maps (state, next input octet) to the state after those 8 bits and the 0-2 symbols they complete (no code is
// shorter than 5 bits, so 8 bits complete at most two). Entry layout: bits 0-8 next state, bits 9-10 symbol count,
// bits 11-18 first symbol, bits 19-26 second. A string is valid if it ends in an accepting state: the root, or a
// node reached from the last symbol boundary by at most 7 one-bits (the EOS prefix, RFC 7541 §5.2). DEAD accepts
// nothing and never leaves, so the loop needs no per-octet error check.
//
// The table (257 x 256 entries, 257 KiB) is built on first use, from a nibble-level walk of the code tree, so that
// merely importing this module costs nothing.

const HUFFMAN_DEAD = 256;
let huffmanByteTable: Uint32Array | undefined;
const huffmanAccepts = new Uint8Array(HUFFMAN_DEAD + 1);

function buildHuffmanByteTable(): Uint32Array {
  const LEAF = 0x10000;
  const children = new Int32Array(HUFFMAN_DEAD * 2).fill(-1);
  // Length of the all-ones path from the root to each node, or -1 if the path has a zero.
  const onesDepth = new Int32Array(HUFFMAN_DEAD).fill(-1);
  onesDepth[0] = 0;
  let nodes = 1;
  for (let symbol = 0; symbol <= HUFFMAN_EOS; symbol++) {
    const code = HUFFMAN_CODES[symbol]!;
    const length = HUFFMAN_CODE_LENGTHS[symbol]!;
    let node = 0;
    for (let bit = length - 1; bit > 0; bit--) {
      const b = (code >>> bit) & 1;
      const slot = node * 2 + b;
      if (children[slot] === -1) {
        if (nodes >= HUFFMAN_DEAD) throw new Error('HPACK Huffman table is not a prefix code');
        children[slot] = nodes;
        onesDepth[nodes] = b === 1 && onesDepth[node]! >= 0 ? onesDepth[node]! + 1 : -1;
        nodes++;
      }
      node = children[slot]!;
    }
    children[node * 2 + (code & 1)] = LEAF | symbol;
  }
  if (nodes !== HUFFMAN_DEAD || children.includes(-1)) throw new Error('HPACK Huffman table is not a complete code');
  for (let state = 0; state < HUFFMAN_DEAD; state++) {
    huffmanAccepts[state] = onesDepth[state]! >= 0 && onesDepth[state]! <= 7 ? 1 : 0;
  }

  // Nibble level first: next state in bits 0-8, bit 9 set if a symbol completes, the symbol in bits 10-17.
  const NIBBLE_EMIT = 1 << 9;
  const nibbles = new Uint32Array((HUFFMAN_DEAD + 1) * 16).fill(HUFFMAN_DEAD);
  for (let state = 0; state < HUFFMAN_DEAD; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let bit = 3; bit >= 0; bit--) {
        const child = children[node * 2 + ((nibble >>> bit) & 1)]!;
        if (child < LEAF) {
          node = child;
        } else if ((child & 0x1ff) === HUFFMAN_EOS) {
          node = HUFFMAN_DEAD;
          entry = 0;
          break;
        } else {
          entry = NIBBLE_EMIT | ((child & 0xff) << 10);
          node = 0;
        }
      }
      nibbles[state * 16 + nibble] = entry | node;
    }
  }

  const table = new Uint32Array((HUFFMAN_DEAD + 1) * 256);
  for (let state = 0; state <= HUFFMAN_DEAD; state++) {
    for (let octet = 0; octet < 256; octet++) {
      const high = nibbles[state * 16 + (octet >>> 4)]!;
      const low = nibbles[(high & 0x1ff) * 16 + (octet & 0x0f)]!;
      let count = 0;
      let symbols = 0;
      if (high & NIBBLE_EMIT) symbols |= (high >>> 10) << (8 * count++);
      if (low & NIBBLE_EMIT) symbols |= (low >>> 10) << (8 * count++);
      table[state * 256 + octet] = (low & 0x1ff) | (count << 9) | (symbols << 11);
    }
  }
  return table;
}

// Decoded Huffman text goes here first; shared by all decoders (decoding is synchronous).
let huffmanScratch = Buffer.allocUnsafe(1024);

function huffmanDecode(src: Buffer, start: number, end: number): string {
  let table = huffmanByteTable;
  if (table === undefined) {
    table = buildHuffmanByteTable();
    huffmanByteTable = table;
  }
  // Every code has at least 5 bits; +2 because the loop writes both symbol slots before knowing how many are real.
  const maxOut = Math.floor(((end - start) * 8) / 5) + 2;
  if (huffmanScratch.length < maxOut) huffmanScratch = Buffer.allocUnsafe(Math.max(maxOut, huffmanScratch.length * 2));
  const out = huffmanScratch;
  let n = 0;
  let state = 0;
  for (let i = start; i < end; i++) {
    const entry = table[(state << 8) | src[i]!]!;
    // Uint8 stores keep the low 8 bits, i.e. exactly the symbol.
    out[n] = entry >>> 11;
    out[n + 1] = entry >>> 19;
    n += (entry >>> 9) & 3;
    state = entry & 0x1ff;
  }
  if (huffmanAccepts[state] === 0) {
    throw new HpackError(
      state === HUFFMAN_DEAD
        ? 'Huffman string contains the EOS symbol'
        : 'Huffman string padding is longer than 7 bits or not all ones',
    );
  }
  return latin1(out, 0, n);
}

// Buffer#latin1Slice skips toString's encoding dispatch; it has existed since Node 0.x but is not in the typings.
interface Latin1Slicer {
  latin1Slice(start: number, end: number): string;
}
const HAS_LATIN1_SLICE = typeof (Buffer.prototype as unknown as Partial<Latin1Slicer>).latin1Slice === 'function';

function latin1(buf: Buffer, start: number, end: number): string {
  return HAS_LATIN1_SLICE
    ? (buf as unknown as Latin1Slicer).latin1Slice(start, end)
    : buf.toString('latin1', start, end);
}

// ---- integers and strings ------------------------------------------------------------------------------------------

// Where the last readInteger/readString stopped: a module variable rather than a returned pair, to avoid allocating.
let cursor = 0;

/** Reads an integer whose prefix is the low bits of buf[pos] (prefixMask = 2^N - 1); sets cursor past it. */
function readInteger(buf: Buffer, pos: number, end: number, prefixMask: number): number {
  let value = buf[pos]! & prefixMask;
  pos++;
  if (value < prefixMask) {
    cursor = pos;
    return value;
  }
  let multiplier = 1;
  for (let octets = 0; ; octets++) {
    if (pos >= end) throw new HpackError('integer is truncated by the end of the block');
    if (octets === MAX_CONTINUATION_OCTETS) throw new HpackError('integer has too many continuation octets');
    const octet = buf[pos++]!;
    value += (octet & 0x7f) * multiplier;
    if ((octet & 0x80) === 0) break;
    multiplier *= 128;
  }
  if (value > MAX_INTEGER) throw new HpackError(`integer ${value} is out of range`);
  cursor = pos;
  return value;
}

/** Reads a string literal starting at buf[pos] (H flag + 7-bit length prefix); sets cursor past it. */
function readString(buf: Buffer, pos: number, end: number): string {
  if (pos >= end) throw new HpackError('string literal is truncated by the end of the block');
  const huffman = (buf[pos]! & 0x80) !== 0;
  const length = readInteger(buf, pos, end, 0x7f);
  const start = cursor;
  if (length > end - start) {
    throw new HpackError(`string literal of ${length} octets runs past the end of the block`);
  }
  cursor = start + length;
  if (length === 0) return '';
  return huffman ? huffmanDecode(buf, start, cursor) : latin1(buf, start, cursor);
}

// ---- decoder -------------------------------------------------------------------------------------------------------

export class HpackDecoder {
  private readonly maxTableBytes: number;
  private readonly maxHeaderListBytes: number;
  /** The dynamic table size limit in force: maxTableBytes until the peer lowers it with a size update. */
  private limit: number;
  private bytes = 0;
  // The dynamic table as a ring: entry 1 (newest) is at head - 1, entry `count` (oldest) at head - count. It starts
  // small and doubles up to maxCapacity (every entry costs at least 32 octets), so a large advertised table
  // costs memory only when the peer fills it.
  private names: string[];
  private values: string[];
  private capacity: number;
  private readonly maxCapacity: number;
  private head = 0;
  private count = 0;
  private failed = false;

  constructor(options: HpackDecoderOptions = {}) {
    const maxTableBytes = options.maxTableBytes ?? 4096;
    const maxHeaderListBytes = options.maxHeaderListBytes ?? 16384;
    if (!Number.isSafeInteger(maxTableBytes) || maxTableBytes < 0 || maxTableBytes > MAX_INTEGER) {
      throw new RangeError(`maxTableBytes must be an integer in [0, ${MAX_INTEGER}], got ${maxTableBytes}`);
    }
    if (!Number.isSafeInteger(maxHeaderListBytes) || maxHeaderListBytes < 0) {
      throw new RangeError(`maxHeaderListBytes must be a non-negative integer, got ${maxHeaderListBytes}`);
    }
    this.maxTableBytes = maxTableBytes;
    this.maxHeaderListBytes = maxHeaderListBytes;
    this.limit = maxTableBytes;
    this.maxCapacity = Math.max(1, Math.floor(maxTableBytes / ENTRY_OVERHEAD));
    this.capacity = Math.min(this.maxCapacity, 16);
    this.names = new Array<string>(this.capacity).fill('');
    this.values = new Array<string>(this.capacity).fill('');
  }

  /** Size of the dynamic table in RFC 7541 §4.1 octets. */
  get tableBytes(): number {
    return this.bytes;
  }

  /** Number of entries in the dynamic table. */
  get tableLength(): number {
    return this.count;
  }

  /**
   * Decodes one complete header block (HEADERS plus any CONTINUATION payloads, concatenated) into
   * [name0, value0, name1, value1, ...] in wire order. Names and values are latin1 strings (one char per octet).
   */
  decode(block: Uint8Array): string[] {
    if (this.failed) throw new HpackError('decoder is unusable after an earlier compression error');
    try {
      return this.decodeBlock(block);
    } catch (error) {
      if (!(error instanceof HpackError && error.decoderUsable)) this.failed = true;
      throw error;
    }
  }

  private decodeBlock(block: Uint8Array): string[] {
    const buf = Buffer.isBuffer(block) ? block : Buffer.from(block.buffer, block.byteOffset, block.byteLength);
    const end = buf.length;
    const fields: string[] = [];
    const maxList = this.maxHeaderListBytes;
    let listBytes = 0;
    let pos = 0;
    while (pos < end) {
      const first = buf[pos]!;
      let name: string;
      let value: string;
      if (first >= 0x80) {
        // Indexed field (§6.1).
        let index = first & 0x7f;
        if (index === 0x7f) {
          index = readInteger(buf, pos, end, 0x7f);
          pos = cursor;
        } else {
          pos++;
        }
        if (index === 0) throw new HpackError('indexed field with index 0');
        if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index]!;
          value = STATIC_VALUES[index]!;
        } else {
          const slot = this.slotOf(index);
          name = this.names[slot]!;
          value = this.values[slot]!;
        }
      } else if (first >= 0x20 && first < 0x40) {
        // Dynamic table size update (§6.3): only before the first field of a block.
        if (listBytes > 0) throw new HpackError('dynamic table size update after a header field');
        const size = readInteger(buf, pos, end, 0x1f);
        pos = cursor;
        if (size > this.maxTableBytes) {
          throw new HpackError(`dynamic table size update to ${size} exceeds the advertised ${this.maxTableBytes}`);
        }
        this.limit = size;
        while (this.bytes > size) this.evictOldest();
        continue;
      } else {
        // Literal field (§6.2): with incremental indexing (01xxxxxx, 6-bit index), or without indexing
        // (0000xxxx) / never indexed (0001xxxx), both with a 4-bit index. Index 0 means a literal name.
        const indexing = first >= 0x40;
        const index = readInteger(buf, pos, end, indexing ? 0x3f : 0x0f);
        pos = cursor;
        if (index === 0) {
          name = readString(buf, pos, end);
          pos = cursor;
        } else if (index <= STATIC_COUNT) {
          name = STATIC_NAMES[index]!;
        } else {
          name = this.names[this.slotOf(index)]!;
        }
        value = readString(buf, pos, end);
        pos = cursor;
        if (indexing) this.insert(name, value);
      }
      listBytes += name.length + value.length + ENTRY_OVERHEAD;
      // Past the limit, keep decoding (so the table stays in step) but stop collecting fields.
      if (listBytes <= maxList) fields.push(name, value);
    }
    if (listBytes > maxList) {
      throw new HpackError(`header list of ${listBytes} octets exceeds the limit of ${maxList}`, true);
    }
    return fields;
  }

  private slotOf(index: number): number {
    const i = index - STATIC_COUNT;
    if (i > this.count) {
      throw new HpackError(`index ${index} is beyond the static table and ${this.count} dynamic entries`);
    }
    const slot = this.head - i;
    return slot < 0 ? slot + this.capacity : slot;
  }

  private insert(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.limit) {
      // §4.4: an entry larger than the table empties it and is not added.
      while (this.count > 0) this.evictOldest();
      return;
    }
    while (this.bytes + size > this.limit) this.evictOldest();
    if (this.count === this.capacity) this.grow();
    this.names[this.head] = name;
    this.values[this.head] = value;
    this.head = this.head + 1 === this.capacity ? 0 : this.head + 1;
    this.count++;
    this.bytes += size;
  }

  /** Doubles the ring (up to maxCapacity), laying the entries out oldest first from slot 0. */
  private grow(): void {
    const capacity = Math.min(this.maxCapacity, this.capacity * 2);
    const names = new Array<string>(capacity).fill('');
    const values = new Array<string>(capacity).fill('');
    for (let i = this.count; i >= 1; i--) {
      let slot = this.head - i;
      if (slot < 0) slot += this.capacity;
      names[this.count - i] = this.names[slot]!;
      values[this.count - i] = this.values[slot]!;
    }
    this.names = names;
    this.values = values;
    this.head = this.count;
    this.capacity = capacity;
  }

  private evictOldest(): void {
    let slot = this.head - this.count;
    if (slot < 0) slot += this.capacity;
    this.bytes -= this.names[slot]!.length + this.values[slot]!.length + ENTRY_OVERHEAD;
    // Drop the references so evicted strings can be collected.
    this.names[slot] = '';
    this.values[slot] = '';
    this.count--;
  }
}

// ---- encoder -------------------------------------------------------------------------------------------------------

const STATUS_INDEX = new Map<number, number>();
/** Static-table index of each regular (not pseudo-header) name; pseudo-header names take the literal path. */
const NAME_INDEX = new Map<string, number>();
for (let i = STATIC_COUNT; i >= 1; i--) {
  const [name, value] = STATIC_TABLE[i - 1]!;
  if (name === ':status') STATUS_INDEX.set(Number(value), i);
  // Walking backwards leaves the lowest index for names listed more than once.
  if (!name.startsWith(':')) NAME_INDEX.set(name, i);
}
const STATUS_NAME_INDEX = 8;

function invalidHeader(message: string): Error {
  return Object.assign(new Error(message), { code: 'INVALID_HEADER' as const });
}

function integerLength(value: number, prefixMask: number): number {
  if (value < prefixMask) return 1;
  let n = 2;
  for (let rest = value - prefixMask; rest >= 0x80; rest = Math.floor(rest / 0x80)) n++;
  return n;
}

function writeInteger(buf: Buffer, pos: number, flags: number, prefixMask: number, value: number): number {
  if (value < prefixMask) {
    buf[pos] = flags | value;
    return pos + 1;
  }
  buf[pos++] = flags | prefixMask;
  let rest = value - prefixMask;
  while (rest >= 0x80) {
    buf[pos++] = (rest & 0x7f) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  buf[pos] = rest;
  return pos + 1;
}

/**
 * Writes a field name as octets, enforcing RFC 9113 §8.2.1: no uppercase, no controls, space, DEL or non-ASCII.
 * Names starting with ':' are refused too: the only response pseudo-header is :status, which the encoder writes.
 */
function writeName(buf: Buffer, pos: number, name: string): number {
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || (c >= 0x41 && c <= 0x5a) || c >= 0x7f || (c === 0x3a && i === 0)) {
      throw invalidHeader(`invalid response header name ${JSON.stringify(name)} (must be lowercase, no pseudo-header)`);
    }
    buf[pos++] = c;
  }
  return pos;
}

/** Writes a field value as latin1 octets; NUL, CR, LF (RFC 9113 §8.2.1) and chars above U+00FF are refused. */
function writeValue(buf: Buffer, pos: number, name: string, value: string): number {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x00 || c === 0x0a || c === 0x0d || c > 0xff) {
      throw invalidHeader(`invalid character U+${c.toString(16).padStart(4, '0')} in the value of header ${name}`);
    }
    buf[pos++] = c;
  }
  return pos;
}

/**
 * A response header block: `:status` first, then `headers` in order, each as a literal without indexing (name
 * from the static table when it is there). Names must already be lowercase. Throws an Error with code
 * INVALID_HEADER for a bad status, name or value.
 */
export function encodeResponseHeaders(status: number, headers: readonly (readonly [string, string])[]): Buffer {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw invalidHeader(`invalid response status ${status}`);
  }
  const statusIndex = STATUS_INDEX.get(status);
  // Indexed field, or literal without indexing: name index 8, then a 3-octet raw string.
  let size = statusIndex === undefined ? 5 : 1;
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    const nameIndex = NAME_INDEX.get(name);
    if (nameIndex === undefined) {
      if (name.length === 0) throw invalidHeader('empty response header name');
      size += 1 + integerLength(name.length, 0x7f) + name.length;
    } else {
      size += integerLength(nameIndex, 0x0f);
    }
    size += integerLength(value.length, 0x7f) + value.length;
  }

  const buf = Buffer.allocUnsafe(size);
  let pos: number;
  if (statusIndex === undefined) {
    buf[0] = STATUS_NAME_INDEX;
    buf[1] = 3;
    buf[2] = 0x30 + Math.floor(status / 100);
    buf[3] = 0x30 + (Math.floor(status / 10) % 10);
    buf[4] = 0x30 + (status % 10);
    pos = 5;
  } else {
    buf[0] = 0x80 | statusIndex;
    pos = 1;
  }
  for (let i = 0; i < headers.length; i++) {
    const [name, value] = headers[i]!;
    const nameIndex = NAME_INDEX.get(name);
    if (nameIndex === undefined) {
      buf[pos++] = 0x00;
      pos = writeInteger(buf, pos, 0x00, 0x7f, name.length);
      pos = writeName(buf, pos, name);
    } else {
      pos = writeInteger(buf, pos, 0x00, 0x0f, nameIndex);
    }
    pos = writeInteger(buf, pos, 0x00, 0x7f, value.length);
    pos = writeValue(buf, pos, name, value);
  }
  return buf;
}

/** Distinct (status, length) pairs kept by jsonResponseHeaderBlock; the cache starts over when it is full. */
const JSON_HEADER_BLOCKS_MAX = 4096;
const jsonHeaderBlocks = new Map<number, Buffer>();

/**
 * The header block of a JSON response: `:status`, `content-type: application/json` and `content-length` — what
 * `encodeResponseHeaders` makes of them, from a cache. The encoding uses no dynamic table, so a block depends only
 * on the status and the length, and a handful of pairs serve nearly every answer (a put's response is the same
 * size each time). Callers must not modify the returned buffer.
 */
export function jsonResponseHeaderBlock(status: number, contentLength: number): Buffer {
  const key = status * 2 ** 32 + contentLength;
  let block = jsonHeaderBlocks.get(key);
  if (block === undefined) {
    block = encodeResponseHeaders(status, [
      ['content-type', 'application/json'],
      ['content-length', String(contentLength)],
    ]);
    if (jsonHeaderBlocks.size >= JSON_HEADER_BLOCKS_MAX) jsonHeaderBlocks.clear();
    if (Number.isSafeInteger(key)) jsonHeaderBlocks.set(key, block);
  }
  return block;
}
