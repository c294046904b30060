/** The SDK's data types: what the API's JSON answers look like once decoded. */

export type Consistency = 'linearizable' | 'lease' | 'stale';
export type AckMode = 'quorum' | 'all' | 'leader';

export interface KeyValue {
  readonly key: string;
  readonly value: Uint8Array;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: number;
}

export interface GetResult extends KeyValue {
  /** The store's revision the read was served at. */
  readonly revision: number;
  /** The value as UTF-8 text. */
  text(): string;
}

export interface PutOptions {
  /** Write only if the key has this version (0 = the key must not exist). */
  readonly ifVersion?: number;
  /** Write only if the key was last modified at this revision (0 = must not exist). */
  readonly ifModRevision?: number;
  /** Attach the key to this lease. */
  readonly lease?: number;
  /** quorum (default) | all | leader (asynchronous: the answer has no revision). */
  readonly ack?: AckMode;
}

export interface DeleteOptions {
  readonly ifVersion?: number;
  readonly ifModRevision?: number;
  readonly ack?: AckMode;
}

export interface GetOptions {
  /** linearizable (default) | lease | stale. Every one of them may be served by any node (docs/load-balancing.md). */
  readonly consistency?: Consistency;
}

export interface RangeQuery {
  readonly prefix?: string;
  readonly start?: string;
  readonly end?: string;
  readonly limit?: number;
  readonly keysOnly?: boolean;
  readonly consistency?: Consistency;
}

export interface RangeResult {
  readonly kvs: KeyValue[];
  readonly more: boolean;
  readonly nextStart?: string;
  readonly revision: number;
}

export interface WatchQuery {
  readonly key?: string;
  readonly prefix?: string;
  readonly start?: string;
  readonly end?: string;
  /** First revision to deliver (default: changes after the watch starts). */
  readonly fromRevision?: number;
  readonly prevKv?: boolean;
}

export interface WatchEvent extends KeyValue {
  readonly type: 'put' | 'delete';
  readonly prevKv?: KeyValue;
}

export interface WatchBatch {
  readonly revision: number;
  readonly events: readonly WatchEvent[];
}

export interface TxnResult {
  readonly succeeded: boolean;
  readonly revision: number;
  readonly responses: unknown[];
}

export interface LeaseGrant {
  readonly id: number;
  readonly ttlSeconds: number;
  readonly revision?: number;
}

export interface LeaseInfo {
  readonly id: number;
  readonly ttlSeconds: number;
  /** How many keys are attached to it. */
  readonly keys: number;
  /** Time left, known only when the leader answered (`getLease`); null or absent otherwise. */
  readonly remainingMs?: number | null;
}

export interface MembershipResult {
  readonly index: number;
  /** Pass it to the new member as --cluster-id. */
  readonly clusterId: string;
  readonly voters: string[];
  readonly learners: string[];
}

export interface MemberStatus {
  name: string;
  peer: string;
  http: string | null;
  role: string;
  match: number | null;
  commit: number | null;
  applied: number | null;
  reachable: boolean;
  labels: Record<string, string>;
}

/** An automatic action or observation a node recorded (GET /v1/cluster/events). */
export interface ClusterEvent {
  readonly id: number;
  readonly at: string;
  readonly node: string;
  readonly action: string;
  readonly target?: string;
  readonly reason: string;
  readonly outcome: string;
}

/** Every member's liveness, condition and vital signs as one node sees them (GET /v1/cluster/health). */
export interface ClusterHealth {
  readonly node: string;
  readonly nodes: {
    name: string;
    state: 'alive' | 'suspect' | 'dead';
    phi: number;
    condition: 'healthy' | 'degraded' | 'unknown';
    reasons: { code: string; severity: string; message: string }[];
    metrics: Record<string, number | null> | null;
    lastHeartbeatMsAgo: number | null;
  }[];
}

export interface ClusterStatus {
  readonly clusterId: string;
  readonly node: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly revision: number;
  readonly members: MemberStatus[];
}

/** How a key-value pair travels in JSON (values in base64). */
export interface KeyValueJson {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
  version: number;
  lease: number;
}

export function keyValueFromJson(kv: KeyValueJson): KeyValue {
  return {
    key: kv.key,
    value: new Uint8Array(Buffer.from(kv.value ?? '', 'base64')),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}
