import { compareBytes, prefixEnd } from '../../src/kv/bytes.js';
import { rawCommandType, unpackCommand, validateCommand } from '../../src/kv/command-codec.js';
import { KvError } from '../../src/kv/errors.js';
import type { KvLimits } from '../../src/kv/options.js';
import type { ApplyResult, Compare, KeyValue, KvCommand, LeaseInfo, TxnOp, TxnOpResult } from '../../src/kv/types.js';

/**
 * A deliberately simple in-memory model of the state machine's documented semantics (maps, sorting on every
 * read, copy-on-write transactions), to check the lmdb implementation against in property tests.
 */
interface Entry {
  value: Uint8Array;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

const enc = new TextEncoder();

function keyOrder(a: string, b: string): number {
  return compareBytes(enc.encode(a), enc.encode(b));
}

export class ReferenceModel {
  kvs = new Map<string, Entry>();
  leases = new Map<number, number>();
  revision = 1;
  oldestRevision = 1;
  appliedIndex = 0;
  private changed = false;

  constructor(private readonly limits: KvLimits) {}

  private kv(key: string, e: Entry): KeyValue {
    return {
      key,
      value: e.value,
      createRevision: e.createRevision,
      modRevision: e.modRevision,
      version: e.version,
      lease: e.lease,
    };
  }

  private sortedKeys(): string[] {
    return [...this.kvs.keys()].sort(keyOrder);
  }

  private rangeKeys(sel: { start?: string; end?: string; prefix?: string }): string[] {
    let start: Uint8Array;
    let end: Uint8Array | null;
    if (sel.prefix !== undefined) {
      const p = enc.encode(sel.prefix);
      start = sel.start !== undefined ? enc.encode(sel.start) : p;
      end = prefixEnd(p);
    } else {
      start = enc.encode(sel.start ?? '');
      end = sel.end !== undefined ? enc.encode(sel.end) : null;
    }
    return this.sortedKeys().filter((k) => {
      const b = enc.encode(k);
      return compareBytes(b, start) >= 0 && (end === null || compareBytes(b, end) < 0);
    });
  }

  state(): { kvs: KeyValue[]; leases: LeaseInfo[]; revision: number; oldestRevision: number } {
    const keysOf = (id: number) => [...this.kvs.values()].filter((e) => e.lease === id).length;
    return {
      kvs: this.sortedKeys().map((k) => this.kv(k, this.kvs.get(k)!)),
      leases: [...this.leases.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([id, ttl]) => ({ id, ttlSeconds: ttl, keys: keysOf(id) })),
      revision: this.revision,
      oldestRevision: this.oldestRevision,
    };
  }

  apply(index: number, data: Uint8Array | null): ApplyResult {
    this.appliedIndex = index;
    if (data === null || data.length === 0) return { ok: true, type: 'noop', index, revision: this.revision };
    let cmd: KvCommand;
    let type: KvCommand['type'] | null = null;
    try {
      const raw = unpackCommand(data);
      type = rawCommandType(raw);
      cmd = validateCommand(raw, this.limits);
    } catch (error) {
      const e = error as KvError;
      return { ok: false, index, type, code: e.code, message: '', revision: this.revision };
    }
    const snapshot = { kvs: new Map(this.kvs), leases: new Map(this.leases) };
    this.changed = false;
    try {
      const result = this.execute(cmd);
      if (this.changed) {
        this.revision++;
        this.oldestRevision = Math.max(this.oldestRevision, this.revision - this.limits.historyRetentionRevisions + 1);
      }
      return { ...result, index, revision: this.revision } as ApplyResult;
    } catch (error) {
      if (!(error instanceof KvError)) throw error;
      this.kvs = snapshot.kvs;
      this.leases = snapshot.leases;
      const base = {
        ok: false as const,
        index,
        type: cmd.type,
        code: error.code,
        message: '',
        revision: this.revision,
      };
      return error.oldestRevision === undefined ? base : { ...base, oldestRevision: error.oldestRevision };
    }
  }

  private get next(): number {
    return this.revision + 1;
  }

  private doPut(key: string, value: Uint8Array, lease: number): Entry {
    const prev = this.kvs.get(key);
    if (lease !== 0) {
      if (!this.leases.has(lease)) throw new KvError('LEASE_NOT_FOUND', '');
      const count = [...this.kvs.values()].filter((e) => e.lease === lease).length;
      if ((prev?.lease ?? 0) !== lease && count >= this.limits.maxKeysPerLease)
        throw new KvError('LEASE_KEY_LIMIT', '');
    }
    const e: Entry = {
      value,
      createRevision: prev ? prev.createRevision : this.next,
      modRevision: this.next,
      version: (prev?.version ?? 0) + 1,
      lease,
    };
    this.kvs.set(key, e);
    this.changed = true;
    return e;
  }

  private doDeleteRange(sel: { start?: string; end?: string; prefix?: string }, prevKv?: boolean) {
    const keys = this.rangeKeys(sel);
    if (keys.length > this.limits.maxDeleteRangeKeys) throw new KvError('TOO_MANY_KEYS', '');
    const prevKvs = keys.map((k) => this.kv(k, this.kvs.get(k)!));
    for (const k of keys) this.kvs.delete(k);
    if (keys.length > 0) this.changed = true;
    const r = { type: 'deleteRange' as const, deleted: keys.length };
    return prevKv ? { ...r, prevKvs } : r;
  }

  private checkConditions(key: string, ifVersion?: number, ifModRevision?: number): void {
    const e = this.kvs.get(key);
    if (ifVersion !== undefined && (e?.version ?? 0) !== ifVersion) throw new KvError('COMPARE_FAILED', '');
    if (ifModRevision !== undefined && (e?.modRevision ?? 0) !== ifModRevision) throw new KvError('COMPARE_FAILED', '');
  }

  private compare(c: Compare): boolean {
    const e = this.kvs.get(c.key);
    let order: number;
    if (c.target === 'value') {
      if (!e) return false;
      order = compareBytes(e.value, c.value as Uint8Array);
    } else {
      order = (e ? e[c.target] : 0) - (c.value as number);
    }
    return c.op === '=' ? order === 0 : c.op === '!=' ? order !== 0 : c.op === '<' ? order < 0 : order > 0;
  }

  private op(op: TxnOp): TxnOpResult {
    switch (op.type) {
      case 'put': {
        const prev = this.kvs.get(op.key);
        const e = this.doPut(op.key, op.value, op.lease ?? 0);
        const r = { type: 'put' as const, version: e.version, revision: this.next };
        return op.prevKv ? { ...r, prevKv: prev ? this.kv(op.key, prev) : null } : r;
      }
      case 'delete': {
        const prev = this.kvs.get(op.key);
        if (prev) {
          this.kvs.delete(op.key);
          this.changed = true;
        }
        const r = { type: 'delete' as const, deleted: prev ? 1 : 0 };
        return op.prevKv ? { ...r, prevKvs: prev ? [this.kv(op.key, prev)] : [] } : r;
      }
      case 'deleteRange':
        return this.doDeleteRange(op, op.prevKv);
      case 'get': {
        const e = this.kvs.get(op.key);
        return { type: 'get', kv: e ? this.kv(op.key, e) : null };
      }
      case 'range': {
        const keys = this.rangeKeys(op);
        const limit = op.limit === undefined || op.limit === 0 ? 10_000 : op.limit;
        const kvs = keys.slice(0, limit).map((k) => {
          const kv = this.kv(k, this.kvs.get(k)!);
          return op.keysOnly ? { ...kv, value: new Uint8Array(0) } : kv;
        });
        return keys.length > limit
          ? { type: 'range', kvs, more: true, nextStart: keys[limit]! }
          : { type: 'range', kvs, more: false };
      }
    }
  }

  private execute(cmd: KvCommand): Record<string, unknown> {
    switch (cmd.type) {
      case 'put': {
        this.checkConditions(cmd.key, cmd.ifVersion, cmd.ifModRevision);
        const prev = this.kvs.get(cmd.key);
        const e = this.doPut(cmd.key, cmd.value, cmd.lease ?? 0);
        const r = { ok: true as const, type: 'put' as const, version: e.version };
        return cmd.prevKv ? { ...r, prevKv: prev ? this.kv(cmd.key, prev) : null } : r;
      }
      case 'delete': {
        this.checkConditions(cmd.key, cmd.ifVersion, cmd.ifModRevision);
        const { type: _, ...rest } = this.op({
          type: 'delete',
          key: cmd.key,
          ...(cmd.prevKv ? { prevKv: true } : {}),
        }) as {
          type: 'delete';
          deleted: number;
        };
        return { ok: true, type: 'delete', ...rest };
      }
      case 'deleteRange':
        return { ok: true, ...this.doDeleteRange(cmd, cmd.prevKv) };
      case 'txn': {
        const succeeded = cmd.compare.every((c) => this.compare(c));
        const responses = (succeeded ? cmd.success : cmd.failure).map((op) => this.op(op));
        return { ok: true, type: 'txn', succeeded, responses };
      }
      case 'leaseGrant': {
        if (this.leases.has(cmd.id)) throw new KvError('LEASE_EXISTS', '');
        if (this.leases.size >= this.limits.maxLeases) throw new KvError('TOO_MANY_LEASES', '');
        this.leases.set(cmd.id, cmd.ttlSeconds);
        return { ok: true, type: 'leaseGrant', id: cmd.id, ttlSeconds: cmd.ttlSeconds };
      }
      case 'leaseRevoke': {
        if (!this.leases.has(cmd.id)) throw new KvError('LEASE_NOT_FOUND', '');
        const keys = [...this.kvs.entries()].filter(([, e]) => e.lease === cmd.id).map(([k]) => k);
        for (const k of keys) this.kvs.delete(k);
        if (keys.length > 0) this.changed = true;
        this.leases.delete(cmd.id);
        return { ok: true, type: 'leaseRevoke', id: cmd.id, deleted: keys.length };
      }
      case 'compact': {
        if (cmd.revision > this.revision) throw new KvError('FUTURE_REVISION', '');
        if (cmd.revision <= this.oldestRevision) {
          throw new KvError('COMPACTED', '', { oldestRevision: this.oldestRevision });
        }
        this.oldestRevision = cmd.revision;
        return { ok: true, type: 'compact', oldestRevision: cmd.revision };
      }
    }
  }
}

/** Strips error messages (the model does not reproduce their wording). */
export function withoutMessages(results: readonly ApplyResult[]): ApplyResult[] {
  return results.map((r) => (r.ok ? r : { ...r, message: '' }));
}
