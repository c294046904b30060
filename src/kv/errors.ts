/**
 * Errors of the key-value state machine. Every error has a stable string `code` (part of the API: the HTTP layer
 * maps codes to statuses, clients branch on them). Inside `applyBatch` errors never escape as exceptions: they
 * become `{ ok: false, code }` results, because a committed entry must be applied identically by every replica.
 */
export type KvErrorCode =
  /** A key is not a well-formed string: empty, not valid UTF-8 (a lone surrogate), or not a string at all. */
  | 'INVALID_KEY'
  /** A key is longer than `maxKeyBytes` (UTF-8 bytes). */
  | 'KEY_TOO_LARGE'
  /** A value is longer than `maxValueBytes`. */
  | 'VALUE_TOO_LARGE'
  /** A transaction has more compares or ops in one branch than `maxTxnOps`. */
  | 'TXN_TOO_LARGE'
  /** A condition (ifVersion / ifModRevision) did not hold; nothing changed. */
  | 'COMPARE_FAILED'
  /** The lease does not exist (never granted, or revoked). */
  | 'LEASE_NOT_FOUND'
  /** A lease with this id already exists. */
  | 'LEASE_EXISTS'
  /** A lease TTL outside [leaseMinTtlSeconds, leaseMaxTtlSeconds]. */
  | 'INVALID_LEASE_TTL'
  /** The lease's deadline passed; the leader is about to revoke it (Lessor.keepAlive). */
  | 'LEASE_EXPIRED'
  /** This Lessor is not the primary (the node is not the leader): keep-alives go to the leader. */
  | 'LESSOR_NOT_PRIMARY'
  /** More than `maxLeases` leases would exist. */
  | 'TOO_MANY_LEASES'
  /** More than `maxKeysPerLease` keys would be attached to one lease. */
  | 'LEASE_KEY_LIMIT'
  /** A deleteRange would delete more than `maxDeleteRangeKeys` keys; nothing was deleted (delete in pieces). */
  | 'TOO_MANY_KEYS'
  /** The requested revision's history was compacted; `oldestRevision` says where history now starts. */
  | 'COMPACTED'
  /** The requested revision is newer than the store's revision. */
  | 'FUTURE_REVISION'
  /** A log entry is not a valid command (garbage bytes, unknown type, wrong field types, unknown fields). */
  | 'INVALID_COMMAND'
  /** A read or watch argument is invalid (bad range selector, negative limit...). */
  | 'INVALID_ARGUMENT'
  /** applyBatch was given an index other than the next one (a gap or a repeat): a driver bug; nothing applied. */
  | 'UNEXPECTED_INDEX'
  /** More than `maxWatchers` watchers. */
  | 'TOO_MANY_WATCHERS'
  /** A watch listener threw or rejected; the watcher was cancelled. */
  | 'WATCH_LISTENER_FAILED'
  /** A snapshot stream is malformed: bad framing, checksum mismatch, chunk out of order, truncated. */
  | 'SNAPSHOT_CORRUPT'
  /** A snapshot is older than what this store already applied. */
  | 'SNAPSHOT_STALE'
  /** Another snapshot restore is already in progress. */
  | 'SNAPSHOT_IN_PROGRESS'
  /** The snapshot reader was invalidated (the store was closed or its state replaced by a restore). */
  | 'SNAPSHOT_ABORTED'
  /** The on-disk state is not usable (unknown format, missing environment). */
  | 'STORAGE_CORRUPT'
  /** The store is closed. */
  | 'CLOSED';

export interface KvErrorDetails {
  /** COMPACTED: the oldest revision still available. */
  readonly oldestRevision?: number;
  /** FUTURE_REVISION / COMPACTED: the store's current revision. */
  readonly revision?: number;
  /** UNEXPECTED_INDEX: the index applyBatch expected. */
  readonly expectedIndex?: number;
  readonly cause?: unknown;
}

export class KvError extends Error {
  readonly code: KvErrorCode;
  readonly oldestRevision: number | undefined;
  readonly revision: number | undefined;
  readonly expectedIndex: number | undefined;

  constructor(code: KvErrorCode, message: string, details: KvErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'KvError';
    this.code = code;
    this.oldestRevision = details.oldestRevision;
    this.revision = details.revision;
    this.expectedIndex = details.expectedIndex;
  }
}

export function isKvError(error: unknown): error is KvError {
  return error instanceof KvError;
}
