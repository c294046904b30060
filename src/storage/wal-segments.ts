import { closeSync, openSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { StorageError } from './errors.js';
import { datasync, fsyncDirectory, writeFully } from './fs-util.js';

/**
 * Segment files of the write-ahead log: `wal/<seq as 16 hex digits>.wal`. Each starts with a header
 *
 *   magic "CAIRNWAL" | format version u32 | segment seq u53 | first batch seq u53 | salt u32 | header crc32 u32
 *
 * The salt (random per segment) seeds every record CRC in the segment, so bytes copied from elsewhere (another
 * segment, or a user's entry data that happens to look like a record) never pass as a record.
 */
export const SEGMENT_HEADER_BYTES = 36;
export const WAL_FORMAT_VERSION = 1;
const MAGIC = Buffer.from('CAIRNWAL', 'latin1');
const NAME_PATTERN = /^[0-9a-f]{16}\.wal$/;

export interface SegmentHeader {
  readonly seq: number;
  readonly firstBatchSeq: number;
  readonly salt: number;
}

export function segmentFileName(seq: number): string {
  return `${seq.toString(16).padStart(16, '0')}.wal`;
}

/** Sequence numbers of the segment files in `dir`, ascending. */
export function listSegments(dir: string): number[] {
  return readdirSync(dir)
    .filter((name) => NAME_PATTERN.test(name))
    .map((name) => Number.parseInt(name.slice(0, 16), 16))
    .sort((a, b) => a - b);
}

export function encodeSegmentHeader(header: SegmentHeader): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  MAGIC.copy(buf, 0);
  buf.writeUInt32LE(WAL_FORMAT_VERSION, 8);
  writeU53(buf, 12, header.seq);
  writeU53(buf, 20, header.firstBatchSeq);
  buf.writeUInt32LE(header.salt >>> 0, 28);
  buf.writeUInt32LE(crc32(buf.subarray(0, 32)), 32);
  return buf;
}

/** Parses a header; undefined when it is absent or damaged (the caller decides whether that is a torn creation). */
export function decodeSegmentHeader(buf: Buffer): SegmentHeader | undefined {
  if (buf.length < SEGMENT_HEADER_BYTES || !buf.subarray(0, 8).equals(MAGIC)) return undefined;
  if (crc32(buf.subarray(0, 32)) !== buf.readUInt32LE(32)) return undefined;
  const version = buf.readUInt32LE(8);
  if (version !== WAL_FORMAT_VERSION) {
    throw new StorageError('INCOMPATIBLE_FORMAT', `log segment has format version ${version}, expected 1`);
  }
  return { seq: readU53(buf, 12), firstBatchSeq: readU53(buf, 20), salt: buf.readUInt32LE(28) };
}

/**
 * Creates a segment and makes it durable (header synced, directory synced) before any batch goes into it, so a
 * crash can leave at worst a header-only file, which recovery removes.
 */
export async function createSegment(dir: string, header: SegmentHeader): Promise<number> {
  const fd = openSync(join(dir, segmentFileName(header.seq)), 'wx+');
  try {
    await writeFully(fd, encodeSegmentHeader(header), 0);
    await datasync(fd);
    await fsyncDirectory(dir);
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  return fd;
}

function writeU53(buf: Buffer, at: number, v: number): void {
  buf.writeUInt32LE(v >>> 0, at);
  buf.writeUInt32LE(Math.floor(v / 0x1_0000_0000), at + 4);
}

function readU53(buf: Buffer, at: number): number {
  return buf.readUInt32LE(at + 4) * 0x1_0000_0000 + buf.readUInt32LE(at);
}
