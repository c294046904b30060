import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from './errors.js';
import {
  decodeRecord,
  isCommitFrameAt,
  RECORD_HEADER_BYTES,
  RecordType,
  readFrame,
  type WalRecord,
} from './wal-records.js';
import {
  decodeSegmentHeader,
  listSegments,
  SEGMENT_HEADER_BYTES,
  type SegmentHeader,
  segmentFileName,
} from './wal-segments.js';

export interface RecoveredSegment extends SegmentHeader {
  /** Bytes of the file that hold whole commits (the torn tail, if any, was cut off). */
  readonly size: number;
  /** The file's length: `size` plus the zeros preallocated after the data. */
  readonly fileBytes: number;
}

export interface WalRecovery {
  /** Segments left after recovery, oldest first (may be empty: a brand-new directory). */
  readonly segments: readonly RecoveredSegment[];
  /** Sequence number the next commit must take. */
  readonly nextBatchSeq: number;
  /** Bytes of an unfinished last commit that were discarded (0 after a clean shutdown). */
  readonly discardedTailBytes: number;
}

/**
 * Replays the write-ahead log: calls `apply` for every record of every complete commit, in order.
 *
 * The writer issues one commit at a time and syncs it before writing the next, so after a crash only the last
 * commit of the last segment can be incomplete: a torn write, a partial batch, or a header-only new segment.
 * That tail is discarded (the file is truncated and synced). Zeros after the last commit are space the writer
 * preallocated, not a tail: they are kept. Damage anywhere else, or damage followed by an intact commit, is not
 * an unfinished tail but lost data: recovery stops with CORRUPTED — with one exception, the torn write into
 * preallocated space: there the pages of the unfinished commit can reach the disk in any order, so its own
 * COMMIT record may be intact while an earlier page still reads as zeros. Damage followed only by the COMMIT of
 * the unfinished batch, with an all-zero sector between, is that case (see tornWriteIntoZeros).
 */
export function recoverWal(dir: string, apply: (record: WalRecord, segment: number) => void): WalRecovery {
  const seqs = listSegments(dir);
  const segments: RecoveredSegment[] = [];
  let nextBatchSeq = 1;
  let discardedTailBytes = 0;
  for (let i = 0; i < seqs.length; i++) {
    const seq = seqs[i]!;
    const isLast = i === seqs.length - 1;
    const path = join(dir, segmentFileName(seq));
    const buf = readFileSync(path);
    const header = decodeSegmentHeader(buf);
    if (header === undefined) {
      // Only the newest segment can be caught mid-creation, and then nothing was ever written after its header.
      if (isLast && buf.length <= SEGMENT_HEADER_BYTES) {
        discardedTailBytes += buf.length;
        unlinkSync(path);
        continue;
      }
      throw new StorageError('CORRUPTED', `log segment ${segmentFileName(seq)} has a damaged header`);
    }
    if (header.seq !== seq) {
      throw new StorageError('CORRUPTED', `log segment ${segmentFileName(seq)} says it is segment ${header.seq}`);
    }
    const previous = segments[segments.length - 1];
    if (previous !== undefined && seq !== previous.seq + 1) {
      throw new StorageError('CORRUPTED', `log segment ${segmentFileName(previous.seq + 1)} is missing`);
    }
    if (previous !== undefined && header.firstBatchSeq !== nextBatchSeq) {
      throw new StorageError('CORRUPTED', `log segment ${segmentFileName(seq)} does not continue the previous one`);
    }
    nextBatchSeq = header.firstBatchSeq;
    const scan = scanSegment(buf, header, nextBatchSeq, (record) => apply(record, seq));
    nextBatchSeq = scan.nextBatchSeq;
    let fileBytes = buf.length;
    const dataEnd = endOfNonZero(buf, scan.validEnd);
    if (dataEnd > scan.validEnd) {
      if (!isLast || scan.commitAfterDamage) {
        throw new StorageError(
          'CORRUPTED',
          `log segment ${segmentFileName(seq)} is damaged at byte ${scan.validEnd} (${scan.damage}) with intact data after it`,
        );
      }
      // Cut rather than zeroed: the discarded frames carry this segment's salt, and left behind a shorter new
      // commit they would read as records again.
      discardedTailBytes += dataEnd - scan.validEnd;
      truncateFile(path, scan.validEnd);
      fileBytes = scan.validEnd;
    }
    segments.push({ ...header, size: scan.validEnd, fileBytes });
  }
  return { segments, nextBatchSeq, discardedTailBytes };
}

interface SegmentScan {
  /** End of the last complete commit. */
  readonly validEnd: number;
  readonly nextBatchSeq: number;
  /** What stopped the scan before the end of the file. */
  readonly damage: string;
  /** An intact COMMIT record exists after the damaged spot. */
  readonly commitAfterDamage: boolean;
}

function scanSegment(
  buf: Buffer,
  header: SegmentHeader,
  firstBatchSeq: number,
  apply: (record: WalRecord) => void,
): SegmentScan {
  let pos = SEGMENT_HEADER_BYTES;
  let validEnd = pos;
  let nextBatchSeq = firstBatchSeq;
  let pending: WalRecord[] = [];
  while (pos < buf.length) {
    if (isZeroHeader(buf, pos)) {
      // Preallocated space (or a page of an unfinished commit that never reached the disk).
      return {
        validEnd,
        nextBatchSeq,
        damage: 'zeros',
        commitAfterDamage: hasCommitAfter(buf, pos + 1, validEnd, header.salt, nextBatchSeq),
      };
    }
    const frame = readFrame(buf, pos, buf.length, header.salt);
    if (!frame.ok) {
      return {
        validEnd,
        nextBatchSeq,
        damage: frame.reason === 'checksum' ? 'checksum mismatch' : 'record runs past the end',
        commitAfterDamage: hasCommitAfter(buf, pos + 1, validEnd, header.salt, nextBatchSeq),
      };
    }
    const record = decodeRecord(buf, frame.type, frame.bodyStart, frame.end);
    pos = frame.end;
    if (record.type !== RecordType.commit) {
      pending.push(record);
      continue;
    }
    if (record.batchSeq !== nextBatchSeq || record.recordCount !== pending.length) {
      throw new StorageError(
        'CORRUPTED',
        `commit ${record.batchSeq} (${record.recordCount} records) found where commit ${nextBatchSeq} (${pending.length} records) was expected`,
      );
    }
    for (const r of pending) apply(r);
    pending = [];
    nextBatchSeq++;
    validEnd = pos;
  }
  return { validEnd, nextBatchSeq, damage: 'unfinished commit', commitAfterDamage: false };
}

/**
 * Byte-by-byte search for an intact COMMIT record after damage (cheap filters first; runs only on a damaged
 * segment), other than the unfinished batch's own COMMIT after a torn write into zeros.
 */
function hasCommitAfter(
  buf: Buffer,
  from: number,
  validEnd: number,
  salt: number,
  unfinishedBatchSeq: number,
): boolean {
  for (let p = from; p < buf.length; p++) {
    if (buf[p + 8] !== RecordType.commit || !isCommitFrameAt(buf, p, buf.length, salt)) continue;
    const frame = readFrame(buf, p, buf.length, salt);
    if (!frame.ok) continue;
    const commit = decodeRecord(buf, frame.type, frame.bodyStart, frame.end);
    if (
      commit.type !== RecordType.commit ||
      !tornWriteIntoZeros(buf, validEnd, p, commit.batchSeq, unfinishedBatchSeq)
    ) {
      return true;
    }
  }
  return false;
}

/** Sector size the torn-write rule assumes a disk writes atomically. */
const SECTOR_BYTES = 512;

/**
 * True when an intact COMMIT at `commitAt` can close a commit torn on its way into preallocated space: it is the
 * COMMIT of the unfinished batch itself (a later batch is only written once this one is durable), and a whole
 * sector before it, after the last complete commit, still reads as zeros (a page that never reached the disk).
 * A flipped bit in a durable commit leaves no zero sector, so it stays CORRUPTED. Like etcd's WAL, this cannot
 * tell a torn write from a durable last commit whose sector the disk later returned as zeros.
 */
function tornWriteIntoZeros(
  buf: Buffer,
  validEnd: number,
  commitAt: number,
  batchSeq: number,
  unfinishedBatchSeq: number,
): boolean {
  if (batchSeq !== unfinishedBatchSeq) return false;
  for (let s = Math.ceil(validEnd / SECTOR_BYTES) * SECTOR_BYTES; s + SECTOR_BYTES <= commitAt; s += SECTOR_BYTES) {
    if (endOfNonZero(buf, s, s + SECTOR_BYTES) === s) return true;
  }
  return false;
}

function isZeroHeader(buf: Buffer, pos: number): boolean {
  return endOfNonZero(buf, pos, Math.min(buf.length, pos + RECORD_HEADER_BYTES)) === pos;
}

/** The offset after the last non-zero byte in [from, to) (`from` when there is none). */
function endOfNonZero(buf: Buffer, from: number, to = buf.length): number {
  let end = to;
  while (end > from && buf[end - 1] === 0) end--;
  return end;
}

function truncateFile(path: string, size: number): void {
  const fd = openSync(path, 'r+');
  try {
    ftruncateSync(fd, size);
    fdatasyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
