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
   * The unknown-outcome operations grouped into classes of interchangeable operations (same effect and same
   * condition), ordered by their first member's call time. Only the earliest not-yet-linearized member of a class
   * is ever tried: any linearization using a later member can use an earlier one instead, since an earlier call is
   * available at least as early.
   */
  readonly unknownClasses: readonly UnknownClass[];
}

export interface UnknownClass {
  /** Operation numbers, by call time. */
  readonly members: Int32Array;
  /** Classes of one group have the same effect whenever their condition holds (e.g. puts of one value). */
  readonly group: number;
  /** Unconditional: a member can stand in for a member of any class of the group (the search prefers not to). */
  readonly universal: boolean;
}

/** Returned by `step` when the operation cannot be linearized in that state. */
export const NO_STEP = -1;

/**
 * The known-outcome operations' events (call of op i = 2i, return = 2i + 1) sorted by time; at equal times calls
 * come before returns — operations that merely touch count as concurrent, the lenient reading of equal
 * timestamps — then by operation number.
 */
export function knownEventOrder(problem: PartitionProblem): Int32Array {
  const { knownCount, callTime, returnTime } = problem;
  const events = new Int32Array(2 * knownCount);
  for (let i = 0; i < 2 * knownCount; i++) events[i] = i;
  const timeOf = (e: number): number => ((e & 1) === 0 ? callTime[e >> 1]! : returnTime[e >> 1]!);
  events.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || (a >> 1) - (b >> 1));
  return events;
}

/** The unknown-outcome classes in the order to try them: conditional before unconditional, then by number. */
export function unknownTryOrder(problem: PartitionProblem): Int32Array {
  const classes = problem.unknownClasses;
  return Int32Array.from(
    classes.map((_, c) => c).sort((a, b) => Number(classes[a]!.universal) - Number(classes[b]!.universal) || a - b),
  );
}

export interface SearchLimits {
  /** Give up once `now()` reaches this time (ms, same clock as `now`). */
  readonly deadline: number;
  /** Give up once this many configurations are stored. */
  readonly maxConfigurations: number;
  /**
   * Depth-first search only: give up once this many configurations were entered since the search last got
   * deeper than ever before (it is most likely refuting, which the frontier search does better). Default: never.
   */
  readonly maxStalledConfigurations?: number;
  readonly now: () => number;
}

/** Why a search gave up: time, memory, or (depth-first only) no progress for too long. */
export type GaveUpReason = 'time-budget' | 'configuration-limit' | 'stalled';

export type SearchOutcome<Reason extends GaveUpReason = GaveUpReason> =
  | {
      readonly kind: 'linearizable';
      readonly configurations: number;
      /** A witness: a linearization of every known-outcome operation (and some unknown-outcome ones), in order. */
      readonly order: Int32Array;
    }
  | {
      readonly kind: 'not-linearizable';
      readonly configurations: number;
      /** A longest partial linearization found (operation numbers, in order). */
      readonly longest: Int32Array;
      /** The known-outcome operation that could not be linearized after `longest`. */
      readonly failedOp: number;
    }
  | {
      readonly kind: 'gave-up';
      readonly configurations: number;
      readonly reason: Reason;
    };
