export { bootstrapLog } from './bootstrap.js';
export type { RaftMessage, RaftMessageType } from './messages.js';
export { malformedReason, raftMessage } from './messages.js';
export type { RaftOptions } from './options.js';
export { Raft } from './raft.js';
export { RaftEngine } from './raft-engine.js';
