/**
 * Errors an engine reports to its driver. Each has a stable `code`; the node layer maps them to API errors
 * (for example NO_LEADER and PROPOSALS_OVER_LIMIT become UNAVAILABLE: the proposal surely was not applied).
 */
export type ConsensusErrorCode =
  /** No leader is known, so a proposal or read cannot be placed. */
  | 'NO_LEADER'
  /** The operation needs the leader and this node is not it. */
  | 'NOT_LEADER'
  /** The uncommitted tail of the log is over its byte limit; retry once it commits. */
  | 'PROPOSALS_OVER_LIMIT'
  /** Leadership is being handed over; proposals are refused until it completes or is aborted. */
  | 'TRANSFER_IN_PROGRESS'
  /** A membership change is still pending (proposed but not applied); one at a time. */
  | 'CONF_CHANGE_PENDING'
  /** The membership change is malformed or would leave no voter. */
  | 'INVALID_CONF_CHANGE'
  /** The node is not a member of the group's configuration (or is a learner) and cannot do this. */
  | 'NOT_A_MEMBER'
  /** A value passed to the engine is invalid (for example an option out of range). */
  | 'INVALID_ARGUMENT';

export class ConsensusError extends Error {
  readonly code: ConsensusErrorCode;

  constructor(code: ConsensusErrorCode, message: string) {
    super(message);
    this.name = 'ConsensusError';
    this.code = code;
  }
}

/** The log no longer holds entries at or before this index: they were compacted into a snapshot. */
export class LogCompactedError extends Error {
  readonly code = 'LOG_COMPACTED';
  constructor(readonly index: number) {
    super(`log entry ${index} was compacted`);
    this.name = 'LogCompactedError';
  }
}

/** The log holds no entry at this index yet. */
export class LogUnavailableError extends Error {
  readonly code = 'LOG_UNAVAILABLE';
  constructor(readonly index: number) {
    super(`log entry ${index} is not available`);
    this.name = 'LogUnavailableError';
  }
}

/** A snapshot is being produced and cannot be handed out yet; the engine retries later. */
export class SnapshotTemporarilyUnavailableError extends Error {
  readonly code = 'SNAPSHOT_TEMPORARILY_UNAVAILABLE';
  constructor() {
    super('snapshot is temporarily unavailable');
    this.name = 'SnapshotTemporarilyUnavailableError';
  }
}
