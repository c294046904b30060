import { closeSync, fdatasyncSync, ftruncateSync, openSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { StorageError } from './errors.js';
import { decodeRecord, isCommitFrameAt, RecordType, readFrame, type WalRecord } from './wal-records.js';
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
 * That tail is discarded (the file is truncated and synced). Damage anywhere else, or damage followed by an
 * intact commit, is not an unfinished tail but lost data: recovery stops with CORRUPTED.
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
    let size = buf.length;
    if (scan.validEnd < buf.length) {
      if (!isLast || scan.commitAfterDamage) {
        throw new StorageError(
          'CORRUPTED',
          `log segment ${segmentFileName(seq)} is damaged at byte ${scan.validEnd} (${scan.damage}) with intact data after it`,
        );
      }
      discardedTailBytes += buf.length - scan.validEnd;
      truncateFile(path, scan.validEnd);
      size = scan.validEnd;
    }
    segments.push({ ...header, size });
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
    const frame = readFrame(buf, pos, buf.length, header.salt);
    if (!frame.ok) {
      return {
        validEnd,
        nextBatchSeq,
        damage: frame.reason === 'checksum' ? 'checksum mismatch' : 'record runs past the end',
        commitAfterDamage: hasCommitAfter(buf, pos + 1, header.salt),
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

/** Byte-by-byte search for an intact COMMIT record (cheap filters first; runs only on a damaged segment). */
function hasCommitAfter(buf: Buffer, from: number, salt: number): boolean {
  for (let p = from; p < buf.length; p++) {
    if (buf[p + 8] === RecordType.commit && isCommitFrameAt(buf, p, buf.length, salt)) return true;
  }
  return false;
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
