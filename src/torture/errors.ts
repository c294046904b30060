export type TortureErrorCode =
  /** A command-line option or a field of the options object is invalid. */
  | 'INVALID_OPTION'
  /** The cluster could not be started (a node did not come up, no leader was elected). */
  | 'CLUSTER_START_FAILED'
  /** The run was interrupted (SIGINT, abort signal). */
  | 'ABORTED'
  /** No free port for a node's listener could be found. */
  | 'NO_FREE_PORT';

/** An error of the torture harness itself (not a finding about the cluster under test). */
export class TortureError extends Error {
  constructor(
    readonly code: TortureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'TortureError';
  }
}
