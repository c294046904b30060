/** Stable codes of the durable log store's errors; the node layer maps them to API errors and health signals. */
export type StorageErrorCode =
  /** A value passed in is malformed or breaks the log's rules (a gap, indexes out of order, compact past snapshot). */
  | 'INVALID_ARGUMENT'
  /** One entry's data is over `maxEntryBytes`. */
  | 'ENTRY_TOO_LARGE'
  /** One persist() call is over `maxPersistBytes` or `maxPersistEntries`. */
  | 'BATCH_TOO_LARGE'
  /** A snapshot's data is over `maxSnapshotBytes`. */
  | 'SNAPSHOT_TOO_LARGE'
  /** A metadata key or value is over its limit. */
  | 'META_TOO_LARGE'
  /** More than `maxPendingBytes` are waiting to become durable; retry once earlier writes complete. */
  | 'QUEUE_FULL'
  /** The group does not exist (never bootstrapped, or deleted). */
  | 'GROUP_NOT_FOUND'
  /** bootstrap() of a group that already exists. */
  | 'GROUP_EXISTS'
  /** Stored data failed its checksum or is inconsistent somewhere other than an unfinished tail. */
  | 'CORRUPTED'
  /** The directory was written by an incompatible format version. */
  | 'INCOMPATIBLE_FORMAT'
  /** Another live process holds the directory's lock. */
  | 'LOCKED'
  /** The disk is full. The store stops accepting writes (fail-stop); reopen once space is freed. */
  | 'NO_SPACE'
  /** A write or sync failed. The store stops accepting writes (fail-stop); reopen to recover from disk. */
  | 'IO_ERROR'
  /** The store was closed, or stopped after an I/O error. */
  | 'CLOSED';

export class StorageError extends Error {
  readonly code: StorageErrorCode;

  constructor(code: StorageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'StorageError';
    this.code = code;
  }
}
