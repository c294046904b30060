/**
 * Errors of the health building blocks. Each has a stable `code`. Only configuration mistakes throw (at
 * construction); received data never throws: a malformed heartbeat is rejected with a reason instead.
 */
export type HealthErrorCode =
  /** An option is out of range or of the wrong type. */
  | 'INVALID_OPTION'
  /** A received heartbeat message does not have the expected shape (returned, never thrown). */
  | 'MALFORMED_HEARTBEAT';

export class HealthError extends Error {
  readonly code: HealthErrorCode;

  constructor(code: HealthErrorCode, message: string) {
    super(message);
    this.name = 'HealthError';
    this.code = code;
  }
}
