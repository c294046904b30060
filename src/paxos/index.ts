export { ballotRank, ballotRound, formatBallot, nextBallot, rankOf } from './ballot.js';
export { applyMembershipChange, buildWindow, type ConfigWindow } from './membership.js';
export { malformedReason, PAXOS_MESSAGE_TYPES, type PaxosMessage, type PaxosMessageType } from './messages.js';
export type { PaxosOptions } from './options.js';
export { Paxos, type PaxosCounters } from './paxos.js';
export { PaxosEngine } from './paxos-engine.js';
export { mergePromisedValues } from './promise-merge.js';
