export { StorageError, type StorageErrorCode } from './errors.js';
export { GroupLogView } from './group-log-view.js';
export { type GroupWrite, LogStore, type LogStoreStats } from './log-store.js';
export type { LogStoreOptions } from './log-store-options.js';
