import { CountVectorPool, growInt32 } from './count-vectors.js';
import { OpBitset } from './op-bitset.js';
import {
  knownEventOrder,
  NO_STEP,
  type PartitionProblem,
  type SearchLimits,
  type SearchOutcome,
  unknownTryOrder,
} from './partition-problem.js';
import { FULL, PRESENT, VisitedSet } from './visited-set.js';

/**
 * Wing & Gong's depth-first search with Lowe's memoization, as Porcupine does it, with an explicit stack and
 * typed arrays. Fast when the history is linearizable: it follows one plausible order and rarely backtracks far.
 *
 * Known-outcome operations live in a doubly linked list of call and return events ordered by time. The calls
 * before the first return event are the candidates: operations that may come next. A legal candidate whose
 * resulting configuration (operations linearized, state) is new is linearized — both its events are unlinked,
 * dancing-links style — and the search goes on from there. Once every candidate is tried, the operation of the
 * first return event had to be linearized by now and was not: the search backtracks. When the list is empty,
 * every known operation is linearized: the partition is linearizable.
 *
 * Reductions, each preserving the verdict:
 * - A legal read-only candidate (a read, a failed condition) is linearized at once, without branching: a
 *   linearization that places it later can place it now (its real-time predecessors are all done and it changes
 *   nothing). If that configuration fails, so does the one before it.
 * - State-changing candidates that leave the other candidates legal are tried first: an order that disables a
 *   concurrent operation tends to need unknown-outcome operations to explain it.
 * - Unknown-outcome operations have no return event (their return is +Infinity): they never force a backtrack
 *   and may stay unlinearized forever. They are tried only once the candidates are exhausted, among those called
 *   by the first return event, and within a class only the earliest unused member.
 * - An unknown-outcome operation must matter to the step right after it: if that step reaches the same state
 *   without it (a put followed by a delete), the path without it is at least as good.
 * - The memo skips configurations dominated by one already entered (see VisitedSet, CountVectorPool).
 */

/** What the loop does next. */
const Mode = {
  /** A configuration just entered: take a legal read-only candidate if any, else list the candidates. */
  Enter: 0,
  /** Try the next listed candidate. */
  Scan: 1,
  /** Candidates exhausted: try unknown-outcome classes one by one. */
  TryUnknown: 2,
  /** This configuration has nothing left to try. */
  Backtrack: 3,
} as const;

/** How many loop iterations run between two looks at the clock. */
const CLOCK_CHECK_INTERVAL = 1024;

export function depthFirstSearch(problem: PartitionProblem, limits: SearchLimits): SearchOutcome {
  const { knownCount: K, unknownCount: U, callTime, returnTime, step, readOnly, unknownClasses } = problem;
  const n = K + U;

  // Events of known op i: call = 2i, return = 2i + 1. HEAD and TAIL are sentinels.
  const HEAD = 2 * K;
  const TAIL = 2 * K + 1;
  const next = new Int32Array(2 * K + 2);
  const prev = new Int32Array(2 * K + 2);
  let last = HEAD;
  for (const event of knownEventOrder(problem)) {
    next[last] = event;
    prev[event] = last;
    last = event;
  }
  next[last] = TAIL;
  prev[TAIL] = last;

  const classOf = new Int32Array(n).fill(-1);
  unknownClasses.forEach((cls, c) => {
    for (const op of cls.members) classOf[op] = c;
  });
  const tryOrder = unknownTryOrder(problem);
  const orderPosition = new Int32Array(tryOrder.length);
  tryOrder.forEach((c, position) => {
    orderPosition[c] = position;
  });

  // Zobrist hashing of the known set: XOR of its members' random words, updated in O(1) per change. The unknown
  // part is compared by dominance, not equality, so it stays out of the hash.
  const zobrist = new Int32Array(K);
  for (let i = 0; i < K; i++) zobrist[i] = mix32(Math.imul(i + 1, 0x9e3779b1) ^ 0x5bd1e995);

  const vectors = new CountVectorPool(unknownClasses);
  const knownBits = new OpBitset(K);
  const visited = new VisitedSet(limits.maxConfigurations, vectors);

  // The stack: per linearized operation, the state and count vector before it, whether it was taken without
  // branching, and the return event the search was blocked at (unknown-outcome operations; -1 otherwise).
  const stackOp = new Int32Array(n);
  const stackState = new Float64Array(n);
  const stackVector = new Int32Array(n);
  const stackForced = new Uint8Array(n);
  const stackBlocked = new Int32Array(n);
  let depth = 0;
  let state = problem.initialState;
  let vector = CountVectorPool.ZERO;
  let setHash = 0;

  // Per depth, the legal state-changing candidates of the configuration at that depth in the order they are tried,
  // with the state each leads to: [candBase[d], candEnd[d]) of candOps/candStates, the next one at candPos[d]; and
  // the first return event's operation, where the search is blocked once they are exhausted.
  let candOps = new Int32Array(1024);
  let candStates = new Float64Array(1024);
  const candBase = new Int32Array(n + 1);
  const candEnd = new Int32Array(n + 1);
  const candPos = new Int32Array(n + 1);
  const blockAt = new Int32Array(n + 1);

  const maxStalled = limits.maxStalledConfigurations ?? Number.POSITIVE_INFINITY;
  let deepest = 0;
  let progressAt = 0;

  let longest = new Int32Array(0);
  let longestFailedOp = -1;
  let bestKnown = -1;
  let bestUnknown = 0;

  let mode: number = Mode.Enter;
  let blockedOp = -1;
  let classCursor = 0;
  let iterations = 0;

  const unlink = (event: number): void => {
    next[prev[event]!] = next[event]!;
    prev[next[event]!] = prev[event]!;
  };
  const relink = (event: number): void => {
    next[prev[event]!] = event;
    prev[next[event]!] = event;
  };

  /**
   * Linearizes `op`, whose step from the current state is `nextState`, if its configuration is new.
   * Returns 'pushed', 'illegal', 'seen', or 'full' (configuration limit).
   */
  const tryLinearize = (op: number, nextState: number, forced: boolean): 'pushed' | 'illegal' | 'seen' | 'full' => {
    if (nextState === NO_STEP) return 'illegal';
    if (depth > 0 && stackOp[depth - 1]! >= K && step(stackState[depth - 1]!, op) === nextState) return 'illegal';
    const hash = configHash(setHash ^ (op < K ? zobrist[op]! : 0), nextState);
    let nextVector = vector;
    let added: number;
    if (op < K) {
      knownBits.set(op);
      added = visited.add(hash, nextState, knownBits, vector);
      knownBits.clear(op);
    } else {
      nextVector = vectors.successor(vector, classOf[op]!);
      added = visited.add(hash, nextState, knownBits, nextVector);
    }
    if (added === PRESENT) return 'seen';
    if (added === FULL) return 'full';
    stackOp[depth] = op;
    stackState[depth] = state;
    stackVector[depth] = vector;
    stackForced[depth] = forced ? 1 : 0;
    stackBlocked[depth] = blockedOp;
    depth++;
    if (depth > deepest) {
      deepest = depth;
      progressAt = visited.size;
    }
    state = nextState;
    vector = nextVector;
    if (op < K) {
      setHash ^= zobrist[op]!;
      knownBits.set(op);
      unlink(2 * op);
      unlink(2 * op + 1);
    }
    return 'pushed';
  };

  /** Undoes the top of the stack and returns its operation. */
  const pop = (): number => {
    depth--;
    const op = stackOp[depth]!;
    state = stackState[depth]!;
    vector = stackVector[depth]!;
    if (op < K) {
      setHash ^= zobrist[op]!;
      knownBits.clear(op);
      relink(2 * op + 1);
      relink(2 * op);
    }
    return op;
  };

  /** Lists the current configuration's legal state-changing candidates, least disruptive first. */
  const listCandidates = (): void => {
    const base = depth === 0 ? 0 : candEnd[depth - 1]!;
    let end = base;
    let e = next[HEAD]!;
    for (; (e & 1) === 0; e = next[e]!) {
      const op = e >> 1;
      if (readOnly[op] === 1) continue; // legal ones were taken in Enter; the rest are illegal here
      const nextState = step(state, op);
      if (nextState === NO_STEP) continue;
      if (end === candOps.length) {
        candOps = growInt32(candOps);
        const bigger = new Float64Array(candStates.length * 2);
        bigger.set(candStates);
        candStates = bigger;
      }
      candOps[end] = op;
      candStates[end] = nextState;
      end++;
    }
    blockAt[depth] = e >> 1;
    candBase[depth] = base;
    candEnd[depth] = end;
    candPos[depth] = base;
    if (end - base > 1) sortByDisruption(base, end);
  };

  /** Stable insertion sort of candidates [base, end) by how many of the others each one makes illegal. */
  const sortByDisruption = (base: number, end: number): void => {
    const keys = new Int32Array(end - base);
    for (let i = base; i < end; i++) {
      let disabled = 0;
      for (let j = base; j < end; j++) if (j !== i && step(candStates[i]!, candOps[j]!) === NO_STEP) disabled++;
      keys[i - base] = disabled;
    }
    for (let i = base + 1; i < end; i++) {
      const op = candOps[i]!;
      const st = candStates[i]!;
      const key = keys[i - base]!;
      let j = i - 1;
      while (j >= base && keys[j - base]! > key) {
        candOps[j + 1] = candOps[j]!;
        candStates[j + 1] = candStates[j]!;
        keys[j + 1 - base] = keys[j - base]!;
        j--;
      }
      candOps[j + 1] = op;
      candStates[j + 1] = st;
      keys[j + 1 - base] = key;
    }
  };

  const gaveUp = (reason: 'time-budget' | 'configuration-limit' | 'stalled'): SearchOutcome => ({
    kind: 'gave-up',
    configurations: visited.size,
    reason,
  });

  for (;;) {
    if (iterations++ % CLOCK_CHECK_INTERVAL === 0) {
      if (limits.now() >= limits.deadline) return gaveUp('time-budget');
      if (visited.size - progressAt > maxStalled) return gaveUp('stalled');
    }
    switch (mode) {
      case Mode.Enter: {
        if (next[HEAD] === TAIL) {
          return { kind: 'linearizable', configurations: visited.size, order: stackOp.slice(0, depth) };
        }
        mode = Mode.Scan;
        blockedOp = -1;
        // This depth's candidate list starts empty: a child's list is stored after it, so it must be valid even
        // when a read-only operation is taken without listing candidates.
        const base = depth === 0 ? 0 : candEnd[depth - 1]!;
        candBase[depth] = base;
        candEnd[depth] = base;
        candPos[depth] = base;
        for (let e = next[HEAD]!; (e & 1) === 0; e = next[e]!) {
          const op = e >> 1;
          if (readOnly[op] === 0) continue;
          const outcome = tryLinearize(op, step(state, op), true);
          if (outcome === 'illegal') continue;
          if (outcome === 'full') return gaveUp('configuration-limit');
          // 'pushed': enter the new configuration. 'seen': a configuration dominating it failed or will be
          // explored (it cannot be on the stack: it holds one more known operation than this one), and then
          // this one fails too.
          mode = outcome === 'pushed' ? Mode.Enter : Mode.Backtrack;
          break;
        }
        if (mode === Mode.Scan) listCandidates();
        break;
      }

      case Mode.Scan: {
        if (candPos[depth]! < candEnd[depth]!) {
          const i = candPos[depth]!++;
          const outcome = tryLinearize(candOps[i]!, candStates[i]!, false);
          if (outcome === 'full') return gaveUp('configuration-limit');
          if (outcome === 'pushed') mode = Mode.Enter;
          break;
        }
        blockedOp = blockAt[depth]!;
        classCursor = 0;
        mode = Mode.TryUnknown;
        break;
      }

      case Mode.TryUnknown: {
        if (classCursor >= tryOrder.length) {
          mode = Mode.Backtrack;
          break;
        }
        const c = tryOrder[classCursor]!;
        const candidate = unknownClasses[c]!.members[vectors.used(vector, c)];
        if (candidate !== undefined && callTime[candidate]! <= returnTime[blockedOp]!) {
          const outcome = tryLinearize(candidate, step(state, candidate), false);
          if (outcome === 'full') return gaveUp('configuration-limit');
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
        // always is one: the other ways here need an earlier failure.) The best report linearizes the most
        // known-outcome operations with the fewest unknown-outcome ones: those are speculation.
        if (blockedOp !== -1) {
          const unknownUsed = vectors.total(vector);
          const knownDepth = depth - unknownUsed;
          if (knownDepth > bestKnown || (knownDepth === bestKnown && unknownUsed < bestUnknown)) {
            bestKnown = knownDepth;
            bestUnknown = unknownUsed;
            longest = stackOp.slice(0, depth);
            longestFailedOp = blockedOp;
          }
        }
        if (depth === 0) {
          return { kind: 'not-linearizable', configurations: visited.size, longest, failedOp: longestFailedOp };
        }
        const forced = stackForced[depth - 1] === 1;
        const blockedBefore = stackBlocked[depth - 1]!;
        const op = pop();
        if (forced) {
          // A read-only operation taken without branching failed: so does the configuration before it.
          blockedOp = -1;
        } else if (op < K) {
          blockedOp = -1;
          mode = Mode.Scan;
        } else {
          blockedOp = blockedBefore;
          classCursor = orderPosition[classOf[op]!]! + 1;
          mode = Mode.TryUnknown;
        }
        break;
      }
    }
  }
}

/** murmur3's 32-bit finalizer: spreads every input bit over the output. */
export function mix32(x: number): number {
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
