import { ConfigTable } from './config-table.js';
import { CountVectorPool } from './count-vectors.js';
import {
  knownEventOrder,
  NO_STEP,
  type PartitionProblem,
  type SearchLimits,
  type SearchOutcome,
} from './partition-problem.js';

/**
 * A breadth-first-over-time linearizability search ("just-in-time" linearization): it walks the known-outcome
 * events in time order and keeps the frontier — every configuration a linearization of the history so far can
 * be in — pruned to those no other one dominates. At the return of an operation, each frontier configuration is
 * extended by linearizing pending operations (and unknown-outcome ones) until that operation is linearized; if no
 * configuration survives, the history is not linearizable, and that operation is where it fails.
 *
 * It is the complement of the depth-first search: slower on linearizable histories, whose every plausible
 * configuration it carries along, but it compares all alternatives at each moment, so a configuration that needed
 * more timed-out writes to get somewhere is dropped as soon as one that needed fewer gets there too. That makes it
 * refute histories with many unknown outcomes that depth-first search cannot (it would explore each combination).
 *
 * The same reductions as the depth-first search apply: read-only operations are taken as soon as they are legal,
 * unknown-outcome operations are used earliest member first within a class and must matter to the next step.
 */

interface ChainNode {
  readonly op: number;
  readonly prev: ChainNode | null;
}

/** How many configurations are handled between two looks at the clock. */
const CLOCK_CHECK_INTERVAL = 512;

export function frontierSearch(
  problem: PartitionProblem,
  limits: SearchLimits,
): SearchOutcome<'time-budget' | 'configuration-limit'> {
  const { knownCount: K, unknownCount: U, callTime, returnTime, step, readOnly, unknownClasses } = problem;
  const events = knownEventOrder(problem);

  // Each pending known operation holds a slot; a configuration's set says which pending ones it linearized.
  let maxPending = 0;
  let pendingNow = 0;
  for (const e of events) {
    pendingNow += (e & 1) === 0 ? 1 : -1;
    maxPending = Math.max(maxPending, pendingNow);
  }
  const W = Math.max(1, Math.ceil(maxPending / 32));
  const slotOf = new Int32Array(K).fill(-1);
  const freeSlots: number[] = [];
  let nextSlot = 0;
  const pending: number[] = [];

  const classOf = new Int32Array(K + U).fill(-1);
  unknownClasses.forEach((cls, c) => {
    for (const op of cls.members) classOf[op] = c;
  });
  const vectors = new CountVectorPool(unknownClasses);
  /** Scratch: the current configuration's count per class (zero between uses). */
  const used = new Int32Array(unknownClasses.length);
  /** Classes whose first member was called by the current time. */
  let available = 0;

  let frontier = new ConfigTable<ChainNode | null>(W, vectors);
  let nextFrontier = new ConfigTable<ChainNode | null>(W, vectors);
  const work = new ConfigTable<ChainNode | null>(W, vectors);
  const empty = new Int32Array(W);
  frontier.add(frontier.hashOf(problem.initialState, empty), problem.initialState, empty, 0, -1, -1, -1, null);

  const set = new Int32Array(W);
  const childSet = new Int32Array(W);
  const stack: number[] = [];
  let handled = 0;
  let peak = 1;

  const loadSet = (table: ConfigTable<ChainNode | null>, i: number, into: Int32Array): void => {
    for (let w = 0; w < W; w++) into[w] = table.word(i, w);
  };

  /** The chain of operations that led to work configuration `i`, extended by `op`. */
  const chainOf = (i: number, op: number): ChainNode | null => {
    const ops: number[] = [op];
    let at = i;
    while (work.parent(at) !== -1) {
      ops.push(work.op(at));
      at = work.parent(at);
    }
    let chain = work.payload(at) ?? null;
    for (let k = ops.length - 1; k >= 0; k--) chain = { op: ops[k]!, prev: chain };
    return chain;
  };

  /** Adds a configuration in which the returning operation is linearized to the next frontier, kept minimal. */
  const emit = (state: number, s: Int32Array, vector: number, chain: ChainNode | null): void => {
    const hash = nextFrontier.hashOf(state, s);
    if (nextFrontier.hasDominating(hash, state, s, vector)) return;
    nextFrontier.killDominatedBy(hash, state, s, vector);
    nextFrontier.add(hash, state, s, vector, -1, -1, -1, chain);
  };

  // The configuration being extended, and the operation whose return is being processed.
  let current = -1;
  let currentState = 0;
  let currentVector = 0;
  /** The state before the unknown-outcome operation that led to `current`, or -1. */
  let currentBeforeUnknown = -1;
  let returning = -1;

  /** Extends `current` by `op`, whose step from its state is `nextState`. */
  const extend = (op: number, nextState: number): void => {
    if (nextState === NO_STEP) return;
    // An unknown-outcome operation must matter to the step right after it.
    if (currentBeforeUnknown >= 0 && step(currentBeforeUnknown, op) === nextState) return;
    if (op === returning) {
      emit(nextState, set, currentVector, chainOf(current, op));
      return;
    }
    let childVector = currentVector;
    for (let w = 0; w < W; w++) childSet[w] = set[w]!;
    if (op < K) {
      const slot = slotOf[op]!;
      childSet[slot >>> 5] = childSet[slot >>> 5]! | (1 << (slot & 31));
    } else {
      childVector = vectors.successor(currentVector, classOf[op]!);
    }
    const hash = work.hashOf(nextState, childSet);
    if (work.hasDominating(hash, nextState, childSet, childVector)) return;
    stack.push(work.add(hash, nextState, childSet, childVector, current, op, op < K ? -1 : currentState, undefined));
  };

  for (const event of events) {
    const o = event >> 1;
    if ((event & 1) === 0) {
      slotOf[o] = freeSlots.pop() ?? nextSlot++;
      pending.push(o);
      continue;
    }

    // The return of o: every configuration must linearize it now.
    returning = o;
    const now = returnTime[o]!;
    const oSlot = slotOf[o]!;
    const oWord = oSlot >>> 5;
    const oMask = 1 << (oSlot & 31);
    nextFrontier.clear();
    work.clear();
    stack.length = 0;

    for (let i = 0; i < frontier.size; i++) {
      if (frontier.isDead(i)) continue;
      loadSet(frontier, i, set);
      if ((set[oWord]! & oMask) !== 0) {
        set[oWord] = set[oWord]! & ~oMask;
        emit(frontier.state(i), set, frontier.vector(i), frontier.payload(i) ?? null);
        continue;
      }
      const hash = work.hashOf(frontier.state(i), set);
      if (work.hasDominating(hash, frontier.state(i), set, frontier.vector(i))) continue;
      stack.push(work.add(hash, frontier.state(i), set, frontier.vector(i), -1, -1, -1, frontier.payload(i) ?? null));
    }

    while (stack.length > 0) {
      if (handled++ % CLOCK_CHECK_INTERVAL === 0 && limits.now() >= limits.deadline) {
        return { kind: 'gave-up', configurations: peak, reason: 'time-budget' };
      }
      if (work.size + nextFrontier.size > limits.maxConfigurations) {
        return { kind: 'gave-up', configurations: work.size + nextFrontier.size, reason: 'configuration-limit' };
      }
      const i = stack.pop()!;
      current = i;
      currentState = work.state(i);
      currentVector = work.vector(i);
      currentBeforeUnknown = work.extra(i);
      loadSet(work, i, set);
      const state = currentState;
      const vector = currentVector;

      // A legal read-only pending operation is taken alone: no branching.
      let forced = false;
      for (const q of pending) {
        const slot = slotOf[q]!;
        if (readOnly[q] === 0 || (set[slot >>> 5]! & (1 << (slot & 31))) !== 0) continue;
        const nextState = step(state, q);
        if (nextState === NO_STEP) continue;
        forced = true;
        extend(q, nextState);
        break;
      }
      if (forced) continue;
      for (const q of pending) {
        const slot = slotOf[q]!;
        if (readOnly[q] === 1 || (set[slot >>> 5]! & (1 << (slot & 31))) !== 0) continue;
        extend(q, step(state, q));
      }
      // Unknown-outcome classes called by now (classes are numbered by first call): conditional ones first.
      while (available < unknownClasses.length && callTime[unknownClasses[available]!.members[0]!]! <= now) available++;
      vectors.accumulate(vector, used, 1);
      for (let pass = 0; pass < 2; pass++) {
        for (let c = 0; c < available; c++) {
          const cls = unknownClasses[c]!;
          if (cls.universal !== (pass === 1)) continue;
          const member = cls.members[used[c]!];
          if (member === undefined || callTime[member]! > now) continue;
          extend(member, step(state, member));
        }
      }
      vectors.accumulate(vector, used, -1);
    }

    if (nextFrontier.size === 0) {
      // Report the configuration that linearized the most pending operations with the fewest unknown-outcome ones.
      let best = -1;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (let i = 0; i < frontier.size; i++) {
        if (frontier.isDead(i)) continue;
        let linearizedPending = 0;
        for (let w = 0; w < W; w++) linearizedPending += popcount(frontier.word(i, w));
        const score = linearizedPending * (U + 1) - vectors.total(frontier.vector(i));
        if (score > bestScore) {
          bestScore = score;
          best = i;
        }
      }
      const chain = best === -1 ? null : (frontier.payload(best) ?? null);
      return { kind: 'not-linearizable', configurations: peak, longest: chainToArray(chain), failedOp: o };
    }
    [frontier, nextFrontier] = [nextFrontier, frontier];
    peak = Math.max(peak, frontier.size, work.size);
    pending.splice(pending.indexOf(o), 1);
    freeSlots.push(oSlot);
  }
  let witness: ChainNode | null = null;
  for (let i = 0; i < frontier.size && witness === null; i++) {
    if (!frontier.isDead(i)) witness = frontier.payload(i) ?? null;
  }
  return { kind: 'linearizable', configurations: peak, order: chainToArray(witness) };
}

function popcount(word: number): number {
  let x = word - ((word >>> 1) & 0x55555555);
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

function chainToArray(chain: ChainNode | null): Int32Array {
  const ops: number[] = [];
  for (let node = chain; node !== null; node = node.prev) ops.push(node.op);
  return Int32Array.from(ops.reverse());
}
