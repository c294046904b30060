import { randomBytes } from 'node:crypto';
import { closeSync, fdatasyncSync, mkdirSync, openSync, readSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ConfState, Entry, GroupId, HardState, Snapshot } from '../consensus/types.js';
import { DirLock } from './dir-lock.js';
import { EntryCache } from './entry-cache.js';
import { StorageError } from './errors.js';
import {
  datasync,
  fsyncDirectory,
  ioError,
  SYNC_WRITE_MAX_BYTES,
  truncateDurably,
  writeFully,
  writeFullySync,
  zeroFillSync,
} from './fs-util.js';
import { GroupLogView, type GroupStateSource } from './group-log-view.js';
import { GroupState } from './group-state.js';
import {
  type LogStoreOptions,
  type ResolvedLogStoreOptions,
  requireInteger,
  resolveLogStoreOptions,
} from './log-store-options.js';
import { ProjectedGroup } from './projected-group.js';
import { SnapshotFiles } from './snapshot-files.js';
import { applyToProjection, copyConfState, copyMeta, encodeOp, type Op } from './store-ops.js';
import {
  BatchEncoder,
  decodeEntryAt,
  decodeRecord,
  ENTRY_HEADER_BYTES,
  RecordType,
  readFrame,
  type SnapshotRef,
  type WalRecord,
} from './wal-records.js';
import { recoverWal } from './wal-recovery.js';
import { createSegment, SEGMENT_HEADER_BYTES, segmentFileName } from './wal-segments.js';
import {
  validateConfState,
  validateEntries,
  validateGroupId,
  validateHardState,
  validateIndex,
  validateMeta,
  validateSnapshot,
  validateSnapshotData,
} from './write-validation.js';

/** One group's part of a persist() call: what a Ready asks to make durable (fields may be null or absent). */
export interface GroupWrite {
  readonly group: GroupId;
  readonly hardState?: HardState | null;
  /** Appended; an entry at an index already stored replaces it and every entry after it. */
  readonly entries?: readonly Entry[];
  /** A snapshot received from the leader, installed before `entries`. */
  readonly snapshot?: Snapshot | null;
}

export interface LogStoreStats {
  readonly groups: number;
  readonly segments: number;
  /** Bytes of all segment files. */
  readonly walBytes: number;
  readonly cacheBytes: number;
  /** Bytes accepted but not yet durable. */
  readonly pendingBytes: number;
  /** Commits made durable since open. */
  readonly commits: number;
  /** Of those, synced on the calling thread (options.syncInlineMaxBytes). */
  readonly inlineSyncs: number;
  /** Bytes of an unfinished commit discarded when the store was opened (0 after a clean shutdown). */
  readonly discardedTailBytes: number;
}

const NO_REFS: ReadonlyMap<Op, SnapshotRef> = new Map();

function hasSnapshotOps(calls: readonly PendingCall[]): boolean {
  for (const call of calls) {
    for (const op of call.ops) if (op.kind === 'snapshotInstall' || op.kind === 'snapshotCreate') return true;
  }
  return false;
}

/** One API call waiting for its commit. */
interface PendingCall {
  readonly ops: readonly Op[];
  readonly bytes: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

interface ActiveSegment {
  readonly seq: number;
  readonly fd: number;
  readonly salt: number;
  /** Bytes of data: where the next commit goes. */
  size: number;
  /** The file's length: `size` plus the zeros written ahead of the data (options.preallocateBytes). */
  allocated: number;
}

/** Entries per ENTRIES record when a group is rewritten. */
const REWRITE_CHUNK_ENTRIES = 4096;
/** Framing bytes budgeted per record when sizing a batch buffer. */
const RECORD_OVERHEAD_BYTES = 64;

/**
 * Cairn's durable Raft log store: hard state, log entries and snapshots of many consensus groups in one
 * write-ahead log per node, with group commit.
 *
 * Every write (persist, compact, createSnapshot, bootstrap, deleteGroup, setMeta) is validated when issued, then
 * queued. All writes queued while the previous commit is in flight, or within one event-loop turn, go to disk as
 * one commit: one write() and one fdatasync(). A write's promise resolves only once its commit is synced, and at
 * that same moment the group views start showing it. See docs/storage.md for the format and recovery.
 */
export class LogStore implements GroupStateSource {
  private readonly groups = new Map<GroupId, GroupState>();
  private readonly projections = new Map<GroupId, ProjectedGroup>();
  private readonly views = new Map<GroupId, GroupLogView>();
  private readonly meta = new Map<string, Buffer>();
  /** Segment of each metadata key's latest record. */
  private readonly metaSegments = new Map<string, number>();
  /** Segment seq → file descriptor (the active one included); oldest first. */
  private readonly segmentFds = new Map<number, number>();
  /** Sizes of the segments before the active one. */
  private readonly closedSegmentBytes = new Map<number, number>();
  private active!: ActiveSegment;
  private nextBatchSeq = 1;
  private readonly walDir: string;
  private readonly cache: EntryCache;
  private readonly snapshots: SnapshotFiles;

  private queue: PendingCall[] = [];
  private pendingBytes = 0;
  private loop: Promise<void> | null = null;
  /** No commit is in flight: the loop waits before taking the queue (flush() may start the commit sooner). */
  private waiting = false;
  /** A commit flush() started, for the loop to await. */
  private flushed: { readonly calls: readonly PendingCall[]; readonly done: Promise<void> } | null = null;
  private failure: StorageError | null = null;
  private closing = false;
  private closingDone: Promise<void> | undefined;
  private closed = false;
  private testSyncDelayMs: number;
  private commits = 0;
  /** Commits synced on the calling thread (options.syncInlineMaxBytes). */
  private inlineSyncs = 0;
  /** How long the last commit's sync took: small commits are synced inline only while the disk is fast. */
  private lastSyncMs = 0;
  private discardedTailBytes = 0;

  /** Groups and metadata keys to rewrite so old segments can be deleted (see collectGarbage). */
  private readonly rewriteGroups = new Set<GroupId>();
  private readonly rewriteMeta = new Set<string>();
  private bytesSinceCheckpoint = 0;
  /**
   * During recovery: the last record of each group met while the group was unknown, and the last GROUP_RESET or
   * delete of each group. A record of an unknown group is legitimate only when a later reset or delete makes it
   * irrelevant (the group's earlier records were in deleted segments).
   */
  private recovering = false;
  private recordOrdinal = 0;
  private readonly unknownGroupRecords = new Map<GroupId, number>();
  private readonly supersededAt = new Map<GroupId, number>();

  private constructor(
    private readonly options: ResolvedLogStoreOptions,
    private readonly lock: DirLock,
  ) {
    this.walDir = join(options.dir, 'wal');
    this.snapshots = new SnapshotFiles(join(options.dir, 'snap'));
    this.cache = new EntryCache(options.cacheMaxBytes);
    this.testSyncDelayMs = options.testSyncDelayMs;
  }

  /** Opens (or creates) the store in `options.dir`, replaying the log. Throws CORRUPTED, LOCKED, ... */
  static async open(options: LogStoreOptions): Promise<LogStore> {
    const resolved = resolveLogStoreOptions(options);
    mkdirSync(join(resolved.dir, 'wal'), { recursive: true });
    mkdirSync(join(resolved.dir, 'snap'), { recursive: true });
    const lock = DirLock.acquire(resolved.dir);
    const store = new LogStore(resolved, lock);
    try {
      await store.load();
    } catch (error) {
      store.closeFds();
      lock.release();
      throw error;
    }
    return store;
  }

  private async load(): Promise<void> {
    this.recovering = true;
    const recovered = recoverWal(this.walDir, (record, segment) => this.applyRecord(record, segment, null, 0, []));
    this.recovering = false;
    for (const [group, ordinal] of this.unknownGroupRecords) {
      if ((this.supersededAt.get(group) ?? -1) < ordinal) {
        throw new StorageError('CORRUPTED', `the log has records of group ${group} but not its base state`);
      }
    }
    this.unknownGroupRecords.clear();
    this.supersededAt.clear();
    this.discardedTailBytes = recovered.discardedTailBytes;
    this.nextBatchSeq = recovered.nextBatchSeq;

    const referenced = new Set<string>();
    for (const state of this.groups.values()) {
      this.snapshots.check(state.snapshot);
      if (state.snapshot.file !== '') referenced.add(state.snapshot.file);
    }
    await this.snapshots.removeAllExcept(referenced);

    for (const segment of recovered.segments) {
      this.segmentFds.set(segment.seq, openSync(join(this.walDir, segmentFileName(segment.seq)), 'r+'));
      this.closedSegmentBytes.set(segment.seq, segment.size);
    }
    const last = recovered.segments[recovered.segments.length - 1];
    if (last === undefined) {
      await this.startSegment(1);
    } else {
      const fd = this.segmentFds.get(last.seq)!;
      this.active = { seq: last.seq, fd, salt: last.salt, size: last.size, allocated: last.fileBytes };
      this.closedSegmentBytes.delete(last.seq);
    }
    await this.collectGarbage();
  }

  // ---- reads -------------------------------------------------------------------------------------------------

  /** The LogStorage of a group (the same object on every call). Its reads throw GROUP_NOT_FOUND once deleted. */
  group(group: GroupId): GroupLogView {
    validateGroupId(group);
    let view = this.views.get(group);
    if (view === undefined) {
      view = new GroupLogView(this, group);
      this.views.set(group, view);
    }
    return view;
  }

  /** True when the group exists durably. */
  hasGroup(group: GroupId): boolean {
    return this.groups.has(group);
  }

  /** Ids of the durable groups, ascending. */
  groupIds(): GroupId[] {
    return [...this.groups.keys()].sort((a, b) => a - b);
  }

  /** A node-level metadata record (a copy), or undefined. */
  getMeta(key: string): Uint8Array | undefined {
    const value = this.meta.get(key);
    return value === undefined ? undefined : new Uint8Array(value);
  }

  stats(): LogStoreStats {
    return {
      groups: this.groups.size,
      segments: this.segmentFds.size,
      walBytes: this.walBytes(),
      cacheBytes: this.cache.sizeBytes,
      pendingBytes: this.pendingBytes,
      commits: this.commits,
      inlineSyncs: this.inlineSyncs,
      discardedTailBytes: this.discardedTailBytes,
    };
  }

  /** @internal GroupStateSource */
  groupState(group: GroupId): GroupState {
    if (this.closed) throw new StorageError('CLOSED', 'the log store is closed');
    const state = this.groups.get(group);
    if (state === undefined) throw new StorageError('GROUP_NOT_FOUND', `group ${group} does not exist`);
    return state;
  }

  /** @internal GroupStateSource: entries in [lo, hi) within bounds already checked, at least one. */
  readEntries(state: GroupState, lo: number, hi: number, maxBytes: number): Entry[] {
    const out: Entry[] = [];
    const log = state.log;
    let size = 0;
    let i = lo;
    while (i < hi) {
      const k = i - state.firstIndex;
      const cached = log.cachedEntry(k);
      const bytes = log.storedLength(k) - ENTRY_HEADER_BYTES + 24;
      if (out.length > 0 && size + bytes > maxBytes) break;
      if (cached !== undefined) {
        out.push(cached);
        size += bytes;
        i++;
        continue;
      }
      // A run of entries not in memory, stored back to back in one segment, is read with one read.
      const segment = log.segment(k);
      const start = log.position(k);
      let end = start + log.storedLength(k);
      let n = 1;
      size += bytes;
      while (i + n < hi) {
        const kn = k + n;
        if (log.cachedEntry(kn) !== undefined || log.segment(kn) !== segment || log.position(kn) !== end) break;
        const nextBytes = log.storedLength(kn) - ENTRY_HEADER_BYTES + 24;
        if (size + nextBytes > maxBytes) break;
        size += nextBytes;
        end += log.storedLength(kn);
        n++;
      }
      const buf = this.readAt(segment, start, end - start);
      let at = 0;
      for (let j = 0; j < n; j++) {
        const len = log.storedLength(k + j);
        out.push(decodeEntryAt(buf.subarray(at, at + len), i + j, log.term(k + j)));
        at += len;
      }
      i += n;
      if (size > maxBytes) break;
    }
    return out;
  }

  /** @internal GroupStateSource */
  readSnapshot(state: GroupState): Snapshot {
    return { meta: state.snapshot.meta, data: this.snapshots.read(state.snapshot) };
  }

  private readAt(segment: number, position: number, length: number): Buffer {
    const fd = this.segmentFds.get(segment);
    if (fd === undefined) throw new StorageError('CORRUPTED', `log segment ${segment} is gone but still referenced`);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    try {
      while (done < length) {
        const n = readSync(fd, buf, done, length - done, position + done);
        if (n === 0) throw new StorageError('CORRUPTED', `log segment ${segment} is shorter than its index says`);
        done += n;
      }
    } catch (error) {
      if (error instanceof StorageError) throw error;
      throw new StorageError('IO_ERROR', `reading log segment ${segment}: ${String(error)}`, { cause: error });
    }
    return buf;
  }

  private walBytes(): number {
    let bytes = this.active.size;
    for (const size of this.closedSegmentBytes.values()) bytes += size;
    return bytes;
  }

  // ---- writes ------------------------------------------------------------------------------------------------

  /**
   * Makes the writes durable: for each group, installs `snapshot`, appends `entries`, stores `hardState`.
   * Resolves once they are synced to disk (sharing one commit with every other write issued in the same
   * event-loop turn); the group views show them from that moment. Rejects without writing anything when any part
   * is invalid (INVALID_ARGUMENT, GROUP_NOT_FOUND, ENTRY_TOO_LARGE, BATCH_TOO_LARGE, QUEUE_FULL, ...).
   */
  persist(writes: readonly GroupWrite[]): Promise<void> {
    try {
      if (!Array.isArray(writes)) throw new StorageError('INVALID_ARGUMENT', 'persist() takes a list of writes');
      const ops: Op[] = [];
      let bytes = 0;
      let entryCount = 0;
      for (const write of writes) {
        validateGroupId(write?.group);
        const { group } = write;
        const opsBefore = ops.length;
        if (write.snapshot !== undefined && write.snapshot !== null) {
          validateSnapshot(write.snapshot, this.options.maxSnapshotBytes);
          const { meta, data } = write.snapshot;
          ops.push({ kind: 'snapshotInstall', group, meta: copyMeta(meta), data });
          bytes += RECORD_OVERHEAD_BYTES + 256;
        }
        if (write.entries !== undefined && write.entries.length > 0) {
          bytes += validateEntries(write.entries, this.options.maxEntryBytes) + RECORD_OVERHEAD_BYTES;
          entryCount += write.entries.length;
          ops.push({ kind: 'entries', group, entries: write.entries });
        }
        if (write.hardState !== undefined && write.hardState !== null) {
          validateHardState(write.hardState);
          const { term, vote, commit } = write.hardState;
          ops.push({ kind: 'hardState', group, hardState: { term, vote, commit } });
          bytes += RECORD_OVERHEAD_BYTES;
        }
        if (ops.length === opsBefore) this.project(group).requireExists();
      }
      if (bytes > this.options.maxPersistBytes || entryCount > this.options.maxPersistEntries) {
        throw new StorageError(
          'BATCH_TOO_LARGE',
          `persist() of ${entryCount} entries / ${bytes} bytes is over the limit of ` +
            `${this.options.maxPersistEntries} entries / ${this.options.maxPersistBytes} bytes`,
        );
      }
      if (ops.length === 0) {
        this.writable();
        return Promise.resolve();
      }
      return this.submit(ops, bytes);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Drops a group's entries up to and including `index`, which its snapshot must cover. Durable on resolve. */
  compact(group: GroupId, index: number): Promise<void> {
    try {
      validateGroupId(group);
      validateIndex(index, 'compaction index');
      return this.submit([{ kind: 'compact', group, index }], RECORD_OVERHEAD_BYTES);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Records a snapshot of the group's state machine at `index` (an entry the log holds; LOG_UNAVAILABLE past
   * the end). The log is not truncated: call compact() for that. Resolves with the snapshot once durable; a
   * snapshot at or below the current one is a no-op that resolves with the current snapshot.
   */
  async createSnapshot(group: GroupId, index: number, confState: ConfState, data: Uint8Array): Promise<Snapshot> {
    validateGroupId(group);
    validateIndex(index, 'snapshot index');
    validateConfState(confState);
    validateSnapshotData(data, this.options.maxSnapshotBytes);
    const projected = this.project(group);
    projected.requireExists();
    if (index <= projected.snapshotIndex) {
      // A newer snapshot exists or is on its way: nothing to write; answer once queued writes are durable.
      await this.submit([], 0);
      return this.readSnapshot(this.groupState(group));
    }
    const op: Op = {
      kind: 'snapshotCreate',
      group,
      meta: { index, term: 0, confState: copyConfState(confState) },
      data,
    };
    await this.submit([op], RECORD_OVERHEAD_BYTES + 256);
    const current = this.groupState(group).snapshot.meta;
    if (current.index === index) return { meta: current, data };
    return this.readSnapshot(this.groupState(group));
  }

  /** Creates a group with an empty log and the given configuration (GROUP_EXISTS if it exists). */
  bootstrap(group: GroupId, confState: ConfState): Promise<void> {
    try {
      validateGroupId(group);
      validateConfState(confState);
      return this.submit([{ kind: 'bootstrap', group, confState: copyConfState(confState) }], RECORD_OVERHEAD_BYTES);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Deletes a group: its log, hard state and snapshot. */
  deleteGroup(group: GroupId): Promise<void> {
    try {
      validateGroupId(group);
      return this.submit([{ kind: 'delete', group }], RECORD_OVERHEAD_BYTES);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Stores a small node-level record (cluster id, node name, engine type...). Durable on resolve. */
  setMeta(key: string, value: Uint8Array): Promise<void> {
    try {
      validateMeta(key, value, this.options.maxMetaValueBytes);
      return this.submit([{ kind: 'meta', key, value: Buffer.from(value) }], RECORD_OVERHEAD_BYTES + value.length);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** TEST ONLY: changes the simulated slow-disk delay added to every sync (see testSyncDelayMs). */
  setTestSyncDelayMs(delayMs: number): void {
    requireInteger('testSyncDelayMs', delayMs, 0, 60_000);
    this.testSyncDelayMs = delayMs;
  }

  /** Makes every accepted write durable, then closes the files and releases the directory. */
  close(): Promise<void> {
    this.closingDone ??= (async () => {
      this.closing = true;
      while (this.loop !== null) await this.loop;
      this.closed = true;
      this.closeFds();
      this.lock.release();
    })();
    return this.closingDone;
  }

  private writable(): void {
    if (this.failure !== null) throw this.failure;
    if (this.closing) throw new StorageError('CLOSED', 'the log store is closed');
  }

  /** The projected state of a group after all queued writes (created on demand, not stored). */
  private project(group: GroupId): ProjectedGroup {
    return this.projections.get(group) ?? new ProjectedGroup(group, this.groups.get(group));
  }

  /**
   * Validates `ops` against the groups' projected state (all or nothing), then queues them for the next commit.
   */
  private submit(ops: readonly Op[], bytes: number): Promise<void> {
    this.writable();
    if (this.pendingBytes > 0 && this.pendingBytes + bytes > this.options.maxPendingBytes) {
      throw new StorageError(
        'QUEUE_FULL',
        `${this.pendingBytes} bytes are waiting for the disk, the limit is ${this.options.maxPendingBytes}`,
      );
    }
    const trial = new Map<GroupId, ProjectedGroup>();
    for (const op of ops) {
      if (op.kind === 'meta') continue;
      let projected = trial.get(op.group);
      if (projected === undefined) {
        const existing = this.projections.get(op.group);
        projected = existing === undefined ? new ProjectedGroup(op.group, this.groups.get(op.group)) : existing.clone();
        trial.set(op.group, projected);
      }
      applyToProjection(projected, op);
      projected.pending++;
    }
    for (const [group, projected] of trial) this.projections.set(group, projected);
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ ops, bytes, resolve, reject });
      this.pendingBytes += bytes;
      this.startLoop();
    });
  }

  private startLoop(): void {
    if (this.loop !== null) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
      if (this.failure === null && (this.queue.length > 0 || this.hasRewrites())) this.startLoop();
    });
  }

  private hasRewrites(): boolean {
    return this.rewriteGroups.size > 0 || this.rewriteMeta.size > 0;
  }

  /**
   * Starts committing what is queued now, when no commit is in flight, instead of after the microtask (from idle)
   * or the end of the event-loop turn (after a commit) that the commit loop waits for. For a driver that has
   * issued every write of its synchronous run (all its groups' Readys): the write and its fdatasync are then
   * under way before the driver goes on — the Replica applies committed entries after this, so a follower's sync
   * no longer waits for its apply. No effect while a commit is in flight (the queue joins the next one) or when
   * nothing is queued.
   */
  flush(): void {
    if (!this.waiting || this.flushed !== null || this.failure !== null || this.queue.length === 0) return;
    const calls = this.queue;
    this.queue = [];
    const done = this.commit(calls);
    done.catch(() => {}); // handled by the loop, which awaits it next
    this.flushed = { calls, done };
  }

  /** Commits whatever is queued, one commit at a time, until nothing is left. */
  private async runLoop(): Promise<void> {
    for (let first = true; ; first = false) {
      // Starting from idle, only the writes issued in the same synchronous run can join this commit: wait one
      // microtask, not an event-loop turn (a turn costs a put at 1 in flight ~0.1 ms), unless flush() starts it
      // sooner. After a commit, let the turn finish so the callbacks it released (the next Readys) join the next
      // commit: under load, commits run back to back and group whatever arrived meanwhile.
      this.waiting = true;
      if (first) await Promise.resolve();
      else await new Promise<void>((resolve) => setImmediate(resolve));
      this.waiting = false;
      let started = this.flushed;
      this.flushed = null;
      if (started === null) {
        if (this.failure !== null || (this.queue.length === 0 && !this.hasRewrites())) return;
        const calls = this.queue;
        this.queue = [];
        started = { calls, done: this.commit(calls) };
      }
      try {
        await started.done;
      } catch (error) {
        this.fail(error, started.calls);
        return;
      }
    }
  }

  /** Fail-stop: after a failed write or sync the disk's state is unknown, so nothing more is written. */
  private fail(error: unknown, calls: readonly PendingCall[]): void {
    this.failure = error instanceof StorageError ? error : ioError(error, 'committing to the log');
    const rejected = calls.concat(this.queue);
    this.queue = [];
    this.pendingBytes = 0;
    this.projections.clear();
    for (const call of rejected) call.reject(this.failure);
  }

  private async commit(calls: readonly PendingCall[]): Promise<void> {
    if (this.active.size >= this.options.segmentMaxBytes) await this.startSegment(this.active.seq + 1);
    const batchSeq = this.nextBatchSeq;
    const refs = hasSnapshotOps(calls) ? await this.writeSnapshotFiles(calls, batchSeq) : NO_REFS;
    let userBytes = 0;
    for (const call of calls) userBytes += call.bytes;
    const rewrite = this.takeRewrites();
    const encoder = new BatchEncoder(this.active.salt, userBytes + rewrite.bytes + 1024);
    const positions: number[] = [];
    for (const state of rewrite.groups) {
      encoder.groupReset(state.id, state.base());
      const entries =
        state.lastIndex >= state.firstIndex
          ? this.readEntries(state, state.firstIndex, state.lastIndex + 1, Number.POSITIVE_INFINITY)
          : [];
      for (let i = 0; i < entries.length; i += REWRITE_CHUNK_ENTRIES) {
        encoder.entries(state.id, entries.slice(i, i + REWRITE_CHUNK_ENTRIES), positions);
      }
    }
    for (const key of rewrite.meta) encoder.meta(key, this.meta.get(key)!);
    const rewriteRecords = encoder.recordCount;
    for (const call of calls) {
      for (const op of call.ops) encodeOp(encoder, op, refs);
    }
    const batch = encoder.commit(batchSeq);

    const fileBase = this.active.size;
    let extended: boolean;
    try {
      // A small commit is written here, so that its fdatasync starts before this call returns (no await).
      if (batch.length > SYNC_WRITE_MAX_BYTES) await writeFully(this.active.fd, batch, fileBase);
      else writeFullySync(this.active.fd, batch, fileBase);
      extended = this.preallocate(fileBase + batch.length);
    } catch (error) {
      throw ioError(error, 'writing to the log');
    }
    // Inline only a small commit (see options.syncInlineMaxBytes), not one whose sync also writes out the zeros of
    // a new preallocation, and only while the disk is fast.
    const inline =
      !extended && batch.length <= this.options.syncInlineMaxBytes && this.lastSyncMs <= this.options.syncInlineMaxMs;
    const startedMs = this.options.clock();
    try {
      if (inline)
        fdatasyncSync(this.active.fd); // the event loop waits for the disk
      else await datasync(this.active.fd);
    } catch (error) {
      throw ioError(error, 'syncing the log');
    }
    if (this.testSyncDelayMs > 0) await sleep(this.testSyncDelayMs);
    const syncMs = this.options.clock() - startedMs;
    // A sync that also wrote out a new preallocation says nothing about how long a small commit takes.
    if (!extended) this.lastSyncMs = syncMs;
    if (inline) this.inlineSyncs++;

    // Durable: make it visible, exactly as recovery would see it.
    this.active.size += batch.length;
    this.nextBatchSeq++;
    this.commits++;
    const obsoleteFiles: string[] = [];
    let recordIndex = 0;
    for (let pos = 0; pos < batch.length; ) {
      const frame = readFrame(batch, pos, batch.length, null);
      if (!frame.ok) throw new StorageError('CORRUPTED', 'a commit changed in memory while it was written');
      const record = decodeRecord(batch, frame.type, frame.bodyStart, frame.end);
      const cacheFrom = recordIndex >= rewriteRecords ? batch : null;
      this.applyRecord(record, this.active.seq, cacheFrom, fileBase, obsoleteFiles);
      pos = frame.end;
      recordIndex++;
    }
    for (const call of calls) {
      this.pendingBytes -= call.bytes;
      for (const op of call.ops) {
        if (op.kind === 'meta') continue;
        const projected = this.projections.get(op.group);
        if (projected !== undefined && --projected.pending === 0) this.projections.delete(op.group);
      }
    }
    if (this.options.onSync !== undefined) {
      try {
        this.options.onSync(syncMs, encoder.recordCount, batch.length, inline);
      } catch {
        // An observer's failure must not fail the commit.
      }
    }
    // Snapshot files the commit made obsolete go before the callers hear back (rare: only snapshot changes).
    for (const file of obsoleteFiles) await this.snapshots.remove(file);
    for (const call of calls) call.resolve();
    this.bytesSinceCheckpoint += userBytes;
    await this.collectGarbage();
  }

  /**
   * When the data now reaches past the zeros written ahead of it, writes the next options.preallocateBytes of
   * zeros after `dataEnd` (never past segmentMaxBytes: the segment is closed there). The commit's fdatasync makes
   * them durable together with the new file length; the commits after it overwrite zeros only. True when it
   * extended the file (that commit's sync then writes the zeros too, so it is not made on the calling thread).
   */
  private preallocate(dataEnd: number): boolean {
    const active = this.active;
    if (dataEnd <= active.allocated || this.options.preallocateBytes === 0) return false;
    const target = Math.max(dataEnd, Math.min(dataEnd + this.options.preallocateBytes, this.options.segmentMaxBytes));
    if (target > dataEnd) zeroFillSync(active.fd, dataEnd, target);
    active.allocated = target;
    return true;
  }

  /** Writes the data files of the snapshots in this commit (synced, with the directory) before the commit. */
  private async writeSnapshotFiles(calls: readonly PendingCall[], batchSeq: number): Promise<Map<Op, SnapshotRef>> {
    const refs = new Map<Op, SnapshotRef>();
    let n = 0;
    for (const call of calls) {
      for (const op of call.ops) {
        if (op.kind !== 'snapshotInstall' && op.kind !== 'snapshotCreate') continue;
        if (op.data.length === 0) {
          refs.set(op, { meta: op.meta, file: '', size: 0, crc: 0 });
          continue;
        }
        const file = SnapshotFiles.fileName(op.group, op.meta.index, batchSeq, n++);
        try {
          const crc = await this.snapshots.write(file, op.data);
          refs.set(op, { meta: op.meta, file, size: op.data.length, crc });
        } catch (error) {
          throw ioError(error, 'writing a snapshot file');
        }
      }
    }
    if (n > 0) {
      try {
        await this.snapshots.syncDirectory();
      } catch (error) {
        throw ioError(error, 'syncing the snapshot directory');
      }
    }
    return refs;
  }

  /**
   * Applies one durable record to the in-memory state: used both by recovery and after each commit, so the two
   * agree by construction. `cacheFrom` is the commit's buffer when its entries should be cached.
   */
  private applyRecord(
    record: WalRecord,
    segment: number,
    cacheFrom: Buffer | null,
    fileBase: number,
    obsoleteFiles: string[],
  ): void {
    this.recordOrdinal++;
    switch (record.type) {
      case RecordType.meta:
        this.meta.set(record.key, record.value);
        this.metaSegments.set(record.key, segment);
        return;
      case RecordType.commit:
        return;
      case RecordType.groupReset: {
        if (this.recovering) this.supersededAt.set(record.group, this.recordOrdinal);
        const existing = this.groups.get(record.group);
        if (existing === undefined) this.groups.set(record.group, new GroupState(record.group, record.base, segment));
        else existing.resetTo(record.base, segment);
        return;
      }
      default:
        break;
    }
    const state = this.groups.get(record.group);
    if (state === undefined) {
      if (!this.recovering) throw new StorageError('CORRUPTED', `a commit refers to unknown group ${record.group}`);
      // The group's base was in a deleted segment: legitimate only if a later reset or delete supersedes it.
      if (record.type === RecordType.groupDelete) this.supersededAt.set(record.group, this.recordOrdinal);
      else this.unknownGroupRecords.set(record.group, this.recordOrdinal);
      return;
    }
    switch (record.type) {
      case RecordType.entries: {
        const first = record.entries[0];
        if (first === undefined) return;
        const skip = state.beginAppend(first.index, record.entries.length);
        for (let i = skip; i < record.entries.length; i++) {
          const e = record.entries[i]!;
          let cached: Entry | undefined;
          if (cacheFrom !== null) {
            const dataStart = e.pos + ENTRY_HEADER_BYTES;
            cached = { index: e.index, term: e.term, type: e.type, data: cacheFrom.subarray(dataStart, e.pos + e.len) };
          }
          state.log.push(e.term, e.type, segment, fileBase + e.pos, e.len, cached);
          if (cached !== undefined) this.cache.add(state, cached);
        }
        return;
      }
      case RecordType.hardState:
        state.hardState = record.hardState;
        return;
      case RecordType.snapshotInstall:
      case RecordType.snapshotCreate: {
        const previous = state.snapshot;
        if (record.type === RecordType.snapshotInstall) state.installSnapshot(record.snapshot);
        else state.recordSnapshot(record.snapshot);
        obsoleteFiles.push(state.snapshot === previous ? record.snapshot.file : previous.file);
        return;
      }
      case RecordType.compact:
        state.compact(record.index);
        return;
      case RecordType.groupDelete:
        obsoleteFiles.push(state.snapshot.file);
        this.groups.delete(record.group);
        if (this.recovering) this.supersededAt.set(record.group, this.recordOrdinal);
        return;
    }
  }

  /** Creates segment `seq`, durable before anything is written to it, and makes it the active one. */
  private async startSegment(seq: number): Promise<void> {
    const previous = this.active as ActiveSegment | undefined; // unset while opening a brand-new store
    if (previous !== undefined && previous.allocated > previous.size) {
      // A closed segment holds data only; cut (and synced) before the next segment exists.
      try {
        await truncateDurably(previous.fd, previous.size);
      } catch (error) {
        throw ioError(error, `closing log segment ${previous.seq}`);
      }
      previous.allocated = previous.size;
    }
    const salt = randomBytes(4).readUInt32LE(0);
    let fd: number;
    try {
      fd = await createSegment(this.walDir, { seq, firstBatchSeq: this.nextBatchSeq, salt });
    } catch (error) {
      throw ioError(error, `creating log segment ${seq}`);
    }
    if (previous !== undefined) this.closedSegmentBytes.set(previous.seq, previous.size);
    this.segmentFds.set(seq, fd);
    this.active = { seq, fd, salt, size: SEGMENT_HEADER_BYTES, allocated: SEGMENT_HEADER_BYTES };
  }

  /**
   * Deletes segments nothing needs: every group's latest GROUP_RESET, and every metadata key's latest record,
   * is in a newer segment (a group needs nothing before its reset).
   *
   * When more than `checkpointSegments` remain and the log holds over twice as many bytes as the groups' live
   * entries, the groups and keys holding the oldest segments back are marked for rewriting into the active one.
   * The 2x rule bounds the extra writing: a rewrite copies the live bytes only after at least as many bytes of
   * garbage piled up (a group that never compacts its log is never rewritten, its log just grows). At most one
   * such round per segmentMaxBytes of new writes.
   */
  private async collectGarbage(): Promise<void> {
    let keepFrom = this.active.seq;
    for (const state of this.groups.values()) keepFrom = Math.min(keepFrom, state.baseSegment);
    for (const segment of this.metaSegments.values()) keepFrom = Math.min(keepFrom, segment);
    // Oldest first, each deletion synced before the next: whatever a crash keeps, the survivors are contiguous.
    for (const [seq, fd] of this.segmentFds) {
      if (seq >= keepFrom) break;
      closeSync(fd);
      this.segmentFds.delete(seq);
      this.closedSegmentBytes.delete(seq);
      unlinkSync(join(this.walDir, segmentFileName(seq)));
      await fsyncDirectory(this.walDir);
    }

    const excess = this.segmentFds.size - this.options.checkpointSegments;
    if (excess <= 0 || this.hasRewrites() || this.bytesSinceCheckpoint < this.options.segmentMaxBytes) return;
    let liveBytes = 0;
    for (const state of this.groups.values()) liveBytes += state.log.storedBytes;
    if (this.walBytes() <= 2 * liveBytes) return;
    const seqs = [...this.segmentFds.keys()];
    const rewriteBelow = seqs[excess]!;
    for (const state of this.groups.values()) {
      if (state.baseSegment < rewriteBelow) this.rewriteGroups.add(state.id);
    }
    for (const [key, segment] of this.metaSegments) {
      if (segment < rewriteBelow) this.rewriteMeta.add(key);
    }
    this.bytesSinceCheckpoint = 0;
  }

  /** Picks the groups and keys to rewrite in this commit, within checkpointMaxBytes. */
  private takeRewrites(): { groups: GroupState[]; meta: string[]; bytes: number } {
    const groups: GroupState[] = [];
    let bytes = 0;
    for (const id of this.rewriteGroups) {
      if (groups.length > 0 && bytes >= this.options.checkpointMaxBytes) break;
      this.rewriteGroups.delete(id);
      const state = this.groups.get(id);
      if (state === undefined) continue;
      groups.push(state);
      bytes += RECORD_OVERHEAD_BYTES * 2 + state.log.storedBytes;
    }
    const meta = [...this.rewriteMeta].filter((key) => this.meta.has(key));
    this.rewriteMeta.clear();
    for (const key of meta) bytes += RECORD_OVERHEAD_BYTES + this.meta.get(key)!.length;
    return { groups, meta, bytes };
  }

  private closeFds(): void {
    for (const fd of this.segmentFds.values()) closeSync(fd);
    this.segmentFds.clear();
  }
}
