/**
 * Errors of the fault proxy. Each has a stable `code`. They are thrown only for misuse of the API (bad options,
 * unknown node names, a call after close); socket failures are never thrown, only logged and counted.
 */
export type FaultProxyErrorCode =
  /** An option or fault parameter is out of range or of the wrong type. */
  | 'INVALID_OPTION'
  /** A node name that was never added with `addNode`. */
  | 'UNKNOWN_NODE'
  /** `addNode` with a name that is already registered. */
  | 'DUPLICATE_NODE'
  /**
   * `addNode` with a node host another node already has: links are identified by the source host, so two nodes
   * on one host could not be told apart.
   */
  | 'DUPLICATE_HOST'
  /** The front door's port is not known yet (port 0 before `start()`). */
  | 'NOT_LISTENING'
  /** The proxy is closed. */
  | 'PROXY_CLOSED';

export class FaultProxyError extends Error {
  readonly code: FaultProxyErrorCode;

  constructor(code: FaultProxyErrorCode, message: string) {
    super(message);
    this.name = 'FaultProxyError';
    this.code = code;
  }
}
