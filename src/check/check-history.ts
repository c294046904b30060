import { InvalidHistoryError } from './errors.js';
import { DEFAULT_MAX_OPS, type HistoryOp, MAX_VERSION, validateHistory } from './history.js';
import { type CompiledKvPartition, compileKvPartition } from './kv-model.js';
import type { KvState } from './kv-register.js';
import { type PartitionSearchOptions, searchPartition } from './search.js';
import { buildViolation, type Violation } from './violation.js';

export type Verdict = 'linearizable' | 'not-linearizable' | 'unknown';

export interface CheckOptions {
  /**
   * Wall-clock budget for the search of each key, in ms. Default 10_000. When it runs out, that key's verdict is
   * `unknown` (never `linearizable`). 0 gives up at once (useful in tests).
   */
  readonly timeBudgetMsPerKey?: number;
  /**
   * The most search configurations stored at once per key; past it the key's verdict is `unknown`. Bounds memory:
   * a configuration costs about 60 bytes. Default 4_000_000 (≈ 250 MB).
   */
  readonly maxConfigurationsPerKey?: number;
  /** The most operations accepted in a history. Default 1_000_000. */
  readonly maxOps?: number;
  /** Each key's state before the history starts. Default: every key absent. */
  readonly initialValues?: Readonly<Record<string, { readonly value: string; readonly version: number }>>;
  /** The clock for budgets and `elapsedMs`, in ms. Default `performance.now`. */
  readonly now?: () => number;
  /** Called with each key's result as soon as it is decided (keys are checked in sorted order). Default: none. */
  readonly onKeyChecked?: (result: KeyResult) => void;
}

export const DEFAULT_TIME_BUDGET_MS_PER_KEY = 10_000;
export const DEFAULT_MAX_CONFIGURATIONS_PER_KEY = 4_000_000;

export interface KeyResult {
  readonly key: string;
  readonly verdict: Verdict;
  /** Operations on this key in the history. */
  readonly ops: number;
  /** Of those, how many carried no information and were left out (unknown-outcome gets, `UNAVAILABLE`). */
  readonly droppedOps: number;
  /** Configurations the search stored (a measure of its work and memory). */
  readonly configurations: number;
  readonly elapsedMs: number;
  /** Why the verdict is `unknown`. */
  readonly unknownReason?: 'time-budget' | 'configuration-limit';
  /** Present when the verdict is `not-linearizable`. */
  readonly violation?: Violation;
}

export interface CheckResult {
  /** `not-linearizable` if any key is; else `unknown` if any key is; else `linearizable`. */
  readonly verdict: Verdict;
  /** One result per key, sorted by key. */
  readonly keys: readonly KeyResult[];
  readonly ops: number;
  readonly elapsedMs: number;
}

/**
 * Checks a history of key-value operations for linearizability. Keys are independent registers, so each key is
 * checked on its own (P-compositionality): the history is linearizable exactly when every key's sub-history is.
 * Validates the history first (throws InvalidHistoryError). Runs synchronously.
 */
export function checkHistory(
  history: readonly HistoryOp[] | readonly unknown[],
  options: CheckOptions = {},
): CheckResult {
  const timeBudgetMs = options.timeBudgetMsPerKey ?? DEFAULT_TIME_BUDGET_MS_PER_KEY;
  const maxConfigurations = options.maxConfigurationsPerKey ?? DEFAULT_MAX_CONFIGURATIONS_PER_KEY;
  if (!(timeBudgetMs >= 0)) throw new RangeError(`timeBudgetMsPerKey must be >= 0, got ${timeBudgetMs}`);
  if (!(Number.isInteger(maxConfigurations) && maxConfigurations >= 1)) {
    throw new RangeError(`maxConfigurationsPerKey must be an integer >= 1, got ${maxConfigurations}`);
  }
  const now = options.now ?? (() => performance.now());
  const started = now();
  const ops = validateHistory(history, options.maxOps ?? DEFAULT_MAX_OPS);

  const byKey = new Map<string, HistoryOp[]>();
  for (const op of ops) {
    let list = byKey.get(op.key);
    if (list === undefined) {
      list = [];
      byKey.set(op.key, list);
    }
    list.push(op);
  }

  const keys: KeyResult[] = [];
  for (const key of [...byKey.keys()].sort()) {
    const keyOps = byKey.get(key)!;
    const initial = initialStateOf(options.initialValues, key);
    const result = checkKey(key, keyOps, initial, { timeBudgetMs, maxConfigurations, now });
    keys.push(result);
    options.onKeyChecked?.(result);
  }

  const verdict: Verdict = keys.some((k) => k.verdict === 'not-linearizable')
    ? 'not-linearizable'
    : keys.some((k) => k.verdict === 'unknown')
      ? 'unknown'
      : 'linearizable';
  return { verdict, keys, ops: ops.length, elapsedMs: now() - started };
}

function checkKey(key: string, ops: readonly HistoryOp[], initial: KvState, limits: PartitionSearchOptions): KeyResult {
  const started = limits.now();
  const problem = compileKvPartition(ops, initial);
  if (problem.impossibleRead !== -1) return impossibleReadResult(key, problem, initial, limits, started);
  const outcome = searchPartition(problem, limits);
  const base = {
    key,
    ops: ops.length,
    droppedOps: problem.droppedOps,
    configurations: outcome.configurations,
    elapsedMs: limits.now() - started,
  };
  switch (outcome.kind) {
    case 'linearizable':
      return { ...base, verdict: 'linearizable' };
    case 'gave-up':
      return { ...base, verdict: 'unknown', unknownReason: outcome.reason };
    case 'not-linearizable': {
      const linearization = Array.from(outcome.longest, (i) => problem.ops[i]!);
      const violation = buildViolation(key, problem.ops, linearization, problem.ops[outcome.failedOp]!, initial);
      return { ...base, verdict: 'not-linearizable', violation };
    }
  }
}

/**
 * A read of a value nothing could have written by then fails every linearization: no search is needed to decide.
 * For the report, the operations that returned before it (and timed-out ones called by then) are linearized with
 * a quarter of the budget, showing the state the read should have seen.
 */
function impossibleReadResult(
  key: string,
  problem: CompiledKvPartition,
  initial: KvState,
  limits: PartitionSearchOptions,
  started: number,
): KeyResult {
  const read = problem.ops[problem.impossibleRead]!;
  const readReturn = read.return!;
  const before = problem.ops.filter(
    (op) => op !== read && (op.return === null ? op.call <= readReturn : op.return < readReturn),
  );
  const prefix = compileKvPartition(before, initial);
  const outcome = searchPartition(prefix, { ...limits, timeBudgetMs: limits.timeBudgetMs / 4 });
  const order =
    outcome.kind === 'linearizable' ? outcome.order : outcome.kind === 'not-linearizable' ? outcome.longest : [];
  const value = JSON.stringify((read.output as { value: string }).value);
  const violation = buildViolation(
    key,
    problem.ops,
    Array.from(order, (i) => prefix.ops[i]!),
    read,
    initial,
    `no put of ${value} was called before this read returned, and the key did not hold it initially`,
  );
  return {
    key,
    verdict: 'not-linearizable',
    ops: problem.ops.length + problem.droppedOps,
    droppedOps: problem.droppedOps,
    configurations: outcome.configurations,
    elapsedMs: limits.now() - started,
    violation,
  };
}

function initialStateOf(initialValues: CheckOptions['initialValues'], key: string): KvState {
  const initial = initialValues !== undefined && Object.hasOwn(initialValues, key) ? initialValues[key] : undefined;
  if (initial === undefined) return null;
  if (
    typeof initial.value !== 'string' ||
    !Number.isInteger(initial.version) ||
    initial.version < 1 ||
    initial.version > MAX_VERSION
  ) {
    throw new InvalidHistoryError(
      `initialValues[${JSON.stringify(key)}] needs a string value and a version in [1, ${MAX_VERSION}]`,
    );
  }
  return { value: initial.value, version: initial.version };
}
