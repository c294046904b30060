import { depthFirstSearch } from './depth-first-search.js';
import { frontierSearch } from './frontier-search.js';
import type { PartitionProblem, SearchOutcome } from './partition-problem.js';

export interface PartitionSearchOptions {
  /** Wall-clock budget for this partition, in ms. */
  readonly timeBudgetMs: number;
  /** The most configurations either search may store at once. */
  readonly maxConfigurations: number;
  readonly now: () => number;
}

/** The share of the time budget the depth-first search gets at most before the frontier search takes over. */
const DEPTH_FIRST_SHARE = 0.25;
/**
 * The depth-first search also hands over once it has entered this many configurations without getting deeper
 * than before: on a linearizable history it keeps advancing, so a long stall means it is most likely drowning in
 * a refutation, which the frontier search does far better.
 */
const DEPTH_FIRST_MAX_STALLED = 50_000;

/**
 * Decides one partition with two complete searches in turn: depth-first (fast on linearizable histories) with a
 * quarter of the budget at most, then, if it could not decide, the frontier search (which refutes histories full
 * of unknown outcomes that depth-first search drowns in) for the rest.
 */
export function searchPartition(
  problem: PartitionProblem,
  options: PartitionSearchOptions,
): SearchOutcome<'time-budget' | 'configuration-limit'> {
  const start = options.now();
  const { maxConfigurations, now } = options;
  const first = depthFirstSearch(problem, {
    deadline: start + options.timeBudgetMs * DEPTH_FIRST_SHARE,
    maxConfigurations,
    maxStalledConfigurations: DEPTH_FIRST_MAX_STALLED,
    now,
  });
  if (first.kind !== 'gave-up') return first;
  return frontierSearch(problem, { deadline: start + options.timeBudgetMs, maxConfigurations, now });
}
