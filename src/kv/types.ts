import type { KvErrorCode } from './errors.js';

/** A key with its value and metadata, as reads and results return it. */
export interface KeyValue {
  readonly key: string;
  /** Empty when read with keysOnly. */
  readonly value: Uint8Array;
  /** Revision of the put that created the key (since its last delete). */
  readonly createRevision: number;
  /** Revision of the last put to the key. */
  readonly modRevision: number;
  /** 1 on create, +1 per put; the key is gone (not version 0) after a delete. */
  readonly version: number;
  /** The lease the key is attached to; 0 = none. */
  readonly lease: number;
}

/** Which keys a range read, deleteRange or watch covers. `end` is exclusive; no end = every key ≥ start. */
export type KeySelector =
  | { readonly key: string }
  | { readonly prefix: string; readonly start?: string }
  | { readonly start: string; readonly end?: string };

// ---------------------------------------------------------------------------------------------- commands

export interface PutCommand {
  readonly type: 'put';
  readonly key: string;
  readonly value: Uint8Array;
  /** Attach to this lease (must exist); absent or 0 = no lease (a put without a lease detaches the key). */
  readonly lease?: number;
  /** Apply only if the key's version equals this; 0 = the key must not exist. */
  readonly ifVersion?: number;
  /** Apply only if the key's modRevision equals this; 0 = the key must not exist. */
  readonly ifModRevision?: number;
  /** Return the previous key-value in the result. */
  readonly prevKv?: boolean;
}

export interface DeleteCommand {
  readonly type: 'delete';
  readonly key: string;
  readonly ifVersion?: number;
  readonly ifModRevision?: number;
  readonly prevKv?: boolean;
}

export interface DeleteRangeCommand {
  readonly type: 'deleteRange';
  /** Start of the range (inclusive); with `end` (exclusive, absent = to the last key). */
  readonly start?: string;
  readonly end?: string;
  /** Or: every key with this prefix. */
  readonly prefix?: string;
  readonly prevKv?: boolean;
}

export type CompareTarget = 'version' | 'createRevision' | 'modRevision' | 'value' | 'lease';
export type CompareOp = '=' | '!=' | '<' | '>';

/**
 * One condition of a transaction. A missing key has version, createRevision, modRevision and lease 0; a
 * compare on the value of a missing key is false (as in etcd).
 */
export interface Compare {
  readonly key: string;
  readonly target: CompareTarget;
  readonly op: CompareOp;
  /** A number for version / createRevision / modRevision / lease; bytes for value. */
  readonly value: number | Uint8Array;
}

export type TxnOp =
  | {
      readonly type: 'put';
      readonly key: string;
      readonly value: Uint8Array;
      readonly lease?: number;
      readonly prevKv?: boolean;
    }
  | { readonly type: 'delete'; readonly key: string; readonly prevKv?: boolean }
  | {
      readonly type: 'deleteRange';
      readonly start?: string;
      readonly end?: string;
      readonly prefix?: string;
      readonly prevKv?: boolean;
    }
  | { readonly type: 'get'; readonly key: string }
  | {
      readonly type: 'range';
      readonly start?: string;
      readonly end?: string;
      readonly prefix?: string;
      readonly limit?: number;
      readonly keysOnly?: boolean;
    };

export interface TxnCommand {
  readonly type: 'txn';
  readonly compare: readonly Compare[];
  readonly success: readonly TxnOp[];
  readonly failure: readonly TxnOp[];
}

export interface LeaseGrantCommand {
  readonly type: 'leaseGrant';
  /** Chosen by the proposer (a positive safe integer, unique among live leases). */
  readonly id: number;
  readonly ttlSeconds: number;
}

export interface LeaseRevokeCommand {
  readonly type: 'leaseRevoke';
  readonly id: number;
}

/** Drop watch history before `revision` (events of revisions < revision). */
export interface CompactCommand {
  readonly type: 'compact';
  readonly revision: number;
}

export type KvCommand =
  | PutCommand
  | DeleteCommand
  | DeleteRangeCommand
  | TxnCommand
  | LeaseGrantCommand
  | LeaseRevokeCommand
  | CompactCommand;

export type KvCommandType = KvCommand['type'];

// ---------------------------------------------------------------------------------------------- results

/**
 * What applyBatch takes: one committed log entry. Null or empty data (and no `commands`) is a no-op entry.
 * An entry may instead carry several commands proposed together (`commands`, see src/node/proposal-envelope.ts):
 * each is applied on its own, in order, with its own revision and result, exactly as if each had an entry.
 */
export interface ApplyItem {
  readonly index: number;
  readonly data: Uint8Array | null;
  /** The commands of a batch entry (then `data` is ignored). */
  readonly commands?: readonly Uint8Array[];
  /**
   * The leader's own proposal: per command (of `commands`, or the one in `data`), the validated command the bytes
   * were encoded from (encodeValidated's `applicable`), applied instead of decoding them; null to decode.
   */
  readonly decoded?: readonly (KvCommand | null)[];
}

interface ResultBase {
  /** The log index of the entry (shared by the commands of a batch entry). */
  readonly index: number;
  /** The store's revision after this command (the revision of its changes, if it changed anything). */
  readonly revision: number;
}

export interface NoopResult extends ResultBase {
  readonly ok: true;
  readonly type: 'noop';
}

export interface PutResult extends ResultBase {
  readonly ok: true;
  readonly type: 'put';
  /** The key's version after the put. */
  readonly version: number;
  readonly prevKv?: KeyValue | null;
}

export interface DeleteResult extends ResultBase {
  readonly ok: true;
  readonly type: 'delete' | 'deleteRange';
  /** Number of keys deleted (0 = nothing existed; the revision did not move). */
  readonly deleted: number;
  readonly prevKvs?: KeyValue[];
}

export type TxnOpResult =
  | { readonly type: 'put'; readonly revision: number; readonly version: number; readonly prevKv?: KeyValue | null }
  | { readonly type: 'delete' | 'deleteRange'; readonly deleted: number; readonly prevKvs?: KeyValue[] }
  | { readonly type: 'get'; readonly kv: KeyValue | null }
  | { readonly type: 'range'; readonly kvs: KeyValue[]; readonly more: boolean; readonly nextStart?: string };

export interface TxnResult extends ResultBase {
  readonly ok: true;
  readonly type: 'txn';
  /** True when every compare held (the success branch ran), false when the failure branch ran. */
  readonly succeeded: boolean;
  readonly responses: TxnOpResult[];
}

export interface LeaseGrantResult extends ResultBase {
  readonly ok: true;
  readonly type: 'leaseGrant';
  readonly id: number;
  readonly ttlSeconds: number;
}

export interface LeaseRevokeResult extends ResultBase {
  readonly ok: true;
  readonly type: 'leaseRevoke';
  readonly id: number;
  /** Keys deleted with the lease. */
  readonly deleted: number;
}

export interface CompactResult extends ResultBase {
  readonly ok: true;
  readonly type: 'compact';
  readonly oldestRevision: number;
}

export interface ErrorResult extends ResultBase {
  readonly ok: false;
  /** The command's type, or null when the entry could not be decoded. */
  readonly type: KvCommandType | null;
  readonly code: KvErrorCode;
  readonly message: string;
  /** COMPACTED: the oldest revision still available. */
  readonly oldestRevision?: number;
}

export type ApplyResult =
  | NoopResult
  | PutResult
  | DeleteResult
  | TxnResult
  | LeaseGrantResult
  | LeaseRevokeResult
  | CompactResult
  | ErrorResult;

// ---------------------------------------------------------------------------------------------- reads

export interface RangeOptions {
  /** Most keys returned; default and maximum `rangeMaxLimit` (10,000). */
  readonly limit?: number;
  /** Return keys and metadata without values. */
  readonly keysOnly?: boolean;
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  /** More keys remain in the range: continue with `start: nextStart`. */
  readonly more: boolean;
  /** The first key not returned (present when `more`). */
  readonly nextStart?: string;
  /** The store's revision the read was served at. */
  readonly revision: number;
}

export interface LeaseInfo {
  readonly id: number;
  readonly ttlSeconds: number;
  /** Keys attached to the lease. */
  readonly keys: number;
}

// ---------------------------------------------------------------------------------------------- watch

export interface WatchEvent {
  readonly type: 'put' | 'delete';
  readonly key: string;
  /** The new value (empty for a delete). */
  readonly value: Uint8Array;
  /** 0 for a delete. */
  readonly createRevision: number;
  /** The revision of this event. */
  readonly modRevision: number;
  /** 0 for a delete. */
  readonly version: number;
  /** 0 for a delete or a key without lease. */
  readonly lease: number;
  /** The key-value before this event (only when the watch asked for prevKv and the key existed). */
  readonly prevKv?: KeyValue;
}

/** All the events of one revision that match a watcher, delivered together. */
export interface WatchResponse {
  readonly revision: number;
  readonly events: readonly WatchEvent[];
}
