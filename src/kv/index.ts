export { decodeCommand, encodeCommand, validateCommand } from './command-codec.js';
export { isKvError, KvError, type KvErrorCode, type KvErrorDetails } from './errors.js';
export { type LeaseTtl, Lessor, type LessorOptions } from './lessor.js';
export { DEFAULT_LIMITS, type KvLimits, type KvStoreOptions, MAX_KEY_BYTES_CEILING } from './options.js';
export { CHUNK_OVERHEAD, KvSnapshotReader, KvSnapshotWriter, type SnapshotInfo } from './snapshot.js';
export { KvStore, type SnapshotReaderOptions } from './store.js';
export type * from './types.js';
export type { Watcher, WatchListener, WatchOptions } from './watch-hub.js';
