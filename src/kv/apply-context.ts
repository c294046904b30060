import { compareBytes, EMPTY_BYTES, utf8 } from './bytes.js';
import { rawCommandType, unpackCommand, validateCommand } from './command-codec.js';
import { KvError } from './errors.js';
import { selectorRange } from './keys.js';
import type { KvLimits } from './options.js';
import { type RangeLimits, readRange } from './reads.js';
import { eventBytes, type StoredEvent, type StoredRecord, toKeyValue } from './record.js';
import type { KvTables, MetaState } from './tables.js';
import type {
  ApplyItem,
  ApplyResult,
  CompactCommand,
  Compare,
  DeleteCommand,
  DeleteRangeCommand,
  KeyValue,
  KvCommand,
  LeaseGrantCommand,
  LeaseRevokeCommand,
  PutCommand,
  TxnCommand,
  TxnOp,
  TxnOpResult,
} from './types.js';

/** The events of one revision, kept in memory for live watchers; null = too large, read them from history. */
export interface RevisionEvents {
  readonly revision: number;
  readonly events: StoredEvent[] | null;
}

export interface ApplyContextOptions {
  readonly limits: KvLimits;
  readonly range: RangeLimits;
  /** Keep events in memory for watchers (false when nobody watches: saves the copies). */
  readonly keepEvents: boolean;
  /** Bytes of events kept in memory per batch before the rest is left to the stored history. */
  readonly keepEventsMaxBytes: number;
}

/**
 * Applies decoded commands inside one lmdb write transaction (the store opens it around a whole batch).
 * Deterministic: the outcome depends only on the state and the command, never on time, randomness or on how
 * entries were grouped into batches.
 *
 * Every write command runs in a revision scope: all its changes share revision + 1, and the revision moves
 * only if something changed. A command either fully applies or leaves no trace: single-key commands check
 * everything before writing; a transaction's writes are undone when one of its operations fails (KvTables.nested).
 */
export class ApplyContext {
  readonly published: RevisionEvents[] = [];
  /** Events written to the history in this batch (drives how much old history to delete). */
  eventsWritten = 0;
  /** A compact command ran in this batch (its history goes at once, not at the next deletion step). */
  compactedHistory = false;
  private keptBytes = 0;
  private scope: { revision: number; events: StoredEvent[] } | null = null;

  /** Mutated in place while the batch runs (the batch is one transaction: it commits whole or not at all). */
  private readonly s: { -readonly [K in keyof MetaState]: MetaState[K] };

  constructor(
    private readonly tables: KvTables,
    initial: MetaState,
    private readonly options: ApplyContextOptions,
  ) {
    this.s = { ...initial };
  }

  /** The state after the entries applied so far. */
  get state(): MetaState {
    return { ...this.s };
  }

  private get limits(): KvLimits {
    return this.options.limits;
  }

  /** Applies one entry; pushes its result (a batch entry: one per command, in order) onto `out`. */
  applyItem(item: ApplyItem, out: ApplyResult[]): void {
    const index = item.index;
    const commands = item.commands;
    const decoded = item.decoded;
    if (commands !== undefined) {
      for (let i = 0; i < commands.length; i++) {
        const command = decoded?.[i];
        out.push(command ? this.applyValidated(index, command) : this.applyCommand(index, commands[i]!));
      }
    } else if (item.data === null || item.data.length === 0) {
      out.push({ ok: true, type: 'noop', index, revision: this.s.revision });
    } else {
      const command = decoded?.[0];
      out.push(command ? this.applyValidated(index, command) : this.applyCommand(index, item.data));
    }
    this.s.appliedIndex = index;
  }

  private applyCommand(index: number, data: Uint8Array): ApplyResult {
    let command: KvCommand;
    let type: KvCommand['type'] | null = null;
    try {
      const raw = unpackCommand(data);
      type = rawCommandType(raw);
      command = validateCommand(raw, this.limits);
    } catch (error) {
      return this.errorResult(index, type, error);
    }
    return this.applyValidated(index, command);
  }

  /** Applies a command validateCommand() returned (decoded from the log, or the leader's own). */
  private applyValidated(index: number, command: KvCommand): ApplyResult {
    try {
      return this.execute(index, command);
    } catch (error) {
      // Only KvErrors are outcomes; anything else (an lmdb failure) aborts the whole batch.
      if (!(error instanceof KvError)) throw error;
      this.scope = null;
      return this.errorResult(index, command.type, error);
    }
  }

  private errorResult(index: number, type: KvCommand['type'] | null, error: unknown): ApplyResult {
    if (!(error instanceof KvError)) throw error;
    const base = {
      ok: false as const,
      index,
      type,
      code: error.code,
      message: error.message,
      revision: this.s.revision,
    };
    return error.oldestRevision === undefined ? base : { ...base, oldestRevision: error.oldestRevision };
  }

  private execute(index: number, command: KvCommand): ApplyResult {
    switch (command.type) {
      case 'put': {
        // The hot path, written out: no closure and no object spreads per put.
        this.openScope();
        const { version, prevKv } = this.putChange(command);
        const revision = this.closeScope();
        return prevKv === undefined
          ? { ok: true, type: 'put', index, revision, version }
          : { ok: true, type: 'put', index, revision, version, prevKv };
      }
      case 'delete':
        return this.inScope(() => ({ ...this.delete(command), index }));
      case 'deleteRange':
        return this.inScope(() => ({ ...this.deleteRange(command), index }));
      case 'txn':
        return this.inScope(() => ({ ...this.txn(command), index }));
      case 'leaseGrant':
        return this.leaseGrant(index, command);
      case 'leaseRevoke':
        return this.inScope(() => this.leaseRevoke(index, command));
      case 'compact':
        return this.compact(index, command);
    }
  }

  // ------------------------------------------------------------------------------------ revision scope

  /**
   * Runs a write command. Its changes get revision + 1; when it finishes having changed something, the store's
   * revision becomes that, the events are kept for watchers, and the retention window moves.
   * The returned result's `revision` is filled in here (the revision after the command).
   */
  private inScope<R extends ApplyResult>(body: () => Omit<R, 'revision'>): R {
    this.openScope();
    const partial = body();
    return { ...partial, revision: this.closeScope() } as R;
  }

  /** Starts a write command's revision scope (a KvError thrown inside leaves it to applyItem to discard). */
  private openScope(): void {
    this.scope = { revision: this.s.revision + 1, events: [] };
  }

  /** Ends the scope; returns the store's revision after the command. */
  private closeScope(): number {
    const scope = this.scope!;
    this.scope = null;
    if (scope.events.length > 0) {
      const revision = scope.revision;
      const oldest = Math.max(this.s.oldestRevision, revision - this.limits.historyRetentionRevisions + 1);
      this.s.revision = revision;
      this.s.oldestRevision = oldest;
      this.keep(revision, scope.events);
    }
    return this.s.revision;
  }

  private keep(revision: number, events: StoredEvent[]): void {
    if (!this.options.keepEvents) return;
    let bytes = 0;
    for (const e of events) bytes += eventBytes(e);
    const tooMuch = this.keptBytes + bytes > this.options.keepEventsMaxBytes;
    // Once one revision is left to the history, all later ones must be too: watchers read history in order.
    const previousDropped = this.published.length > 0 && this.published[this.published.length - 1]!.events === null;
    if (tooMuch || previousDropped) {
      this.published.push({ revision, events: null });
      return;
    }
    this.keptBytes += bytes;
    this.published.push({ revision, events });
  }

  private get writeRevision(): number {
    if (this.scope === null) throw new Error('write outside a revision scope');
    return this.scope.revision;
  }

  private emit(event: StoredEvent): void {
    const scope = this.scope!;
    this.tables.putEvent(scope.revision, scope.events.length, event);
    scope.events.push(event);
    this.eventsWritten++;
  }

  // ------------------------------------------------------------------------------------ primitives

  private writePut(key: Uint8Array, keyText: string, value: Uint8Array, lease: number, prev: StoredRecord | undefined) {
    const leaseChanges = (prev?.lease ?? 0) !== lease;
    if (lease !== 0) {
      const row = this.tables.getLease(lease);
      if (row === undefined) throw new KvError('LEASE_NOT_FOUND', `lease ${lease} does not exist`);
      if (leaseChanges && row.keys >= this.limits.maxKeysPerLease) {
        throw new KvError('LEASE_KEY_LIMIT', `lease ${lease} already has ${row.keys} keys`);
      }
    }
    const revision = this.writeRevision;
    const record: StoredRecord = {
      createRevision: prev === undefined ? revision : prev.createRevision,
      modRevision: revision,
      version: (prev?.version ?? 0) + 1,
      lease,
      value,
    };
    this.tables.putRecord(key, record, prev !== undefined);
    if (leaseChanges) {
      if (prev !== undefined && prev.lease !== 0) this.detach(prev.lease, key);
      if (lease !== 0) this.attach(lease, key);
    }
    this.emit({ type: 'put', key, keyText, record, prev: prev ?? null });
    return record;
  }

  private writeDelete(key: Uint8Array, prev: StoredRecord, detachLease: boolean): void {
    this.tables.deleteRecord(key);
    if (detachLease && prev.lease !== 0) this.detach(prev.lease, key);
    const record: StoredRecord = {
      createRevision: 0,
      modRevision: this.writeRevision,
      version: 0,
      lease: 0,
      value: EMPTY_BYTES,
    };
    this.emit({ type: 'delete', key, record, prev });
  }

  private attach(lease: number, key: Uint8Array): void {
    const row = this.tables.getLease(lease)!;
    this.tables.putLease(lease, { ...row, keys: row.keys + 1 });
    this.tables.attachToLease(lease, key);
  }

  private detach(lease: number, key: Uint8Array): void {
    const row = this.tables.getLease(lease);
    if (row !== undefined) this.tables.putLease(lease, { ...row, keys: Math.max(0, row.keys - 1) });
    this.tables.detachFromLease(lease, key);
  }

  private checkConditions(prev: StoredRecord | undefined, ifVersion?: number, ifModRevision?: number): void {
    if (ifVersion !== undefined && (prev?.version ?? 0) !== ifVersion) {
      throw new KvError('COMPARE_FAILED', `version is ${prev?.version ?? 0}, not ${ifVersion}`);
    }
    if (ifModRevision !== undefined && (prev?.modRevision ?? 0) !== ifModRevision) {
      throw new KvError('COMPARE_FAILED', `modRevision is ${prev?.modRevision ?? 0}, not ${ifModRevision}`);
    }
  }

  // ------------------------------------------------------------------------------------ commands

  private put(cmd: PutCommand | (TxnOp & { type: 'put' })) {
    const { version, prevKv } = this.putChange(cmd);
    const result = { ok: true as const, type: 'put' as const, version };
    return prevKv === undefined ? result : { ...result, prevKv };
  }

  /** A put's change; `prevKv` only when the command asked for it (null: the key did not exist). */
  private putChange(cmd: PutCommand | (TxnOp & { type: 'put' })): { version: number; prevKv?: KeyValue | null } {
    const key = utf8(cmd.key);
    const prev = this.tables.getRecord(key);
    if ('ifVersion' in cmd || 'ifModRevision' in cmd) {
      const c = cmd as PutCommand;
      this.checkConditions(prev, c.ifVersion, c.ifModRevision);
    }
    const record = this.writePut(key, cmd.key, cmd.value, cmd.lease ?? 0, prev);
    if (!cmd.prevKv) return { version: record.version };
    return { version: record.version, prevKv: prev === undefined ? null : toKeyValue(cmd.key, prev) };
  }

  private delete(cmd: DeleteCommand | (TxnOp & { type: 'delete' })) {
    const key = utf8(cmd.key);
    const prev = this.tables.getRecord(key);
    if ('ifVersion' in cmd || 'ifModRevision' in cmd) {
      const c = cmd as DeleteCommand;
      this.checkConditions(prev, c.ifVersion, c.ifModRevision);
    }
    if (prev !== undefined) this.writeDelete(key, prev, true);
    const result = { ok: true as const, type: 'delete' as const, deleted: prev === undefined ? 0 : 1 };
    return cmd.prevKv ? { ...result, prevKvs: prev === undefined ? [] : [toKeyValue(cmd.key, prev)] } : result;
  }

  private deleteRange(cmd: DeleteRangeCommand | (TxnOp & { type: 'deleteRange' })) {
    const range = selectorRange(cmd, this.limits.maxKeyBytes);
    const keys: Uint8Array[] = [];
    for (const entry of this.tables.scan(range)) {
      if (keys.length >= this.limits.maxDeleteRangeKeys) {
        throw new KvError('TOO_MANY_KEYS', `the range holds more than ${this.limits.maxDeleteRangeKeys} keys`);
      }
      keys.push(entry.key);
    }
    const prevKvs: KeyValue[] = [];
    for (const key of keys) {
      const prev = this.tables.getRecord(key)!;
      this.writeDelete(key, prev, true);
      if (cmd.prevKv) prevKvs.push(toKeyValue(key, prev));
    }
    const result = { ok: true as const, type: 'deleteRange' as const, deleted: keys.length };
    return cmd.prevKv ? { ...result, prevKvs } : result;
  }

  private compareHolds(c: Compare): boolean {
    const record = this.tables.getRecord(utf8(c.key));
    let order: number;
    if (c.target === 'value') {
      if (record === undefined) return false;
      order = compareBytes(record.value, c.value as Uint8Array);
    } else {
      const actual = record === undefined ? 0 : record[c.target];
      order = actual - (c.value as number);
    }
    switch (c.op) {
      case '=':
        return order === 0;
      case '!=':
        return order !== 0;
      case '<':
        return order < 0;
      case '>':
        return order > 0;
    }
  }

  private txn(cmd: TxnCommand) {
    const succeeded = cmd.compare.every((c) => this.compareHolds(c));
    const ops = succeeded ? cmd.success : cmd.failure;
    const scope = this.scope!;
    const eventsBefore = scope.events.length;
    const writtenBefore = this.eventsWritten;
    let responses: TxnOpResult[];
    try {
      responses = this.tables.nested(() => ops.map((op) => this.txnOp(op)));
    } catch (error) {
      // Its table writes were undone; forget its events too.
      scope.events.length = eventsBefore;
      this.eventsWritten = writtenBefore;
      throw error;
    }
    return { ok: true as const, type: 'txn' as const, succeeded, responses };
  }

  private txnOp(op: TxnOp): TxnOpResult {
    switch (op.type) {
      case 'put': {
        const { ok: _, ...rest } = this.put(op);
        return { ...rest, revision: this.writeRevision };
      }
      case 'delete': {
        const { ok: _, ...rest } = this.delete(op);
        return rest;
      }
      case 'deleteRange': {
        const { ok: _, ...rest } = this.deleteRange(op);
        return rest;
      }
      case 'get': {
        const record = this.tables.getRecord(utf8(op.key));
        return { type: 'get', kv: record === undefined ? null : toKeyValue(op.key, record) };
      }
      case 'range': {
        const range = selectorRange(op, this.limits.maxKeyBytes);
        return { type: 'range', ...readRange(this.tables, range, op.limit, op.keysOnly ?? false, this.options.range) };
      }
    }
  }

  private leaseGrant(index: number, cmd: LeaseGrantCommand): ApplyResult {
    if (this.tables.getLease(cmd.id) !== undefined) throw new KvError('LEASE_EXISTS', `lease ${cmd.id} exists`);
    if (this.s.leaseCount >= this.limits.maxLeases) {
      throw new KvError('TOO_MANY_LEASES', `${this.s.leaseCount} leases exist, the limit`);
    }
    this.tables.putLease(cmd.id, { ttlSeconds: cmd.ttlSeconds, keys: 0 });
    this.s.leaseCount++;
    return {
      ok: true,
      type: 'leaseGrant',
      index,
      revision: this.s.revision,
      id: cmd.id,
      ttlSeconds: cmd.ttlSeconds,
    };
  }

  private leaseRevoke(index: number, cmd: LeaseRevokeCommand) {
    if (this.tables.getLease(cmd.id) === undefined)
      throw new KvError('LEASE_NOT_FOUND', `lease ${cmd.id} does not exist`);
    // Delete in key order so the events of this revision come out sorted, as for a deleteRange.
    const keys = this.tables.leaseKeysOf(cmd.id).sort(compareBytes);
    for (const key of keys) {
      const prev = this.tables.getRecord(key);
      if (prev !== undefined) this.writeDelete(key, prev, false);
      this.tables.detachFromLease(cmd.id, key);
    }
    this.tables.deleteLease(cmd.id);
    this.s.leaseCount--;
    return { ok: true as const, type: 'leaseRevoke' as const, index, id: cmd.id, deleted: keys.length };
  }

  private compact(index: number, cmd: CompactCommand): ApplyResult {
    const { revision, oldestRevision } = this.s;
    if (cmd.revision > revision) {
      throw new KvError('FUTURE_REVISION', `revision ${cmd.revision} is newer than ${revision}`, { revision });
    }
    if (cmd.revision <= oldestRevision) {
      throw new KvError('COMPACTED', `history before ${oldestRevision} is already compacted`, {
        oldestRevision,
        revision,
      });
    }
    this.s.oldestRevision = cmd.revision;
    this.compactedHistory = true;
    return { ok: true, type: 'compact', index, revision, oldestRevision: cmd.revision };
  }

  /**
   * Physically removes compacted history, a bounded amount per batch (enough to keep up with new events).
   * Returns true when nothing older than the oldest revision is left.
   */
  deleteCompactedHistory(minEvents: number): boolean {
    const max = minEvents + 2 * this.eventsWritten;
    return this.tables.deleteHistoryBefore(this.s.oldestRevision, max) < max;
  }
}
