import { OpBitset } from './op-bitset.js';
import { NO_STEP, type PartitionProblem } from './partition-problem.js';
import { VisitedSet } from './visited-set.js';

/**
 * The linearizability search for one partition: Wing & Gong's depth-first search with Lowe's memoization, as
 * Porcupine does it, written with an explicit stack and typed arrays.
 *
 * Known-outcome operations live in a doubly linked list of call and return events ordered by time (at equal
 * times calls come first, so operations that merely touch count as concurrent). The calls before the first
 * return event are the candidates: operations that may come next. A candidate whose step is legal, and whose
 * resulting configuration (set of linearized operations, state) was not entered before, is linearized — both its
 * events are unlinked, dancing-links style — and the walk restarts from the front. Reaching a return event means
 * that operation had to be linearized by now: once every alternative is exhausted the search backtracks. Reaching
 * the end of the list means every known operation is linearized: the partition is linearizable.
 *
 * Three reductions keep real histories tractable; each preserves the verdict:
 * - Read-only operations (reads, failed conditions) that are legal are linearized at once, without branching: a
 *   linearization that places one later can place it now instead (its real-time predecessors are all done, and it
 *   changes nothing). If that configuration fails, so does the one before it.
 * - Unknown-outcome operations have no return event (return = +Infinity): they never force a backtrack and may
 *   stay unlinearized forever. They are tried only when the walk is blocked at a return event, among those called
 *   by then, and within a class of interchangeable ones only the earliest unlinearized member.
 * - The memo treats unknown-outcome operations by subset (see VisitedSet).
 * - An unknown-outcome operation must matter to the step right after it: if that step reaches the same state
 *   without it (a put followed by a delete), the path without it is at least as good.
 */

export interface SearchLimits {
  /** Give up (verdict unknown) once `now() - start` reaches this many ms. */
  readonly timeBudgetMs: number;
  /** Give up (verdict unknown) once this many configurations are memoized. */
  readonly maxVisited: number;
  readonly now: () => number;
}

export type SearchOutcome =
  | { readonly kind: 'linearizable'; readonly visited: number }
  | {
      readonly kind: 'not-linearizable';
      readonly visited: number;
      /** The longest partial linearization found (operation numbers, in order). */
      readonly longest: Int32Array;
      /** The known operation whose return was reached, unlinearized, at the end of `longest`. */
      readonly blockedOp: number;
    }
  | { readonly kind: 'gave-up'; readonly visited: number; readonly reason: 'time-budget' | 'visited-limit' };

/** How many search iterations run between two looks at the clock. */
const CLOCK_CHECK_INTERVAL = 1024;

/** What the loop does next. */
const Mode = {
  /** A configuration just entered: look for a legal read-only candidate to take without branching. */
  Enter: 0,
  /** Walk the event list: try the next candidate call, or stop at the first return event. */
  Scan: 1,
  /** Blocked at the return of `blockedOp`: try unknown-outcome operations class by class. */
  TryUnknown: 2,
  /** This configuration has nothing left to try. */
  Backtrack: 3,
} as const;

export function searchPartition(problem: PartitionProblem, limits: SearchLimits): SearchOutcome {
  const { knownCount: K, unknownCount: U, callTime, returnTime, step, readOnly, unknownClasses } = problem;
  const n = K + U;
  const start = limits.now();

  // Events of known op i: call = 2i, return = 2i + 1. HEAD and TAIL are sentinels.
  const HEAD = 2 * K;
  const TAIL = 2 * K + 1;
  const next = new Int32Array(2 * K + 2);
  const prev = new Int32Array(2 * K + 2);
  let last = HEAD;
  for (const event of buildEventOrder(K, callTime, returnTime)) {
    next[last] = event;
    prev[event] = last;
    last = event;
  }
  next[last] = TAIL;
  prev[TAIL] = last;
  const unlink = (event: number): void => {
    next[prev[event]!] = next[event]!;
    prev[next[event]!] = prev[event]!;
  };
  const relink = (event: number): void => {
    next[prev[event]!] = event;
    prev[next[event]!] = event;
  };

  const classOf = new Int32Array(n).fill(-1);
  unknownClasses.forEach((members, c) => {
    for (const op of members) classOf[op] = c;
  });
  const appliedInClass = new Int32Array(unknownClasses.length);

  // Zobrist hashing: the set's hash is the XOR of its members' random words, updated in O(1) per change. Only
  // known-outcome operations count: the memo matches unknown-outcome ones by subset, not by equality.
  const zobrist = new Int32Array(n);
  for (let i = 0; i < K; i++) zobrist[i] = mix32(Math.imul(i + 1, 0x9e3779b1) ^ 0x5bd1e995);

  const knownBits = new OpBitset(K);
  const unknownBits = new OpBitset(U);
  const visited = new VisitedSet(limits.maxVisited);

  // The stack: per linearized operation, the state before it, whether it was taken without branching, and the
  // return event the walk was blocked at (unknown-outcome operations only; -1 otherwise).
  const stackOp = new Int32Array(n);
  const stackState = new Float64Array(n);
  const stackForced = new Uint8Array(n);
  const stackBlocked = new Int32Array(n);
  let depth = 0;
  let state = problem.initialState;
  let setHash = 0;

  let longest = new Int32Array(0);
  let longestBlockedOp = -1;
  let bestDepth = -1;

  let mode: number = Mode.Enter;
  let cursor = HEAD;
  let blockedOp = -1;
  let classCursor = 0;
  let iterations = 0;

  /** Linearizes `op` if legal and its configuration is new: 'pushed', 'illegal', 'seen', or 'full' (memo limit). */
  const tryLinearize = (op: number, forced: boolean): 'pushed' | 'illegal' | 'seen' | 'full' => {
    const nextState = step(state, op);
    if (nextState === NO_STEP) return 'illegal';
    // Right after an unknown-outcome operation, an operation that ends in the same state with or without it
    // makes it pointless (a put erased by a delete): the same path without it reaches a subsuming configuration.
    if (depth > 0 && stackOp[depth - 1]! >= K && step(stackState[depth - 1]!, op) === nextState) return 'illegal';
    const isKnown = op < K;
    if (isKnown) knownBits.set(op);
    else unknownBits.set(op - K);
    const added = visited.add(configHash(setHash ^ zobrist[op]!, nextState), nextState, knownBits, unknownBits);
    if (added !== 'added') {
      if (isKnown) knownBits.clear(op);
      else unknownBits.clear(op - K);
      return added === 'full' ? 'full' : 'seen';
    }
    setHash ^= zobrist[op]!;
    stackOp[depth] = op;
    stackState[depth] = state;
    stackForced[depth] = forced ? 1 : 0;
    stackBlocked[depth] = blockedOp;
    depth++;
    state = nextState;
    if (isKnown) {
      unlink(2 * op);
      unlink(2 * op + 1);
    } else {
      appliedInClass[classOf[op]!]!++;
    }
    return 'pushed';
  };

  const gaveUp = (reason: 'time-budget' | 'visited-limit'): SearchOutcome => ({
    kind: 'gave-up',
    visited: visited.size,
    reason,
  });

  for (;;) {
    if (iterations++ % CLOCK_CHECK_INTERVAL === 0 && limits.now() - start >= limits.timeBudgetMs) {
      return gaveUp('time-budget');
    }
    switch (mode) {
      case Mode.Enter: {
        mode = Mode.Scan;
        cursor = next[HEAD]!;
        blockedOp = -1;
        for (let e = next[HEAD]!; e !== TAIL && (e & 1) === 0; e = next[e]!) {
          const op = e >> 1;
          if (readOnly[op] === 0) continue;
          const outcome = tryLinearize(op, true);
          if (outcome === 'illegal') continue;
          if (outcome === 'full') return gaveUp('visited-limit');
          // 'pushed': enter the new configuration. 'seen': it was explored and failed (it cannot be on the stack:
          // it holds one more known operation than this one), so this configuration fails too.
          mode = outcome === 'pushed' ? Mode.Enter : Mode.Backtrack;
          break;
        }
        break;
      }

      case Mode.Scan: {
        if (cursor === TAIL) return { kind: 'linearizable', visited: visited.size };
        const op = cursor >> 1;
        if ((cursor & 1) === 1) {
          blockedOp = op;
          classCursor = 0;
          mode = Mode.TryUnknown;
          break;
        }
        const outcome = tryLinearize(op, false);
        if (outcome === 'full') return gaveUp('visited-limit');
        if (outcome === 'pushed') mode = Mode.Enter;
        else cursor = next[cursor]!;
        break;
      }

      case Mode.TryUnknown: {
        if (classCursor >= unknownClasses.length) {
          mode = Mode.Backtrack;
          break;
        }
        const deadline = returnTime[blockedOp]!;
        const members = unknownClasses[classCursor]!;
        // Classes are ordered by their first member's call: once one starts too late, so do the rest.
        if (callTime[members[0]!]! > deadline) {
          mode = Mode.Backtrack;
          break;
        }
        const candidate = members[appliedInClass[classCursor]!];
        if (candidate !== undefined && callTime[candidate]! <= deadline) {
          const outcome = tryLinearize(candidate, false);
          if (outcome === 'full') return gaveUp('visited-limit');
          if (outcome === 'pushed') {
            mode = Mode.Enter;
            break;
          }
        }
        classCursor++;
        break;
      }

      case Mode.Backtrack: {
        // Only a configuration blocked at a return event has a failing operation to report. (The first backtrack
        // always is one: the other ways here need an earlier failure.)
        if (blockedOp !== -1 && depth > bestDepth) {
          bestDepth = depth;
          longest = stackOp.slice(0, depth);
          longestBlockedOp = blockedOp;
        }
        if (depth === 0) {
          return { kind: 'not-linearizable', visited: visited.size, longest, blockedOp: longestBlockedOp };
        }
        depth--;
        const op = stackOp[depth]!;
        state = stackState[depth]!;
        setHash ^= zobrist[op]!;
        if (op < K) {
          knownBits.clear(op);
          relink(2 * op + 1);
          relink(2 * op);
        } else {
          unknownBits.clear(op - K);
          appliedInClass[classOf[op]!]!--;
        }
        if (stackForced[depth] === 1) {
          // A read-only operation taken without branching failed: so does the configuration before it.
          blockedOp = -1;
          mode = Mode.Backtrack;
        } else if (op < K) {
          blockedOp = -1;
          cursor = next[2 * op]!;
          mode = Mode.Scan;
        } else {
          blockedOp = stackBlocked[depth]!;
          classCursor = classOf[op]! + 1;
          mode = Mode.TryUnknown;
        }
        break;
      }
    }
  }
}

/** Known events sorted by time; at equal times calls before returns, then by operation number. */
function buildEventOrder(K: number, callTime: Float64Array, returnTime: Float64Array): Int32Array {
  const events = new Int32Array(2 * K);
  for (let i = 0; i < 2 * K; i++) events[i] = i;
  const timeOf = (e: number): number => ((e & 1) === 0 ? callTime[e >> 1]! : returnTime[e >> 1]!);
  events.sort((a, b) => timeOf(a) - timeOf(b) || (a & 1) - (b & 1) || (a >> 1) - (b >> 1));
  return events;
}

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return h ^ (h >>> 16);
}

function configHash(setHash: number, state: number): number {
  const low = state >>> 0;
  const high = (state / 4294967296) >>> 0;
  return mix32(setHash ^ mix32(low ^ Math.imul(high, 0x27d4eb2d)));
}
