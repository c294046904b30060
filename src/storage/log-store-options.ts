import { StorageError } from './errors.js';

const MiB = 1024 * 1024;

export interface LogStoreOptions {
  /** The node's log store directory (created when missing). One store per directory; a lock file enforces it. */
  readonly dir: string;
  /** The active segment is closed and a new one started once it holds this many bytes. Default 64 MiB. */
  readonly segmentMaxBytes?: number;
  /**
   * The active segment's file is extended ahead of the writes by writing zeros, this many bytes at a time (synced
   * with the commit that extends it); the segment is cut back to its data when the next one starts. A commit that
   * only overwrites zeros already on disk changes no file metadata, so its fdatasync does not wait for the file
   * system's journal: on this project's test machine (ext4) one small commit's fdatasync took ~93 µs instead of
   * ~143 µs. 0 appends to the file instead. Default 4 MiB.
   */
  readonly preallocateBytes?: number;
  /**
   * When more segments than this exist, groups whose latest full state still lives in the oldest segment are
   * rewritten into the active one, so the oldest can be deleted. Default 4.
   */
  readonly checkpointSegments?: number;
  /** At most this many bytes of rewritten groups go into one commit (the rest into the next). Default 16 MiB. */
  readonly checkpointMaxBytes?: number;
  /** Byte budget, shared by all groups, for recently written entries kept in memory. Default 64 MiB. */
  readonly cacheMaxBytes?: number;
  /** Largest data of one entry. Default 4 MiB. */
  readonly maxEntryBytes?: number;
  /** Largest log bytes (entries and records) one persist() call may write. Default 64 MiB. */
  readonly maxPersistBytes?: number;
  /** Most entries one persist() call may write. Default 65,536. */
  readonly maxPersistEntries?: number;
  /**
   * Most bytes accepted but not yet durable. Past it, new writes fail with QUEUE_FULL (a call is always accepted
   * when nothing is pending). Snapshot data is not counted (each is bounded by maxSnapshotBytes). Default 256 MiB.
   */
  readonly maxPendingBytes?: number;
  /** Largest snapshot data. Default 1 GiB. */
  readonly maxSnapshotBytes?: number;
  /** Largest value of one metadata record (keys are 1..256 UTF-8 bytes). Default 64 KiB. */
  readonly maxMetaValueBytes?: number;
  /**
   * A commit of at most this many bytes is synced on the calling thread (`fdatasync` blocks the event loop) instead
   * of on libuv's thread pool, while the disk is fast (see syncInlineMaxMs). A small commit means a lightly loaded
   * node with nothing to do while its disk syncs, and the pool's round trip costs two thread wake-ups: at one write
   * in flight, ~10 % of the cluster's CPU per write (docs/performance.md). Under load commits group many writes and
   * go to the pool, so the event loop keeps parsing requests and acknowledgements during the sync. A commit that
   * also extends the segment's preallocated zeros always goes to the pool. 0 = never inline. Default 4,096.
   */
  readonly syncInlineMaxBytes?: number;
  /**
   * Small commits are synced inline only while the previous sync took at most this long, so a slow or sick disk
   * stalls the event loop for one sync, not for every one. Default 2 ms.
   */
  readonly syncInlineMaxMs?: number;
  /**
   * Called after every durable commit with the time the sync took (fdatasync, plus testSyncDelayMs), the records
   * and the bytes it made durable, and whether it was synced on the calling thread (syncInlineMaxBytes). For
   * metrics and the health monitor's fsync latency. Default: none.
   */
  readonly onSync?: (durationMs: number, records: number, bytes: number, inline: boolean) => void;
  /**
   * TEST ONLY: waits this long after every sync before treating the commit as durable, to simulate a slow disk
   * (torture and health tests). Never set it in production. Default 0.
   */
  readonly testSyncDelayMs?: number;
  /** Monotonic clock in milliseconds, used to time syncs. Default performance.now. */
  readonly clock?: () => number;
}

export type ResolvedLogStoreOptions = Required<Omit<LogStoreOptions, 'onSync'>> & Pick<LogStoreOptions, 'onSync'>;

export function resolveLogStoreOptions(options: LogStoreOptions): ResolvedLogStoreOptions {
  if (typeof options?.dir !== 'string' || options.dir.length === 0) {
    throw new StorageError('INVALID_ARGUMENT', 'the log store needs a directory (options.dir)');
  }
  const resolved: ResolvedLogStoreOptions = {
    dir: options.dir,
    segmentMaxBytes: options.segmentMaxBytes ?? 64 * MiB,
    preallocateBytes: options.preallocateBytes ?? 4 * MiB,
    checkpointSegments: options.checkpointSegments ?? 4,
    checkpointMaxBytes: options.checkpointMaxBytes ?? 16 * MiB,
    cacheMaxBytes: options.cacheMaxBytes ?? 64 * MiB,
    maxEntryBytes: options.maxEntryBytes ?? 4 * MiB,
    maxPersistBytes: options.maxPersistBytes ?? 64 * MiB,
    maxPersistEntries: options.maxPersistEntries ?? 65_536,
    maxPendingBytes: options.maxPendingBytes ?? 256 * MiB,
    maxSnapshotBytes: options.maxSnapshotBytes ?? 1024 * MiB,
    maxMetaValueBytes: options.maxMetaValueBytes ?? 64 * 1024,
    syncInlineMaxBytes: options.syncInlineMaxBytes ?? 4096,
    syncInlineMaxMs: options.syncInlineMaxMs ?? 2,
    onSync: options.onSync,
    testSyncDelayMs: options.testSyncDelayMs ?? 0,
    clock: options.clock ?? (() => performance.now()),
  };
  requireInteger('segmentMaxBytes', resolved.segmentMaxBytes, 1024, 1024 * MiB);
  requireInteger('preallocateBytes', resolved.preallocateBytes, 0, 1024 * MiB);
  requireInteger('checkpointSegments', resolved.checkpointSegments, 2, 1_000_000);
  requireInteger('checkpointMaxBytes', resolved.checkpointMaxBytes, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('cacheMaxBytes', resolved.cacheMaxBytes, 0, Number.MAX_SAFE_INTEGER);
  requireInteger('maxEntryBytes', resolved.maxEntryBytes, 1, 1024 * MiB);
  requireInteger('maxPersistBytes', resolved.maxPersistBytes, 1, 2048 * MiB);
  requireInteger('maxPersistEntries', resolved.maxPersistEntries, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('maxPendingBytes', resolved.maxPendingBytes, 1, Number.MAX_SAFE_INTEGER);
  requireInteger('maxSnapshotBytes', resolved.maxSnapshotBytes, 1, 2048 * MiB);
  requireInteger('maxMetaValueBytes', resolved.maxMetaValueBytes, 1, 16 * MiB);
  requireInteger('syncInlineMaxBytes', resolved.syncInlineMaxBytes, 0, 1024 * MiB);
  if (!Number.isFinite(resolved.syncInlineMaxMs) || resolved.syncInlineMaxMs < 0) {
    throw new StorageError(
      'INVALID_ARGUMENT',
      `syncInlineMaxMs must be a number >= 0, got ${resolved.syncInlineMaxMs}`,
    );
  }
  requireInteger('testSyncDelayMs', resolved.testSyncDelayMs, 0, 60_000);
  if (resolved.onSync !== undefined && typeof resolved.onSync !== 'function') {
    throw new StorageError('INVALID_ARGUMENT', 'onSync must be a function');
  }
  return resolved;
}

export function requireInteger(name: string, value: number, min: number, max: number): void {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new StorageError('INVALID_ARGUMENT', `${name} must be an integer in [${min}, ${max}], got ${value}`);
  }
}
