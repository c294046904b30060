/**
 * What the search needs to know about one partition (one key) of a history, with the model compiled down to
 * integers so the inner loop allocates nothing.
 *
 * Operations are numbered 0..n-1: first the `knownCount` operations with a known return, by call time, then the
 * operations whose outcome is unknown (return = +Infinity), by call time. States are non-negative integers
 * (exactly representable doubles) so that equality is `===` and hashing is cheap.
 */
export interface PartitionProblem {
  readonly knownCount: number;
  readonly unknownCount: number;
  /** Call time of each operation (ms). */
  readonly callTime: Float64Array;
  /** Return time of each operation (ms); +Infinity for unknown outcomes. */
  readonly returnTime: Float64Array;
  readonly initialState: number;
  /** The state after `op` is linearized in `state`, or NO_STEP when its recorded output is impossible there. */
  step(state: number, op: number): number;
  /**
   * 1 for operations that leave the state unchanged wherever they are legal (reads, failed conditions). Such an
   * operation, once legal, can be linearized at once without loss of generality, so the search does not branch
   * on it.
   */
  readonly readOnly: Uint8Array;
  /**
   * The unknown-outcome operations grouped into classes of interchangeable operations (same effect in every
   * state); each class lists its members by call time, classes are ordered by their first member's call time.
   * Only the earliest not-yet-linearized member of a class is ever tried: any linearization using a later member
   * can use an earlier one instead, since an earlier call is available at least as early.
   */
  readonly unknownClasses: readonly Int32Array[];
}

/** Returned by `step` when the operation cannot be linearized in that state. */
export const NO_STEP = -1;
