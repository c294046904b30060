import { KvError } from './errors.js';

/** The hard ceiling for key length: the HTTP API promises keys of up to 4096 UTF-8 bytes. */
export const MAX_KEY_BYTES_CEILING = 4096;

/**
 * Limits that change what a command does. They MUST be identical on every replica of a group (they decide
 * whether a committed entry succeeds), so the node takes them from cluster configuration, not local flags.
 */
export interface KvLimits {
  /** Longest key in UTF-8 bytes. Default 4096 (also the maximum). */
  readonly maxKeyBytes: number;
  /** Longest value in bytes. Default 1 MiB (1,048,576). */
  readonly maxValueBytes: number;
  /** Most compares, and most ops per branch, of one transaction. Default 128 (etcd's --max-txn-ops). */
  readonly maxTxnOps: number;
  /** Shortest lease TTL. Default 2 s (a lease must outlive a leader election). */
  readonly leaseMinTtlSeconds: number;
  /** Longest lease TTL. Default 9,000,000,000 s (etcd's MaxLeaseTTL). */
  readonly leaseMaxTtlSeconds: number;
  /** Most leases that may exist at once. Default 100,000. */
  readonly maxLeases: number;
  /** Most keys attached to one lease (its revoke is one revision). Default 10,000. */
  readonly maxKeysPerLease: number;
  /** Most keys one deleteRange may delete (one revision, delivered to watchers as one group). Default 10,000. */
  readonly maxDeleteRangeKeys: number;
  /** Revisions of watch history kept: events of revisions > revision - this stay available. Default 100,000. */
  readonly historyRetentionRevisions: number;
}

export const DEFAULT_LIMITS: KvLimits = Object.freeze({
  maxKeyBytes: MAX_KEY_BYTES_CEILING,
  maxValueBytes: 1024 * 1024,
  maxTxnOps: 128,
  leaseMinTtlSeconds: 2,
  leaseMaxTtlSeconds: 9_000_000_000,
  maxLeases: 100_000,
  maxKeysPerLease: 10_000,
  maxDeleteRangeKeys: 10_000,
  historyRetentionRevisions: 100_000,
});

/** Options of one KvStore (one state machine, one lmdb environment). */
export interface KvStoreOptions {
  /** Directory that holds the state (created if missing). Required. */
  readonly path: string;
  /** Command limits; see KvLimits (defaults there). */
  readonly limits?: Partial<KvLimits>;
  /** Default and maximum number of results of one range read. Default 10,000. */
  readonly rangeMaxLimit?: number;
  /** A range read stops after this many bytes of keys and values (always returns at least one). Default 4 MiB. */
  readonly rangeMaxBytes?: number;
  /** Most watchers at once. Default 10,000. */
  readonly maxWatchers?: number;
  /**
   * Bytes of events buffered in memory per watcher; past it the watcher drops its buffer and catches up from the
   * stored history at its own pace. Default 4 MiB.
   */
  readonly watchBufferMaxBytes?: number;
  /** Bytes of events one catch-up step reads from the stored history (whole revisions). Default 1 MiB. */
  readonly watchCatchUpMaxBytes?: number;
  /**
   * Bytes of events one applyBatch keeps in memory for live watchers; past it, watchers read the rest of the
   * batch from the stored history. Default 16 MiB.
   */
  readonly watchPublishMaxBytes?: number;
  /** Minimum number of compacted history events physically removed per applyBatch. Default 1,000. */
  readonly historyDeleteBatchEvents?: number;
  /** Default snapshot chunk size in bytes (including framing, minimum 256). Default 1 MiB. */
  readonly snapshotChunkBytes?: number;
  /**
   * fsync every applyBatch commit (durableAppliedIndex then always equals appliedIndex). Default false: commits
   * are not fsynced and flush() makes them durable — safe because the Raft log can replay them; see docs/kv.md.
   */
  readonly syncCommits?: boolean;
}

export interface ResolvedKvStoreOptions {
  readonly path: string;
  readonly limits: KvLimits;
  readonly rangeMaxLimit: number;
  readonly rangeMaxBytes: number;
  readonly maxWatchers: number;
  readonly watchBufferMaxBytes: number;
  readonly watchCatchUpMaxBytes: number;
  readonly watchPublishMaxBytes: number;
  readonly historyDeleteBatchEvents: number;
  readonly snapshotChunkBytes: number;
  readonly syncCommits: boolean;
}

function positiveInt(name: string, value: number, max = Number.MAX_SAFE_INTEGER): number {
  if (!Number.isSafeInteger(value) || value < 1 || value > max) {
    throw new KvError('INVALID_ARGUMENT', `option ${name} must be an integer in [1, ${max}], got ${value}`);
  }
  return value;
}

function atLeast(name: string, value: number, min: number): number {
  positiveInt(name, value);
  if (value < min) throw new KvError('INVALID_ARGUMENT', `option ${name} must be at least ${min}, got ${value}`);
  return value;
}

export function resolveLimits(partial: Partial<KvLimits> = {}): KvLimits {
  const limits: KvLimits = { ...DEFAULT_LIMITS, ...partial };
  positiveInt('maxKeyBytes', limits.maxKeyBytes, MAX_KEY_BYTES_CEILING);
  positiveInt('maxValueBytes', limits.maxValueBytes, 64 * 1024 * 1024);
  positiveInt('maxTxnOps', limits.maxTxnOps, 100_000);
  positiveInt('leaseMinTtlSeconds', limits.leaseMinTtlSeconds);
  positiveInt('leaseMaxTtlSeconds', limits.leaseMaxTtlSeconds);
  if (limits.leaseMinTtlSeconds > limits.leaseMaxTtlSeconds) {
    throw new KvError('INVALID_ARGUMENT', 'leaseMinTtlSeconds must not exceed leaseMaxTtlSeconds');
  }
  positiveInt('maxLeases', limits.maxLeases);
  positiveInt('maxKeysPerLease', limits.maxKeysPerLease);
  positiveInt('maxDeleteRangeKeys', limits.maxDeleteRangeKeys);
  positiveInt('historyRetentionRevisions', limits.historyRetentionRevisions);
  return Object.freeze(limits);
}

export function resolveStoreOptions(options: KvStoreOptions): ResolvedKvStoreOptions {
  if (typeof options?.path !== 'string' || options.path.length === 0) {
    throw new KvError('INVALID_ARGUMENT', 'option path (a directory) is required');
  }
  return Object.freeze({
    path: options.path,
    limits: resolveLimits(options.limits),
    rangeMaxLimit: positiveInt('rangeMaxLimit', options.rangeMaxLimit ?? 10_000),
    rangeMaxBytes: positiveInt('rangeMaxBytes', options.rangeMaxBytes ?? 4 * 1024 * 1024),
    maxWatchers: positiveInt('maxWatchers', options.maxWatchers ?? 10_000),
    watchBufferMaxBytes: positiveInt('watchBufferMaxBytes', options.watchBufferMaxBytes ?? 4 * 1024 * 1024),
    watchCatchUpMaxBytes: positiveInt('watchCatchUpMaxBytes', options.watchCatchUpMaxBytes ?? 1024 * 1024),
    watchPublishMaxBytes: positiveInt('watchPublishMaxBytes', options.watchPublishMaxBytes ?? 16 * 1024 * 1024),
    historyDeleteBatchEvents: positiveInt('historyDeleteBatchEvents', options.historyDeleteBatchEvents ?? 1000),
    snapshotChunkBytes: atLeast('snapshotChunkBytes', options.snapshotChunkBytes ?? 1024 * 1024, 256),
    syncCommits: options.syncCommits ?? false,
  });
}
