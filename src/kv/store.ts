import { createHash } from 'node:crypto';
import path from 'node:path';
import { ApplyContext } from './apply-context.js';
import { nextEnvName, prepareDataDir, removeEnv, setCurrentEnv } from './env-dir.js';
import { KvError } from './errors.js';
import { type ByteRange, inRange, keyBytes, selectorRange } from './keys.js';
import { type KvLimits, type KvStoreOptions, type ResolvedKvStoreOptions, resolveStoreOptions } from './options.js';
import { readRange } from './reads.js';
import { decodeEvent, decodeRecord, eventBytes, type StoredEvent, toKeyValue } from './record.js';
import { KvSnapshotReader, KvSnapshotWriter, type RestoreTarget } from './snapshot.js';
import { hashRecord, StateRecordSource } from './state-records.js';
import { INITIAL_META, KvTables, type MetaState } from './tables.js';
import type { ApplyItem, ApplyResult, KeySelector, KeyValue, LeaseInfo, RangeOptions, RangeResult } from './types.js';
import { type Watcher, WatchHub, type WatchListener, type WatchOptions, type WatchSource } from './watch-hub.js';

export interface SnapshotReaderOptions {
  /** Largest chunk in bytes, framing included (minimum 256). Default: the store's snapshotChunkBytes (1 MiB). */
  readonly chunkBytes?: number;
}

/**
 * Compacted history is deleted once the oldest retained revision has moved this far past what was deleted last,
 * not at every batch: each deletion rewrites the B-tree's leftmost path and the free list, which at one write per
 * batch was 30 % of applying a put past the retention window (docs/kv.md). Watchers, snapshots and checksums
 * start at the oldest revision, so the extra events kept meanwhile are never seen.
 */
const HISTORY_DELETE_STEP_REVISIONS = 1024;

/**
 * Cairn's key-value state machine: what a replica applies committed log entries to.
 *
 * - `applyBatch` applies entries synchronously, all in one lmdb transaction together with the applied index,
 *   so the stored state is always exactly "everything up to appliedIndex".
 * - Reads (`get`, `range`), `checksum`, `watch`, leases, and snapshots for log compaction and slow followers.
 * - Commits are not fsynced (the Raft log is the source of truth); `flush()` makes them durable, and
 *   `durableAppliedIndex` says up to where they are.
 */
export class KvStore {
  private tables: KvTables;
  private envName: string;
  private state: MetaState;
  private durable: number;
  private closed = false;
  private writer: KvSnapshotWriter | null = null;
  private readonly readers = new Set<KvSnapshotReader>();
  private readonly hub: WatchHub;
  /** History older than this revision is known to be deleted (in memory: after a restart, the first batch looks). */
  private historyDeletedBelow = 0;
  /** The last deletion stopped at its bound, or none ran since open: the next batch deletes (more). */
  private historyDeletePending = true;

  private constructor(
    private readonly options: ResolvedKvStoreOptions,
    envName: string,
    tables: KvTables,
    state: MetaState,
  ) {
    this.envName = envName;
    this.tables = tables;
    this.state = state;
    this.durable = state.appliedIndex;
    const source: WatchSource = {
      currentRevision: () => this.state.revision,
      oldestRevision: () => this.state.oldestRevision,
      readHistory: (from, range, maxBytes) => this.readHistory(from, range, maxBytes),
    };
    this.hub = new WatchHub(source, {
      maxWatchers: options.maxWatchers,
      bufferMaxBytes: options.watchBufferMaxBytes,
      catchUpMaxBytes: options.watchCatchUpMaxBytes,
    });
  }

  /** Opens (or creates) the store in `options.path`; the state found there is made durable before returning. */
  static async open(options: KvStoreOptions): Promise<KvStore> {
    const resolved = resolveStoreOptions(options);
    const envName = prepareDataDir(resolved.path);
    const tables = KvTables.open(path.join(resolved.path, envName), resolved.syncCommits);
    let state: MetaState;
    try {
      state = tables.readMeta() ?? INITIAL_META;
      // Whatever survived is at least in the OS page cache; sync it so durableAppliedIndex is honest.
      await tables.sync();
    } catch (error) {
      await tables.close();
      throw error;
    }
    return new KvStore(resolved, envName, tables, state);
  }

  get limits(): KvLimits {
    return this.options.limits;
  }

  /** Index of the last applied log entry (0 = none). */
  get appliedIndex(): number {
    return this.state.appliedIndex;
  }

  /** Everything up to this index survives a machine crash (see flush). */
  get durableAppliedIndex(): number {
    return this.durable;
  }

  /** The store's revision: 1 when empty, +1 per write command that changed something. */
  get revision(): number {
    return this.state.revision;
  }

  /** Watchers registered now. */
  get watcherCount(): number {
    return this.hub.size;
  }

  /** The oldest revision a watch can start from. */
  get oldestRevision(): number {
    return this.state.oldestRevision;
  }

  private assertOpen(): void {
    if (this.closed) throw new KvError('CLOSED', 'the key-value store is closed');
  }

  // ------------------------------------------------------------------------------------------- apply

  /**
   * Applies committed entries in order, atomically: either all of them (with the new applied index) or, if the
   * storage itself fails, none. Bad commands do not throw; they produce `{ ok: false, code }` results.
   * One result per item, except that a batch item (`commands`) gives one per command, in order.
   * Throws KvError UNEXPECTED_INDEX (nothing applied) unless the indexes are appliedIndex + 1, + 2, ...
   */
  applyBatch(items: readonly ApplyItem[]): ApplyResult[] {
    this.assertOpen();
    let expected = this.state.appliedIndex + 1;
    for (const item of items) {
      if (item.index !== expected) {
        throw new KvError('UNEXPECTED_INDEX', `entry index ${item.index}, expected ${expected}`, {
          expectedIndex: expected,
        });
      }
      expected++;
    }
    if (items.length === 0) return [];
    const context = new ApplyContext(this.tables, this.state, {
      limits: this.options.limits,
      range: { maxLimit: this.options.rangeMaxLimit, maxBytes: this.options.rangeMaxBytes },
      keepEvents: this.hub.size > 0,
      keepEventsMaxBytes: this.options.watchPublishMaxBytes,
    });
    let deletedBelow = this.historyDeletedBelow;
    let deletePending = this.historyDeletePending;
    const results = this.tables.write(() => {
      const out: ApplyResult[] = [];
      for (const item of items) context.applyItem(item, out);
      const oldest = context.state.oldestRevision;
      if (deletePending || context.compactedHistory || oldest - deletedBelow >= HISTORY_DELETE_STEP_REVISIONS) {
        deletePending = !context.deleteCompactedHistory(this.options.historyDeleteBatchEvents);
        if (!deletePending) deletedBelow = oldest;
      }
      this.tables.writeMeta(context.state);
      return out;
    });
    this.historyDeletedBelow = deletedBelow;
    this.historyDeletePending = deletePending;
    this.state = context.state;
    if (this.options.syncCommits) this.durable = this.state.appliedIndex;
    this.hub.publish(context.published);
    return results;
  }

  // ------------------------------------------------------------------------------------------- reads

  /** The key's value and metadata, or null. Throws KvError INVALID_KEY, KEY_TOO_LARGE. */
  get(key: string): KeyValue | null {
    this.assertOpen();
    const bytes = keyBytes(key, this.options.limits.maxKeyBytes);
    const raw = this.tables.getRaw(bytes);
    return raw === undefined ? null : toKeyValue(key, decodeRecord(raw));
  }

  /**
   * Keys of the selector in byte order, at most `limit` (default and maximum rangeMaxLimit) and about
   * rangeMaxBytes. When `more`, continue with `{ start: nextStart, end }` (or `{ prefix, start: nextStart }`).
   * Throws KvError INVALID_ARGUMENT, INVALID_KEY, KEY_TOO_LARGE.
   */
  range(selector: KeySelector, options: RangeOptions = {}): RangeResult {
    this.assertOpen();
    const range = selectorRange(selector, this.options.limits.maxKeyBytes);
    const limit = options.limit;
    if (limit !== undefined && (!Number.isSafeInteger(limit) || limit < 0)) {
      throw new KvError('INVALID_ARGUMENT', 'limit must be a non-negative integer');
    }
    const read = readRange(this.tables, range, limit, options.keysOnly ?? false, {
      maxLimit: this.options.rangeMaxLimit,
      maxBytes: this.options.rangeMaxBytes,
    });
    return { ...read, revision: this.state.revision };
  }

  lease(id: number): LeaseInfo | null {
    this.assertOpen();
    if (!Number.isSafeInteger(id) || id < 1) return null;
    const row = this.tables.getLease(id);
    return row === undefined ? null : { id, ttlSeconds: row.ttlSeconds, keys: row.keys };
  }

  /** Every lease (at most maxLeases), by id: what a new leader gives Lessor.promote(). */
  leases(): LeaseInfo[] {
    this.assertOpen();
    return [...this.tables.leases()].map((l) => ({ id: l.id, ttlSeconds: l.ttlSeconds, keys: l.keys }));
  }

  /**
   * A sha256 (hex) over the whole logical state: revision, oldest revision, leases, every key with its value
   * and metadata, and the retained watch history. Replicas that applied the same entries have equal checksums.
   */
  checksum(): string {
    this.assertOpen();
    const txn = this.tables.readTransaction();
    try {
      const meta = this.tables.readMeta(txn) ?? INITIAL_META;
      const source = new StateRecordSource(this.tables, txn, meta);
      const hash = createHash('sha256');
      while (!source.finished) for (const record of source.next(4 * 1024 * 1024)) hashRecord(hash, record);
      return hash.digest('hex');
    } finally {
      txn.done();
    }
  }

  // ------------------------------------------------------------------------------------------- watch

  /**
   * Delivers the events of keys in `selector`, from `fromRevision` on (default: the next revision), one
   * revision per listener call, in order, without gaps or duplicates. Throws KvError COMPACTED (with
   * oldestRevision) when fromRevision is older than the retained history, TOO_MANY_WATCHERS, INVALID_ARGUMENT.
   */
  watch(
    selector: KeySelector,
    fromRevision: number | undefined,
    listener: WatchListener,
    options: WatchOptions = {},
  ): Watcher {
    this.assertOpen();
    const range = selectorRange(selector, this.options.limits.maxKeyBytes);
    if (typeof listener !== 'function') throw new KvError('INVALID_ARGUMENT', 'listener must be a function');
    let from = this.state.revision + 1;
    if (fromRevision !== undefined && fromRevision !== 0) {
      if (!Number.isSafeInteger(fromRevision) || fromRevision < 0) {
        throw new KvError('INVALID_ARGUMENT', 'fromRevision must be a non-negative integer');
      }
      from = fromRevision;
    }
    return this.hub.watch(range, from, listener, options);
  }

  private readHistory(
    fromRevision: number,
    range: ByteRange,
    maxBytes: number,
  ): { groups: { revision: number; events: StoredEvent[] }[]; nextRevision: number } {
    const groups: { revision: number; events: StoredEvent[] }[] = [];
    let bytes = 0;
    let current: { revision: number; events: StoredEvent[] } | null = null;
    const revision = this.state.revision;
    for (const entry of this.tables.historyFrom(fromRevision)) {
      if (entry.revision > revision) break;
      if (current !== null && entry.revision !== current.revision) {
        if (current.events.length > 0) groups.push(current);
        if (bytes >= maxBytes) return { groups, nextRevision: current.revision + 1 };
        current = null;
      }
      current ??= { revision: entry.revision, events: [] };
      const event = decodeEvent(entry.raw);
      if (inRange(event.key, range)) {
        current.events.push(event);
        bytes += eventBytes(event);
      } else {
        bytes += 64; // scanning non-matching events costs too; bound the work of one step
      }
    }
    if (current !== null && current.events.length > 0) groups.push(current);
    return { groups, nextRevision: revision + 1 };
  }

  // ------------------------------------------------------------------------------------------- durability

  /**
   * Makes everything applied so far durable (fsync). The node calls it before compacting its log past
   * appliedIndex: entries after durableAppliedIndex may be needed to rebuild the state after a machine crash.
   */
  async flush(): Promise<void> {
    this.assertOpen();
    const tables = this.tables;
    const index = this.state.appliedIndex;
    try {
      await tables.sync();
    } catch (error) {
      // A restore replaced the environment meanwhile; the new one was synced before it was installed.
      if (tables === this.tables) throw error;
    }
    this.durable = Math.max(this.durable, Math.min(index, this.state.appliedIndex));
  }

  // ------------------------------------------------------------------------------------------- snapshots

  /** A consistent snapshot of the current state, streamed as checksummed chunks (see snapshot.ts). */
  createSnapshotReader(options: SnapshotReaderOptions = {}): KvSnapshotReader {
    this.assertOpen();
    const txn = this.tables.readTransaction();
    let meta: MetaState;
    try {
      meta = this.tables.readMeta(txn) ?? INITIAL_META;
    } catch (error) {
      txn.done();
      throw error;
    }
    const reader = new KvSnapshotReader(
      this.tables,
      txn,
      meta,
      options.chunkBytes ?? this.options.snapshotChunkBytes,
      (r) => this.readers.delete(r),
    );
    this.readers.add(reader);
    return reader;
  }

  /**
   * Starts restoring a snapshot stream (from createSnapshotReader on another replica). The current state stays
   * in use until `finish()` switches atomically. Throws KvError SNAPSHOT_IN_PROGRESS if one is already running.
   */
  createSnapshotWriter(): KvSnapshotWriter {
    this.assertOpen();
    if (this.writer !== null) throw new KvError('SNAPSHOT_IN_PROGRESS', 'a snapshot restore is already in progress');
    this.writer = new KvSnapshotWriter(this.restoreTarget());
    return this.writer;
  }

  private restoreTarget(): RestoreTarget {
    const dir = this.options.path;
    return {
      limits: this.options.limits,
      openRestoreEnv: () => {
        const name = nextEnvName(dir);
        removeEnv(dir, name);
        return { tables: KvTables.open(path.join(dir, name), this.options.syncCommits), name };
      },
      installRestoredEnv: async (tables, name, meta) => {
        if (this.closed) throw new KvError('CLOSED', 'the key-value store is closed');
        if (meta.appliedIndex < this.state.appliedIndex) {
          throw new KvError(
            'SNAPSHOT_STALE',
            `snapshot at index ${meta.appliedIndex} is older than the applied index ${this.state.appliedIndex}`,
          );
        }
        // From here to the switch nothing awaits: no entry can be applied to the old state in between.
        setCurrentEnv(dir, name);
        const old = { tables: this.tables, name: this.envName };
        this.abortReaders('the state was replaced by a snapshot restore');
        this.tables = tables;
        this.envName = name;
        this.state = meta;
        this.durable = meta.appliedIndex;
        this.hub.rereadHistory();
        await old.tables.close();
        removeEnv(dir, old.name);
      },
      discardRestoreEnv: async (tables, name) => {
        await tables.close();
        removeEnv(dir, name);
      },
      restoreEnded: () => {
        this.writer = null;
      },
    };
  }

  private abortReaders(reason: string): void {
    for (const reader of [...this.readers]) reader.abort(new KvError('SNAPSHOT_ABORTED', reason));
  }

  // ------------------------------------------------------------------------------------------- lifecycle

  /** Ends watchers (with CLOSED), aborts snapshot readers, flushes and closes the environment. Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.endAll(new KvError('CLOSED', 'the key-value store was closed'));
    this.abortReaders('the key-value store was closed');
    await this.writer?.abort();
    try {
      await this.tables.sync();
      this.durable = this.state.appliedIndex;
    } finally {
      await this.tables.close();
    }
  }
}
