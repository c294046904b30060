import { InvalidHistoryError } from './errors.js';
import { type HistoryOp, isSurelyFailed } from './history.js';
import type { KvState } from './kv-register.js';
import { NO_STEP, type PartitionProblem } from './partition-problem.js';

/**
 * Compiles the register model (kv-register.ts) for one key's operations into a PartitionProblem whose states
 * are integers: absent = 0, present = version × stride + valueId.
 *
 * Values that no read ever returns are all given the same id: no operation can tell them apart (conditions
 * compare versions only), so merging them is sound and lets the memoization merge states that differ only in an
 * unobserved value. For the same reason an unknown-outcome operation whose effect would change nothing is
 * declared illegal: linearizing it is equivalent to never linearizing it, which the search always may do.
 */

/** What an operation's recorded outcome is, as a small integer for the inner loop. */
const Code = {
  GetAbsent: 0,
  GetFound: 1,
  PutOk: 2,
  PutCompareFailed: 3,
  PutUnknown: 4,
  DeleteOk: 5,
  DeleteCompareFailed: 6,
  DeleteUnknown: 7,
} as const;

export interface CompiledKvPartition extends PartitionProblem {
  /** The operations in the problem's numbering (known by call time, then unknown by call time). */
  readonly ops: readonly HistoryOp[];
  /** How many operations were left out because they carry no information. */
  readonly droppedOps: number;
  /**
   * A read that no linearization can explain, found without searching: it returned a value that neither the
   * initial state nor any put called before the read returned wrote (the earliest-returning such read), or -1.
   */
  readonly impossibleRead: number;
}

/**
 * Compiles one key's operations. Operations that carry no information are left out (counted in `droppedOps`): a
 * read whose answer is unknown, and anything that surely failed (`UNAVAILABLE`).
 */
export function compileKvPartition(allOps: readonly HistoryOp[], initial: KvState): CompiledKvPartition {
  const ops = allOps.filter((op) => !(isSurelyFailed(op) || (op.op === 'get' && op.output === null)));
  const byCall = (a: HistoryOp, b: HistoryOp): number => a.call - b.call;
  // Array.prototype.sort is stable, so equal call times keep the history's order (deterministic reports).
  const known = ops.filter((o) => o.return !== null).sort(byCall);
  const unknown = ops.filter((o) => o.return === null).sort(byCall);
  const ordered = [...known, ...unknown];
  const n = ordered.length;

  const observed = new Map<string, number>();
  for (const op of ordered) {
    const out = op.output as { found?: boolean; value?: string } | null;
    if (op.op === 'get' && out?.found === true && !observed.has(out.value!)) observed.set(out.value!, observed.size);
  }
  const unobservedId = observed.size;
  const stride = observed.size + 1;
  const valueIdOf = (value: string): number => observed.get(value) ?? unobservedId;

  let maxVersion = (initial?.version ?? 0) + ordered.filter((o) => o.op === 'put').length;
  for (const op of ordered) {
    const out = op.output as { version?: number } | null;
    maxVersion = Math.max(maxVersion, out?.version ?? 0, op.input.ifVersion ?? 0);
  }
  if ((maxVersion + 1) * stride > Number.MAX_SAFE_INTEGER) {
    throw new InvalidHistoryError(`key ${JSON.stringify(ops[0]?.key)}: too many versions and values to check`);
  }

  // When no operation looks at versions (no ifVersion, no version in any output) they cannot matter: keep every
  // present state at version 1 so that states differing only in version merge.
  const versionsObserved = ordered.some(
    (op) =>
      op.input.ifVersion !== undefined || typeof (op.output as { version?: unknown } | null)?.version === 'number',
  );
  const versionAfterWrite = versionsObserved ? (version: number): number => version + 1 : (): number => 1;

  const code = new Uint8Array(n);
  const valueId = new Int32Array(n).fill(-1);
  const ifVersion = new Float64Array(n).fill(-1);
  const outVersion = new Float64Array(n).fill(-1);
  const outDeleted = new Uint8Array(n);
  const callTime = new Float64Array(n);
  const returnTime = new Float64Array(n);

  for (let i = 0; i < n; i++) {
    const op = ordered[i]!;
    callTime[i] = op.call;
    returnTime[i] = op.return ?? Number.POSITIVE_INFINITY;
    if (op.input.ifVersion !== undefined) ifVersion[i] = op.input.ifVersion;
    const out = op.output as Record<string, unknown> | null;
    const compareFailed = out !== null && out['ok'] === false;
    if (typeof out?.['version'] === 'number') outVersion[i] = out['version'];
    switch (op.op) {
      case 'get':
        if (out === null) throw new Error('unknown-outcome gets must be dropped before compiling');
        code[i] = out['found'] === true ? Code.GetFound : Code.GetAbsent;
        if (out['found'] === true) valueId[i] = valueIdOf(out['value'] as string);
        break;
      case 'put':
        valueId[i] = valueIdOf(op.input.value ?? '');
        code[i] = out === null ? Code.PutUnknown : compareFailed ? Code.PutCompareFailed : Code.PutOk;
        break;
      case 'delete':
        code[i] = out === null ? Code.DeleteUnknown : compareFailed ? Code.DeleteCompareFailed : Code.DeleteOk;
        outDeleted[i] = out?.['deleted'] === 1 ? 1 : 0;
        break;
    }
  }

  // Reads and failed conditions never change the state; neither does a delete that found nothing, which is
  // legal only when the key is absent.
  const readOnly = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = code[i];
    readOnly[i] =
      c === Code.GetAbsent ||
      c === Code.GetFound ||
      c === Code.PutCompareFailed ||
      c === Code.DeleteCompareFailed ||
      (c === Code.DeleteOk && outDeleted[i] === 0)
        ? 1
        : 0;
  }

  const step = (state: number, op: number): number => {
    const version = state === 0 ? 0 : Math.floor(state / stride);
    const iv = ifVersion[op]!;
    switch (code[op]) {
      case Code.GetAbsent:
        return version === 0 ? state : NO_STEP;
      case Code.GetFound: {
        if (version === 0 || state - version * stride !== valueId[op]) return NO_STEP;
        const ov = outVersion[op]!;
        return ov < 0 || ov === version ? state : NO_STEP;
      }
      case Code.PutOk: {
        if (iv >= 0 && iv !== version) return NO_STEP;
        const ov = outVersion[op]!;
        if (ov >= 0 && ov !== version + 1) return NO_STEP;
        return versionAfterWrite(version) * stride + valueId[op]!;
      }
      case Code.PutUnknown:
        return iv >= 0 && iv !== version ? NO_STEP : versionAfterWrite(version) * stride + valueId[op]!;
      case Code.PutCompareFailed:
      case Code.DeleteCompareFailed:
        return iv !== version ? state : NO_STEP;
      case Code.DeleteOk:
        if (iv >= 0 && iv !== version) return NO_STEP;
        return outDeleted[op] === (version === 0 ? 0 : 1) ? 0 : NO_STEP;
      case Code.DeleteUnknown:
        return version === 0 || (iv >= 0 && iv !== version) ? NO_STEP : 0;
      default:
        return NO_STEP;
    }
  };

  // Unknown-outcome operations with the same compiled effect and condition are interchangeable; those with the
  // same effect form a group, in which an unconditional one can replace any other.
  const classIds = new Map<string, number>();
  const groupIds = new Map<string, number>();
  const classes: { members: number[]; group: number; universal: boolean }[] = [];
  for (let i = known.length; i < n; i++) {
    const effect = `${code[i]}|${valueId[i]}`;
    const signature = `${effect}|${ifVersion[i]}`;
    let id = classIds.get(signature);
    if (id === undefined) {
      id = classes.length;
      classIds.set(signature, id);
      let group = groupIds.get(effect);
      if (group === undefined) {
        group = groupIds.size;
        groupIds.set(effect, group);
      }
      classes.push({ members: [], group, universal: ifVersion[i]! < 0 });
    }
    classes[id]!.members.push(i);
  }

  // A read is impossible when nothing could have written its value by the time it returned.
  const firstWriteCall = new Map<number, number>();
  for (let i = 0; i < n; i++) {
    if (code[i] === Code.PutOk || code[i] === Code.PutUnknown) {
      firstWriteCall.set(
        valueId[i]!,
        Math.min(firstWriteCall.get(valueId[i]!) ?? Number.POSITIVE_INFINITY, callTime[i]!),
      );
    }
  }
  const initialValueId = initial === null ? -1 : valueIdOf(initial.value);
  let impossibleRead = -1;
  for (let i = 0; i < known.length; i++) {
    if (code[i] !== Code.GetFound || valueId[i] === initialValueId) continue;
    if ((firstWriteCall.get(valueId[i]!) ?? Number.POSITIVE_INFINITY) <= returnTime[i]!) continue;
    if (impossibleRead === -1 || returnTime[i]! < returnTime[impossibleRead]!) impossibleRead = i;
  }

  const initialVersion = initial === null ? 0 : versionsObserved ? initial.version : 1;
  const initialState = initial === null ? 0 : initialVersion * stride + initialValueId;
  return {
    ops: ordered,
    droppedOps: allOps.length - ops.length,
    impossibleRead,
    knownCount: known.length,
    unknownCount: unknown.length,
    callTime,
    returnTime,
    initialState,
    step,
    readOnly,
    unknownClasses: classes.map((c) => ({
      members: Int32Array.from(c.members),
      group: c.group,
      universal: c.universal,
    })),
  };
}
