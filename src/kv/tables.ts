import { createHash } from 'node:crypto';
import { type Database, open, type RootDatabase, type Transaction } from 'lmdb';
import {
  compareBytes,
  concatBytes,
  EMPTY_BYTES,
  plain,
  prefixEnd,
  readUint53,
  startsWith,
  uint53Bytes,
  utf8,
  viewOf,
  writeUint53,
} from './bytes.js';
import { KvError } from './errors.js';
import type { ByteRange } from './keys.js';
import {
  decodeRecord,
  decodeRecordCopy,
  eventSize,
  recordSize,
  type StoredEvent,
  type StoredRecord,
  writeEvent,
  writeRecord,
} from './record.js';

/**
 * The physical layout of the state machine in one lmdb environment (opened by path, page size 8 KiB).
 *
 * lmdb keys are limited (4026 bytes with 8 KiB pages, 1978 with 4 KiB), but Cairn keys may be 4096 bytes and
 * range scans must return them in byte order. So:
 *  - `kv`: a key of at most SHORT_KEY_MAX (4000) bytes is stored under itself. A longer key L lives in `long`,
 *    and `kv` holds a *group marker* under L[0:4000] + 0x00 (4001 bytes, a length no real key stored in `kv`
 *    has) counting the long keys sharing that 4000-byte prefix.
 *  - `long`: sha256(L[0:4000]) + L[4000:] → record. The tails of one group are thus sorted by bytes.
 * A scan walks `kv` in order and, at a group marker, walks that group's tails in `long` (an in-order merge:
 * every real key in the group sorts after the short key equal to the prefix and before any later `kv` entry),
 * so memory stays bounded by two cursors however many long keys exist.
 *
 * Other tables: `leases` (id → ttl, key count), `leaseKeys` (id + sha256(key) → key: the keys to delete on
 * revoke), `history` (revision + sequence → event: the watch history) and `meta` (applied index, revision,
 * oldest revision, lease count — written in the same transaction as the data it describes).
 */
export const SHORT_KEY_MAX = 4000;
const GROUP_MARKER_LENGTH = SHORT_KEY_MAX + 1;
const HASH_BYTES = 32;
const PAGE_SIZE = 8192;
const FORMAT_VERSION = 1;
/** Values up to this size are encoded in a reused buffer (larger ones are rare and get their own). */
const SCRATCH_BYTES = 64 * 1024;
const HISTORY_KEY_BYTES = 12;
const META_KEY = utf8('state');

export interface MetaState {
  readonly appliedIndex: number;
  readonly revision: number;
  /** The oldest revision a watch may start from (history of older revisions is compacted). */
  readonly oldestRevision: number;
  readonly leaseCount: number;
}

export const INITIAL_META: MetaState = Object.freeze({
  appliedIndex: 0,
  revision: 1,
  oldestRevision: 1,
  leaseCount: 0,
});

export interface LeaseRow {
  readonly ttlSeconds: number;
  readonly keys: number;
}

export interface ScannedEntry {
  readonly key: Uint8Array;
  /** The encoded record (header + value). */
  readonly raw: Uint8Array;
}

export interface HistoryEntry {
  readonly revision: number;
  readonly seq: number;
  readonly raw: Uint8Array;
}

type Table = Database<Uint8Array, Uint8Array>;

/** A write nested() undoes if its body throws: the value the key had before (undefined: it had none). */
interface UndoStep {
  readonly table: Table;
  readonly key: Uint8Array;
  readonly previous: Uint8Array | undefined;
}

/** lmdb-js accepts a transaction for getBinary, though its typings omit the parameter. */
function getBinary(table: Table, key: Uint8Array, txn?: Transaction): Uint8Array | undefined {
  const get = table.getBinary as (key: Uint8Array, options?: { transaction: Transaction }) => Buffer | undefined;
  return get.call(table, key, txn ? { transaction: txn } : undefined);
}

function sha256(bytes: Uint8Array): Uint8Array {
  return plain(createHash('sha256').update(bytes).digest());
}

export function historyKey(revision: number, seq: number): Uint8Array {
  const out = new Uint8Array(HISTORY_KEY_BYTES);
  writeHistoryKey(new DataView(out.buffer), revision, seq);
  return out;
}

/** The history key layout: revision (u53, big-endian, so keys sort by revision) then the event's sequence (u32). */
function writeHistoryKey(view: DataView, revision: number, seq: number): void {
  writeUint53(view, 0, revision);
  view.setUint32(8, seq);
}

function leaseKeyPrefix(id: number): Uint8Array {
  return uint53Bytes(id);
}

export class KvTables {
  readonly root: RootDatabase<Uint8Array, Uint8Array>;
  private readonly kv: Table;
  private readonly long: Table;
  private readonly leaseTable: Table;
  private readonly leaseKeys: Table;
  private readonly history: Table;
  private readonly meta: Table;
  private readonly pendingSyncs = new Set<Promise<void>>();
  private readonly eventKey = new Uint8Array(HISTORY_KEY_BYTES);
  private readonly eventKeyView = new DataView(this.eventKey.buffer);
  /**
   * Where records and events are encoded before a put. lmdb reads a value during the synchronous put and
   * remembers the native address of the buffer it came from, so one reused buffer saves an allocation and an
   * address lookup per value (measured: applying a put 8.6 -> 6.9 µs, docs/kv.md).
   */
  private readonly scratch = new Uint8Array(SCRATCH_BYTES);
  /** Inside nested(): the writes to undo if its body throws. */
  private undo: UndoStep[] | null = null;
  private readonly scratchView = new DataView(this.scratch.buffer);

  private constructor(
    readonly dir: string,
    readonly syncCommits: boolean,
  ) {
    this.root = open<Uint8Array, Uint8Array>({
      path: dir,
      pageSize: PAGE_SIZE,
      maxDbs: 8,
      // By default the Raft log is the source of truth: after a crash the node replays it from our applied
      // index, so commits need not be fsynced one by one; flush() makes them durable before the log is
      // compacted. With syncCommits every commit is fsynced before applyBatch returns (slower, but the
      // environment also survives a power loss intact).
      noSync: !syncCommits,
      overlappingSync: false,
      // Pages are changed in the memory map itself: a commit writes no pages with pwrite(), it only updates the
      // meta page (with noSync, lmdb leaves the writing back to the kernel). Applying one put: 25 -> 13 µs
      // (docs/kv.md). lmdb has no child transactions in this mode, so nested() undoes with its own log.
      useWritemap: true,
      keyEncoding: 'binary',
      encoding: 'binary',
    });
    const maxKeySize = (this.root as unknown as { maxKeySize: number }).maxKeySize;
    if (!(maxKeySize >= GROUP_MARKER_LENGTH)) {
      void this.root.close();
      throw new KvError('STORAGE_CORRUPT', `lmdb environment at ${dir} allows keys of ${maxKeySize} bytes only`);
    }
    const table = (name: string): Table => this.root.openDB({ name, keyEncoding: 'binary', encoding: 'binary' });
    this.kv = table('kv');
    this.long = table('long');
    this.leaseTable = table('leases');
    this.leaseKeys = table('leaseKeys');
    this.history = table('history');
    this.meta = table('meta');
  }

  static open(dir: string, syncCommits = false): KvTables {
    return new KvTables(dir, syncCommits);
  }

  /** Runs `body` in one synchronous write transaction (committed without fsync); aborts it if body throws. */
  write<T>(body: () => T): T {
    return this.root.transactionSync(body);
  }

  /**
   * Runs `body` inside the current write transaction so that, if it throws, its own writes are undone and the
   * transaction goes on as if it had not run. lmdb's child transactions are not available with a write map, so
   * every table write in `body` first remembers the value it replaces, and a throw puts those back in reverse.
   */
  nested<T>(body: () => T): T {
    if (this.undo !== null) throw new Error('nested() inside nested()');
    const undo: UndoStep[] = [];
    this.undo = undo;
    try {
      return body();
    } catch (error) {
      this.undo = null;
      for (let i = undo.length - 1; i >= 0; i--) {
        const step = undo[i]!;
        if (step.previous === undefined) step.table.removeSync(step.key);
        else step.table.putSync(step.key, step.previous);
      }
      throw error;
    } finally {
      this.undo = null;
    }
  }

  /** Every table write goes through here or removeIn(): inside nested(), the replaced value is remembered first. */
  private putIn(table: Table, key: Uint8Array, value: Uint8Array): void {
    if (this.undo !== null) this.remember(table, key);
    table.putSync(key, value);
  }

  private removeIn(table: Table, key: Uint8Array): void {
    if (this.undo !== null) this.remember(table, key);
    table.removeSync(key);
  }

  private remember(table: Table, key: Uint8Array): void {
    const previous = table.getBinary(key);
    // Copies: the key may be a reused scratch buffer, and lmdb hands out values in a shared buffer.
    this.undo!.push({
      table,
      key: Uint8Array.prototype.slice.call(key),
      previous: previous === undefined ? undefined : Uint8Array.prototype.slice.call(previous),
    });
  }

  /** A read transaction pinning one consistent snapshot; call done() on it. */
  readTransaction(): Transaction {
    return this.root.useReadTransaction();
  }

  // ------------------------------------------------------------------------------------------- meta

  readMeta(txn?: Transaction): MetaState | null {
    const raw = getBinary(this.meta, META_KEY, txn);
    if (raw === undefined) return null;
    if (raw.length !== 36) throw new KvError('STORAGE_CORRUPT', 'meta record has the wrong size');
    const view = viewOf(raw);
    const format = view.getUint32(0);
    if (format !== FORMAT_VERSION) throw new KvError('STORAGE_CORRUPT', `unknown state format ${format}`);
    return {
      appliedIndex: readUint53(view, 4),
      revision: readUint53(view, 12),
      oldestRevision: readUint53(view, 20),
      leaseCount: readUint53(view, 28),
    };
  }

  writeMeta(state: MetaState): void {
    const out = new Uint8Array(36);
    const view = new DataView(out.buffer);
    view.setUint32(0, FORMAT_VERSION);
    writeUint53(view, 4, state.appliedIndex);
    writeUint53(view, 12, state.revision);
    writeUint53(view, 20, state.oldestRevision);
    writeUint53(view, 28, state.leaseCount);
    this.putIn(this.meta, META_KEY, out);
  }

  // ------------------------------------------------------------------------------------------- keys

  private longLocation(key: Uint8Array): { marker: Uint8Array; member: Uint8Array } {
    const prefix = key.subarray(0, SHORT_KEY_MAX);
    return {
      marker: concatBytes(prefix, new Uint8Array(1)),
      member: concatBytes(sha256(prefix), key.subarray(SHORT_KEY_MAX)),
    };
  }

  getRaw(key: Uint8Array, txn?: Transaction): Uint8Array | undefined {
    if (key.length <= SHORT_KEY_MAX) return getBinary(this.kv, key, txn);
    return getBinary(this.long, this.longLocation(key).member, txn);
  }

  /**
   * A key's record. Every put and delete reads its key's previous record, so a short key is read from lmdb's shared
   * read buffer (`getBinaryFast`: valid until the next read) and only the value is copied out, instead of
   * getBinary's copy of the whole record plus the views decodeRecord makes.
   */
  getRecord(key: Uint8Array, txn?: Transaction): StoredRecord | undefined {
    if (key.length > SHORT_KEY_MAX) {
      const raw = this.getRaw(key, txn);
      return raw === undefined ? undefined : decodeRecord(raw);
    }
    const get = this.kv.getBinaryFast as (
      key: Uint8Array,
      options?: { transaction: Transaction },
    ) => Buffer | undefined;
    const shared = get.call(this.kv, key, txn ? { transaction: txn } : undefined);
    if (shared === undefined) return undefined;
    // The shared buffer is longer than the value read: lmdb-js records every read's size in `lastSize` (its own
    // getBinary slices the shared buffer by it too).
    return decodeRecordCopy(shared, (this.kv as unknown as { lastSize: number }).lastSize);
  }

  /** Inside a write transaction. */
  putRecord(key: Uint8Array, record: StoredRecord, existed: boolean): void {
    const size = recordSize(record);
    const out = this.valueBuffer(size);
    writeRecord(out, this.viewOf(out), record);
    const raw = out.subarray(0, size);
    if (key.length <= SHORT_KEY_MAX) {
      this.putIn(this.kv, key, raw);
      return;
    }
    const { marker, member } = this.longLocation(key);
    this.putIn(this.long, member, raw);
    if (!existed) this.adjustGroup(marker, +1);
  }

  /** Inside a write transaction; the key must exist. */
  deleteRecord(key: Uint8Array): void {
    if (key.length <= SHORT_KEY_MAX) {
      this.removeIn(this.kv, key);
      return;
    }
    const { marker, member } = this.longLocation(key);
    this.removeIn(this.long, member);
    this.adjustGroup(marker, -1);
  }

  private adjustGroup(marker: Uint8Array, delta: number): void {
    const raw = this.kv.getBinary(marker);
    const count = (raw === undefined ? 0 : viewOf(raw).getUint32(0)) + delta;
    if (count <= 0) {
      this.removeIn(this.kv, marker);
      return;
    }
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, count);
    this.putIn(this.kv, marker, out);
  }

  /**
   * Every key in `range`, in byte order, with its encoded record. Lazily iterated: stop early by breaking out.
   * Uses `txn` when given (a consistent snapshot), else the current read or write transaction.
   */
  *scan(range: ByteRange, txn?: Transaction): Generator<ScannedEntry> {
    const start = range.start;
    const end = range.end;
    const startPrefix = start.length > SHORT_KEY_MAX ? start.subarray(0, SHORT_KEY_MAX) : start;
    const options: { start: Uint8Array; transaction?: Transaction } = { start: startPrefix };
    if (txn) options.transaction = txn;
    for (const entry of this.kv.getRange(options)) {
      const physical = entry.key as Uint8Array;
      if (physical.length === GROUP_MARKER_LENGTH) {
        const prefix = plain(physical.subarray(0, SHORT_KEY_MAX));
        // Every member of the group is longer than `prefix`, hence after it; none can be before `end` if the
        // prefix itself is not.
        if (end !== null && compareBytes(prefix, end) >= 0) return;
        const hash = sha256(prefix);
        const tailStart =
          start.length > SHORT_KEY_MAX && startsWith(start, prefix) ? start.subarray(SHORT_KEY_MAX) : EMPTY_BYTES;
        const memberOptions: { start: Uint8Array; end?: Uint8Array; transaction?: Transaction } = {
          start: concatBytes(hash, tailStart),
        };
        const hashEnd = prefixEnd(hash);
        if (hashEnd !== null) memberOptions.end = hashEnd;
        if (txn) memberOptions.transaction = txn;
        for (const member of this.long.getRange(memberOptions)) {
          const memberKey = member.key as Uint8Array;
          if (!startsWith(memberKey, hash)) break;
          const key = concatBytes(prefix, memberKey.subarray(HASH_BYTES));
          if (compareBytes(key, start) < 0) continue;
          if (end !== null && compareBytes(key, end) >= 0) return;
          yield { key, raw: member.value };
        }
        continue;
      }
      if (compareBytes(physical, start) < 0) continue;
      if (end !== null && compareBytes(physical, end) >= 0) return;
      yield { key: plain(physical), raw: entry.value };
    }
  }

  // ------------------------------------------------------------------------------------------- leases

  getLease(id: number, txn?: Transaction): LeaseRow | undefined {
    const raw = getBinary(this.leaseTable, uint53Bytes(id), txn);
    if (raw === undefined) return undefined;
    const view = viewOf(raw);
    return { ttlSeconds: readUint53(view, 0), keys: readUint53(view, 8) };
  }

  putLease(id: number, row: LeaseRow): void {
    const out = new Uint8Array(16);
    const view = new DataView(out.buffer);
    writeUint53(view, 0, row.ttlSeconds);
    writeUint53(view, 8, row.keys);
    this.putIn(this.leaseTable, uint53Bytes(id), out);
  }

  deleteLease(id: number): void {
    this.removeIn(this.leaseTable, uint53Bytes(id));
  }

  /** Leases in id order, starting after `afterId` (0 = from the first). */
  *leases(txn?: Transaction, afterId = 0): Generator<{ id: number } & LeaseRow> {
    const options: { start: Uint8Array; transaction?: Transaction } = { start: uint53Bytes(afterId + 1) };
    if (txn) options.transaction = txn;
    for (const entry of this.leaseTable.getRange(options)) {
      const id = readUint53(viewOf(entry.key as Uint8Array), 0);
      const view = viewOf(entry.value);
      yield { id, ttlSeconds: readUint53(view, 0), keys: readUint53(view, 8) };
    }
  }

  attachToLease(id: number, key: Uint8Array): void {
    this.putIn(this.leaseKeys, concatBytes(leaseKeyPrefix(id), sha256(key)), key);
  }

  detachFromLease(id: number, key: Uint8Array): void {
    this.removeIn(this.leaseKeys, concatBytes(leaseKeyPrefix(id), sha256(key)));
  }

  /** The keys attached to a lease (in hash order). */
  leaseKeysOf(id: number): Uint8Array[] {
    const keys: Uint8Array[] = [];
    const prefix = leaseKeyPrefix(id);
    for (const entry of this.leaseKeys.getRange({ start: prefix, end: uint53Bytes(id + 1) })) {
      keys.push(plain(entry.value));
    }
    return keys;
  }

  // ------------------------------------------------------------------------------------------- history

  putEvent(revision: number, seq: number, event: StoredEvent): void {
    const size = eventSize(event);
    const out = this.valueBuffer(size);
    writeEvent(out, this.viewOf(out), event);
    this.putEncodedEvent(revision, seq, out.subarray(0, size));
  }

  /** Inside a write transaction: an event already encoded (a snapshot being restored). */
  putEncodedEvent(revision: number, seq: number, raw: Uint8Array): void {
    // lmdb copies the key into its write instruction at once, so one scratch key serves every put.
    writeHistoryKey(this.eventKeyView, revision, seq);
    this.putIn(this.history, this.eventKey, raw);
  }

  /** Where to encode a value of `size` bytes for an immediate putSync: the scratch buffer when it fits. */
  private valueBuffer(size: number): Uint8Array {
    return size <= SCRATCH_BYTES ? this.scratch : new Uint8Array(size);
  }

  private viewOf(out: Uint8Array): DataView {
    return out === this.scratch ? this.scratchView : new DataView(out.buffer);
  }

  /** History entries from (`revision`, `seq`) on, in (revision, seq) order. */
  *historyFrom(revision: number, txn?: Transaction, seq = 0): Generator<HistoryEntry> {
    const options: { start: Uint8Array; transaction?: Transaction } = { start: historyKey(revision, seq) };
    if (txn) options.transaction = txn;
    for (const entry of this.history.getRange(options)) {
      const view = viewOf(entry.key as Uint8Array);
      yield { revision: readUint53(view, 0), seq: view.getUint32(8), raw: entry.value };
    }
  }

  /** Inside a write transaction: removes up to `maxEvents` events of revisions < `revision`; returns how many. */
  deleteHistoryBefore(revision: number, maxEvents: number): number {
    const doomed: Uint8Array[] = [];
    for (const key of this.history.getKeys({ end: historyKey(revision, 0), limit: maxEvents })) {
      doomed.push(key as Uint8Array);
    }
    for (const key of doomed) this.removeIn(this.history, key);
    return doomed.length;
  }

  /** Whether any history entry older than `revision` is still stored (compaction lag). */
  hasHistoryBefore(revision: number): boolean {
    for (const _ of this.history.getKeys({ end: historyKey(revision, 0), limit: 1 })) return true;
    return false;
  }

  // ------------------------------------------------------------------------------------------- lifecycle

  /** fsyncs everything committed so far (mdb_env_sync with force, on lmdb's worker thread). */
  sync(): Promise<void> {
    const root = this.root as unknown as { sync(callback: (error?: unknown) => void): void };
    const done = new Promise<void>((resolve, reject) => {
      root.sync((error) => (error ? reject(error) : resolve()));
    });
    // close() waits for syncs in flight: lmdb must not sync an environment that is being closed.
    this.pendingSyncs.add(done);
    const forget = () => this.pendingSyncs.delete(done);
    done.then(forget, forget);
    return done;
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.pendingSyncs]);
    // lmdb-js can block forever when an environment is closed in the same event-loop turn as a synchronous
    // commit; yielding to the loop first lets it finish its post-commit bookkeeping.
    await new Promise<void>((resolve) => setImmediate(resolve));
    await this.root.close();
  }
}
