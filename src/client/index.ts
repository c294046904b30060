export {
  type AckMode,
  Client,
  type ClientOptions,
  type ClusterStatus,
  type Consistency,
  type GetResult,
  type KeyValue,
  Watch,
  type WatchBatch,
  type WatchEvent,
} from './client.js';
export { CairnError } from './errors.js';
