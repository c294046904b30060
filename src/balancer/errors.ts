/** Stable codes for every error the balancer throws. Listed in docs/balancer.md. */
export type BalancerErrorCode =
  /** An option, a host description or a request is malformed or out of range. */
  | 'INVALID_ARGUMENT'
  /** `call()` found no host at all to send the request to (no hosts configured, or none usable). */
  | 'NO_HOST_AVAILABLE';

export class BalancerError extends Error {
  readonly code: BalancerErrorCode;

  constructor(code: BalancerErrorCode, message: string) {
    super(message);
    this.name = 'BalancerError';
    this.code = code;
  }
}

export function invalidArgument(message: string): BalancerError {
  return new BalancerError('INVALID_ARGUMENT', message);
}
