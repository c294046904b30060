export {
  CLIENT_DEFAULTS,
  Client,
  type ClientBalancerOptions,
  type ClientOptions,
  type ClientStats,
  type RawResponse,
} from './client.js';
export {
  type ClusterView,
  DISCOVERY_DEFAULTS,
  type DiscoveredMember,
  MemberDiscovery,
  type MemberDiscoveryOptions,
  type StatusAnswer,
  type StatusFetcher,
} from './discovery.js';
export * from './errors.js';
export { LeaseKeeper, type LeaseKeeperOptions } from './lease-keeper.js';
export type {
  AckMode,
  ClusterStatus,
  Consistency,
  DeleteOptions,
  GetOptions,
  GetResult,
  KeyValue,
  LeaseGrant,
  LeaseInfo,
  MemberStatus,
  MembershipResult,
  PutOptions,
  RangeQuery,
  RangeResult,
  TxnResult,
  WatchBatch,
  WatchEvent,
  WatchQuery,
} from './types.js';
export { Watch, type WatchHost } from './watch.js';
