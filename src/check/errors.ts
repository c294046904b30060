/**
 * The history handed to the checker is malformed (a missing field, an output that does not fit its operation,
 * a return before its call, a line that is not JSON…). The message names the operation (its position and id)
 * and the field, so a user can fix the recorder that produced it.
 */
export class InvalidHistoryError extends Error {
  readonly code = 'INVALID_HISTORY';
  /** Zero-based position of the offending operation in the history (or line number - 1 for JSON lines), if known. */
  readonly index: number | undefined;

  constructor(message: string, index?: number) {
    super(message);
    this.name = 'InvalidHistoryError';
    this.index = index;
  }
}
