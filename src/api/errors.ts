/**
 * The HTTP API's errors. Every error is JSON `{"error":{"code","message"}}` with a stable code and a fitting
 * status. A write error says whether the write may have taken effect: UNAVAILABLE = surely not applied,
 * TIMEOUT = outcome unknown. The catalog below is the list docs/api.md documents.
 */
export const API_ERRORS = {
  INVALID_ARGUMENT: { status: 400, meaning: 'a parameter or header is missing or malformed' },
  INVALID_KEY: { status: 400, meaning: 'the key is empty or not valid UTF-8' },
  INVALID_JSON: { status: 400, meaning: 'the body is not valid JSON' },
  INVALID_TXN: { status: 400, meaning: 'the transaction body does not have the documented shape' },
  INVALID_LEASE_TTL: { status: 400, meaning: 'a lease TTL is out of range' },
  INVALID_MEMBER: { status: 400, meaning: 'a membership request is malformed or not allowed' },
  KEY_NOT_FOUND: { status: 404, meaning: 'the key does not exist' },
  LEASE_NOT_FOUND: { status: 404, meaning: 'the lease does not exist (or expired)' },
  MEMBER_NOT_FOUND: { status: 404, meaning: 'no member has that name' },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'no such route' },
  METHOD_NOT_ALLOWED: { status: 405, meaning: 'the route does not take this method' },
  COMPACTED: { status: 410, meaning: 'the watch start revision is older than the kept history' },
  COMPARE_FAILED: { status: 412, meaning: 'a condition (ifVersion, ifModRevision) did not hold; nothing changed' },
  KEY_TOO_LARGE: { status: 413, meaning: 'the key is longer than the limit (4096 bytes by default)' },
  VALUE_TOO_LARGE: { status: 413, meaning: 'the value is larger than the limit (1 MiB by default)' },
  BODY_TOO_LARGE: { status: 413, meaning: 'the request body is larger than the limit' },
  TXN_TOO_LARGE: { status: 413, meaning: 'the transaction has more operations than the limit (128)' },
  TOO_MANY_REQUESTS: { status: 429, meaning: 'the node is at its limit of concurrent requests; retry later' },
  CONF_CHANGE_PENDING: { status: 409, meaning: 'another membership change is still in progress' },
  LEARNER_NOT_READY: { status: 409, meaning: 'the learner is not caught up enough to be promoted yet' },
  INTERNAL: { status: 500, meaning: 'an unexpected error; the node keeps serving' },
  UNAVAILABLE: { status: 503, meaning: 'no leader, or the write was refused: it surely did not take effect; retry' },
  TIMEOUT: { status: 504, meaning: 'no answer in time: the write may or may not have taken effect' },
} as const;

export type ApiErrorCode = keyof typeof API_ERRORS;

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ApiErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = API_ERRORS[code].status;
    this.details = details;
  }

  toJSON(): { error: { code: ApiErrorCode; message: string } & Record<string, unknown> } {
    return { error: { code: this.code, message: this.message, ...this.details } };
  }
}

export function isApiError(error: unknown): error is ApiError {
  return error instanceof ApiError;
}
