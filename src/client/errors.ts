/**
 * The SDK's errors: one class per stable code of the HTTP API (docs/api.md), all extending `CairnError`, so
 * callers can branch with `instanceof` (`error instanceof CompareFailedError`) or on `error.code`.
 *
 * For writes the class says whether the write may have taken effect:
 * - `UnavailableError` (UNAVAILABLE): it surely did not; retrying is safe.
 * - `TimeoutError` (TIMEOUT): the outcome is unknown; it may or may not have been applied.
 * Errors raised by the client itself (no node answered) have `status` 0 and use the same codes.
 */

/** Every code the API documents. A node may one day answer a code not listed here; it still becomes a CairnError. */
export const API_ERROR_CODES = [
  'INVALID_ARGUMENT',
  'INVALID_KEY',
  'INVALID_JSON',
  'INVALID_TXN',
  'INVALID_LEASE_TTL',
  'INVALID_MEMBER',
  'KEY_NOT_FOUND',
  'LEASE_NOT_FOUND',
  'MEMBER_NOT_FOUND',
  'ROUTE_NOT_FOUND',
  'METHOD_NOT_ALLOWED',
  'CONF_CHANGE_PENDING',
  'LEARNER_NOT_READY',
  'COMPACTED',
  'COMPARE_FAILED',
  'KEY_TOO_LARGE',
  'VALUE_TOO_LARGE',
  'BODY_TOO_LARGE',
  'TXN_TOO_LARGE',
  'TOO_MANY_REQUESTS',
  'INTERNAL',
  'UNAVAILABLE',
  'TIMEOUT',
] as const;

export type ApiErrorCode = (typeof API_ERROR_CODES)[number];

/** Largest part of an unexpected (non-JSON) answer quoted in an error message. */
const QUOTED_BODY_CHARS = 200;

/**
 * An error answered by a Cairn node (or raised by the client), with the API's stable code. `status` is the HTTP
 * status, 0 when no answer came. `details` holds the error's extra fields (for example `oldestRevision` of
 * COMPACTED, `match` and `lastIndex` of LEARNER_NOT_READY).
 */
export class CairnError extends Error {
  constructor(
    readonly code: string,
    /** HTTP status (0 when no answer came). */
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CairnError';
  }

  /** True when a write that failed with this error surely did not take effect (retrying it is safe). */
  get surelyNotApplied(): boolean {
    return this.code !== 'TIMEOUT' && this.code !== 'INTERNAL';
  }

  /** Builds the class that matches `code` (CairnError itself for codes this SDK does not know). */
  static create(code: string, status: number, message: string, details: Record<string, unknown> = {}): CairnError {
    const Class = ERROR_CLASSES.get(code);
    return Class ? new Class(status, message, details) : new CairnError(code, status, message, details);
  }

  /** Turns an error answer (`{"error":{"code","message",...}}`) into the matching class. */
  static fromResponse(status: number, body: Buffer | Uint8Array | string): CairnError {
    const text = typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
    try {
      const parsed = JSON.parse(text) as {
        error?: { code?: unknown; message?: unknown } & Record<string, unknown>;
      };
      if (parsed && typeof parsed.error?.code === 'string') {
        const { code, message, ...details } = parsed.error;
        return CairnError.create(code, status, typeof message === 'string' ? message : code, details);
      }
    } catch {
      // not JSON: described below
    }
    return CairnError.create(
      status === 503 ? 'UNAVAILABLE' : status === 504 ? 'TIMEOUT' : 'INTERNAL',
      status,
      `unexpected answer (HTTP ${status}): ${text.slice(0, QUOTED_BODY_CHARS)}`,
    );
  }
}

type ErrorClass = new (status: number, message: string, details?: Record<string, unknown>) => CairnError;

/** A parameter or header is missing or malformed (400); also raised by the client for bad arguments. */
export class InvalidArgumentError extends CairnError {
  declare readonly code: 'INVALID_ARGUMENT';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('INVALID_ARGUMENT', status, message, details);
    this.name = 'InvalidArgumentError';
  }
}
/** The key is empty or not valid UTF-8 (400). */
export class InvalidKeyError extends CairnError {
  declare readonly code: 'INVALID_KEY';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('INVALID_KEY', status, message, details);
    this.name = 'InvalidKeyError';
  }
}
/** The body is not valid JSON (400). */
export class InvalidJsonError extends CairnError {
  declare readonly code: 'INVALID_JSON';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('INVALID_JSON', status, message, details);
    this.name = 'InvalidJsonError';
  }
}
/** The transaction does not have the documented shape (400). */
export class InvalidTxnError extends CairnError {
  declare readonly code: 'INVALID_TXN';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('INVALID_TXN', status, message, details);
    this.name = 'InvalidTxnError';
  }
}
/** A lease TTL is out of range (400). */
export class InvalidLeaseTtlError extends CairnError {
  declare readonly code: 'INVALID_LEASE_TTL';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('INVALID_LEASE_TTL', status, message, details);
    this.name = 'InvalidLeaseTtlError';
  }
}
/** A membership request is malformed or not allowed (400). */
export class InvalidMemberError extends CairnError {
  declare readonly code: 'INVALID_MEMBER';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('INVALID_MEMBER', status, message, details);
    this.name = 'InvalidMemberError';
  }
}
/** The key does not exist (404). `get` answers null instead of throwing it. */
export class KeyNotFoundError extends CairnError {
  declare readonly code: 'KEY_NOT_FOUND';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('KEY_NOT_FOUND', status, message, details);
    this.name = 'KeyNotFoundError';
  }
}
/** The lease does not exist or expired (404). */
export class LeaseNotFoundError extends CairnError {
  declare readonly code: 'LEASE_NOT_FOUND';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('LEASE_NOT_FOUND', status, message, details);
    this.name = 'LeaseNotFoundError';
  }
}
/** No member has that name (404). */
export class MemberNotFoundError extends CairnError {
  declare readonly code: 'MEMBER_NOT_FOUND';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('MEMBER_NOT_FOUND', status, message, details);
    this.name = 'MemberNotFoundError';
  }
}
/** No such route (404): usually a client newer than the node. */
export class RouteNotFoundError extends CairnError {
  declare readonly code: 'ROUTE_NOT_FOUND';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('ROUTE_NOT_FOUND', status, message, details);
    this.name = 'RouteNotFoundError';
  }
}
/** The route does not take this method (405). */
export class MethodNotAllowedError extends CairnError {
  declare readonly code: 'METHOD_NOT_ALLOWED';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('METHOD_NOT_ALLOWED', status, message, details);
    this.name = 'MethodNotAllowedError';
  }
}
/** Another membership change is still in progress (409). */
export class ConfChangePendingError extends CairnError {
  declare readonly code: 'CONF_CHANGE_PENDING';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('CONF_CHANGE_PENDING', status, message, details);
    this.name = 'ConfChangePendingError';
  }
}
/** The learner is not caught up enough to be promoted (409); `details.match`, `details.lastIndex`. */
export class LearnerNotReadyError extends CairnError {
  declare readonly code: 'LEARNER_NOT_READY';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('LEARNER_NOT_READY', status, message, details);
    this.name = 'LearnerNotReadyError';
  }
}
/** The watch start revision is older than the kept history (410). */
export class CompactedError extends CairnError {
  declare readonly code: 'COMPACTED';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('COMPACTED', status, message, details);
    this.name = 'CompactedError';
  }
  /** The oldest revision a watch may still start from, when the node said. */
  get oldestRevision(): number | null {
    const value = this.details.oldestRevision;
    return typeof value === 'number' ? value : null;
  }
}
/** A condition (ifVersion, ifModRevision) did not hold; nothing changed (412). */
export class CompareFailedError extends CairnError {
  declare readonly code: 'COMPARE_FAILED';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('COMPARE_FAILED', status, message, details);
    this.name = 'CompareFailedError';
  }
}
/** The key is longer than 4096 bytes (413). */
export class KeyTooLargeError extends CairnError {
  declare readonly code: 'KEY_TOO_LARGE';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('KEY_TOO_LARGE', status, message, details);
    this.name = 'KeyTooLargeError';
  }
}
/** The value is larger than the node's limit (413). */
export class ValueTooLargeError extends CairnError {
  declare readonly code: 'VALUE_TOO_LARGE';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('VALUE_TOO_LARGE', status, message, details);
    this.name = 'ValueTooLargeError';
  }
}
/** The request body is larger than the limit (413). */
export class BodyTooLargeError extends CairnError {
  declare readonly code: 'BODY_TOO_LARGE';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('BODY_TOO_LARGE', status, message, details);
    this.name = 'BodyTooLargeError';
  }
}
/** The transaction has more than 128 compares or operations per branch (413). */
export class TxnTooLargeError extends CairnError {
  declare readonly code: 'TXN_TOO_LARGE';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('TXN_TOO_LARGE', status, message, details);
    this.name = 'TxnTooLargeError';
  }
}
/** The node (or gateway) is at its limit of concurrent requests (429); retry later. */
export class TooManyRequestsError extends CairnError {
  declare readonly code: 'TOO_MANY_REQUESTS';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('TOO_MANY_REQUESTS', status, message, details);
    this.name = 'TooManyRequestsError';
  }
}
/** An unexpected error (500); the outcome of a write is unknown. */
export class InternalError extends CairnError {
  declare readonly code: 'INTERNAL';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('INTERNAL', status, message, details);
    this.name = 'InternalError';
  }
}
/** No leader, no reachable node, or the write was refused (503): it surely did not take effect. */
export class UnavailableError extends CairnError {
  declare readonly code: 'UNAVAILABLE';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('UNAVAILABLE', status, message, details);
    this.name = 'UnavailableError';
  }
}
/** No answer in time (504, or 0 when the connection broke): a write may or may not have taken effect. */
export class TimeoutError extends CairnError {
  declare readonly code: 'TIMEOUT';
  constructor(status: number, message: string, details: Record<string, unknown> = {}) {
    super('TIMEOUT', status, message, details);
    this.name = 'TimeoutError';
  }
}

const ERROR_CLASSES = new Map<string, ErrorClass>([
  ['INVALID_ARGUMENT', InvalidArgumentError],
  ['INVALID_KEY', InvalidKeyError],
  ['INVALID_JSON', InvalidJsonError],
  ['INVALID_TXN', InvalidTxnError],
  ['INVALID_LEASE_TTL', InvalidLeaseTtlError],
  ['INVALID_MEMBER', InvalidMemberError],
  ['KEY_NOT_FOUND', KeyNotFoundError],
  ['LEASE_NOT_FOUND', LeaseNotFoundError],
  ['MEMBER_NOT_FOUND', MemberNotFoundError],
  ['ROUTE_NOT_FOUND', RouteNotFoundError],
  ['METHOD_NOT_ALLOWED', MethodNotAllowedError],
  ['CONF_CHANGE_PENDING', ConfChangePendingError],
  ['LEARNER_NOT_READY', LearnerNotReadyError],
  ['COMPACTED', CompactedError],
  ['COMPARE_FAILED', CompareFailedError],
  ['KEY_TOO_LARGE', KeyTooLargeError],
  ['VALUE_TOO_LARGE', ValueTooLargeError],
  ['BODY_TOO_LARGE', BodyTooLargeError],
  ['TXN_TOO_LARGE', TxnTooLargeError],
  ['TOO_MANY_REQUESTS', TooManyRequestsError],
  ['INTERNAL', InternalError],
  ['UNAVAILABLE', UnavailableError],
  ['TIMEOUT', TimeoutError],
]);
