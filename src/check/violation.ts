import type { HistoryOp } from './history.js';
import { applyKvOp, describeState, type KvState } from './kv-register.js';

/**
 * Where a key's history stops being linearizable, in terms a person can act on.
 *
 * The search keeps the longest partial linearization it found. At its end the search reached the return of an
 * operation (`failedOp`) that it could not place: no legal order of the operations still pending got it in. The
 * window is `failedOp` with every operation overlapping it in time — the concurrent operations whose order the
 * search was free to choose. Somewhere in that window (or in the writes that produced `stateAfter`) is the bug.
 */
export interface Violation {
  readonly key: string;
  /** The operation that could not be linearized (its answer was reached with no legal place for it). */
  readonly failedOp: HistoryOp;
  /** Why, when known without a search (a read of a value nothing wrote in time). */
  readonly note?: string;
  /**
   * `failedOp` and every operation overlapping it in time, by call time (unknown-outcome operations only if called
   * after the earliest of the others: every earlier timeout overlaps it too).
   */
  readonly window: readonly HistoryOp[];
  /** The longest partial linearization the search found, in order. */
  readonly linearization: readonly HistoryOp[];
  /** How many operations of this key the search had to linearize (unknown-outcome ones are optional). */
  readonly checkedOps: number;
  /** The key's state before the history (absent unless `initialValues` said otherwise). */
  readonly initialState: KvState;
  /** The key's state after `linearization`. */
  readonly stateAfter: KvState;
  /** The operation in `linearization` that last changed the key, if any. */
  readonly lastWrite: HistoryOp | null;
  /** Each window operation left out of `linearization`, with why it cannot come next. */
  readonly pending: readonly { readonly op: HistoryOp; readonly reason: string }[];
  /**
   * The key's operations around the failure, by call time, for a timeline: those overlapping the window's span
   * widened to the left by half its width (unknown-outcome ones only if called in it); at most MAX_CONTEXT, those
   * called nearest to the failing operation first.
   */
  readonly context: readonly HistoryOp[];
}

/** The most operations a violation's context holds. */
export const MAX_CONTEXT = 200;

export function buildViolation(
  key: string,
  ops: readonly HistoryOp[],
  linearization: readonly HistoryOp[],
  failedOp: HistoryOp,
  initial: KvState,
  note?: string,
): Violation {
  let state = initial;
  let lastWrite: HistoryOp | null = null;
  for (const op of linearization) {
    const stepped = applyKvOp(state, op);
    // The search only ever linearizes legal steps; a mismatch means the compiled model disagrees with the
    // reference one, and a report built on it would mislead.
    if (!stepped.legal) throw new Error(`checker bug: op ${String(op.id)} is illegal when replayed: ${stepped.reason}`);
    if (op.op !== 'get' && stepped.next !== state) lastWrite = op;
    state = stepped.next;
  }
  const failedReturn = failedOp.return ?? Number.POSITIVE_INFINITY;
  const knownWindow = ops.filter((op) => op.return !== null && op.call <= failedReturn && op.return >= failedOp.call);
  // Every unknown-outcome operation called before the failure overlaps it (its return is +Infinity); only those
  // called during the known window are listed, or the window would grow with every earlier timeout.
  const windowStart = Math.min(...knownWindow.map((op) => op.call));
  const window = [
    ...knownWindow,
    ...ops.filter((op) => op.return === null && op.call >= windowStart && op.call <= failedReturn),
  ].sort((a, b) => a.call - b.call);
  const inLinearization = new Set(linearization);
  const pending = window
    .filter((op) => !inLinearization.has(op))
    .map((op) => {
      const stepped = applyKvOp(state, op);
      const reason = stepped.legal
        ? op.output === null
          ? 'outcome unknown: taking effect here leads to no linearization'
          : 'possible here, but no order of the remaining operations works after it'
        : stepped.reason;
      return { op, reason };
    });
  const checkedOps = ops.filter((op) => op.output !== null).length;
  // The context: the window's span, widened to the left by half its width (to show what led up to it).
  const spanStart = windowStart - (failedReturn - windowStart) / 2;
  const context = ops
    .filter((op) => op.call <= failedReturn && (op.return === null ? op.call >= spanStart : op.return >= spanStart))
    .sort((a, b) => Math.abs(a.call - failedOp.call) - Math.abs(b.call - failedOp.call))
    .slice(0, MAX_CONTEXT)
    .sort((a, b) => a.call - b.call);
  return {
    key,
    failedOp,
    ...(note === undefined ? {} : { note }),
    window,
    linearization,
    checkedOps,
    initialState: initial,
    stateAfter: state,
    lastWrite,
    pending,
    context,
  };
}

export function formatTime(ms: number | null): string {
  if (ms === null) return '∞';
  return String(Math.round(ms * 1000) / 1000);
}

/** `put("x", ifVersion 2) → ok v3`: the operation and its recorded answer. */
export function formatOpCall(op: HistoryOp): string {
  const args: string[] = [];
  if (op.input.value !== undefined) args.push(JSON.stringify(op.input.value));
  if (op.input.ifVersion !== undefined) args.push(`ifVersion ${op.input.ifVersion}`);
  return `${op.op}(${args.join(', ')}) → ${formatOutput(op)}`;
}

export function formatOutput(op: HistoryOp): string {
  const out = op.output as Record<string, unknown> | null;
  if (out === null) return '? (outcome unknown)';
  if (out['ok'] === false) return String(out['code']);
  const version = out['version'] === undefined ? '' : ` v${out['version']}`;
  switch (op.op) {
    case 'get':
      return out['found'] === true ? `${JSON.stringify(out['value'])}${version}` : 'absent';
    case 'put':
      return `ok${version}`;
    case 'delete':
      return `deleted ${out['deleted']}`;
  }
}

/** One line describing an operation: id, client, call and answer, interval. */
export function formatOp(op: HistoryOp): string {
  return (
    `op ${JSON.stringify(op.id)} (client ${JSON.stringify(op.clientId)}) ${formatOpCall(op)}` +
    `  [${formatTime(op.call)} → ${formatTime(op.return)}]`
  );
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** How many lines of each list a text report shows. */
const MAX_LISTED = 40;

/** A plain-text account of a violation, for a terminal or a test failure message. */
export function formatViolation(v: Violation): string {
  const lines: string[] = [];
  lines.push(`key ${JSON.stringify(v.key)}: NOT LINEARIZABLE`);
  lines.push(`  could not linearize ${formatOp(v.failedOp)}`);
  if (v.note !== undefined) lines.push(`  ${v.note}`);
  const writer = v.lastWrite === null ? '' : `, last written by op ${JSON.stringify(v.lastWrite.id)}`;
  lines.push(
    `  longest partial linearization: ${v.linearization.length} operations (of ${v.checkedOps} with a known ` +
      `outcome); the key is then ${describeState(v.stateAfter)}${writer}`,
  );
  const tail = v.linearization.slice(-10);
  if (tail.length > 0) {
    lines.push(`  its last ${tail.length} operations:`);
    const first = v.linearization.length - tail.length;
    tail.forEach((op, i) => {
      lines.push(`    #${first + i + 1} ${formatOp(op)}`);
    });
  }
  const position = new Map(v.linearization.map((op, i) => [op, i + 1]));
  const reasons = new Map(v.pending.map((p) => [p.op, p.reason]));
  lines.push(`  operations overlapping op ${JSON.stringify(v.failedOp.id)} (${v.window.length}, by call time):`);
  for (const op of v.window.slice(0, MAX_LISTED)) {
    const mark = op === v.failedOp ? '*' : ' ';
    const where = position.has(op) ? `linearized as #${position.get(op)}` : `not linearized: ${reasons.get(op)}`;
    lines.push(`   ${mark}${formatOp(op)}  — ${where}`);
  }
  if (v.window.length > MAX_LISTED) lines.push(`    … and ${v.window.length - MAX_LISTED} more`);
  return lines.join('\n');
}
