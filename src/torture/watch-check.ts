/** One change as a watch delivers it (values as UTF-8 text: the workload writes text). */
export interface WatchedChange {
  readonly type: 'put' | 'delete';
  readonly key: string;
  readonly value: string;
  readonly version: number;
  readonly modRevision: number;
}

/** The changes of one revision, as one watch event delivered them. */
export interface WatchedBatch {
  readonly revision: number;
  readonly changes: readonly WatchedChange[];
  /** The node that sent it (for the report). */
  readonly node?: string;
}

export interface WatchCheckResult {
  readonly ok: boolean;
  /** Batches received. */
  readonly received: number;
  /** Revisions compared (those of the reference in the checked range). */
  readonly expected: number;
  /** Problems found (bounded: the first ones, and a count). */
  readonly problems: readonly string[];
  readonly problemCount: number;
}

const MAX_PROBLEMS = 20;

function changeText(c: WatchedChange): string {
  return c.type === 'put' ? `put ${c.key}=${JSON.stringify(c.value)} v${c.version}` : `delete ${c.key}`;
}

function sameChange(a: WatchedChange, b: WatchedChange): boolean {
  if (a.type !== b.type || a.key !== b.key || a.modRevision !== b.modRevision) return false;
  return a.type === 'delete' || (a.value === b.value && a.version === b.version);
}

/**
 * Checks what one watcher received against the reference change log (a fresh watch from an early revision, after
 * the cluster converged): over revisions `fromRevision..untilRevision`, the watcher must have received exactly
 * the reference's batches, in increasing revision order, each once, with the same changes. Anything else — a
 * missing revision (gap), a revision twice or out of order, a revision the reference does not have, a change
 * that differs — is a problem.
 */
export function checkWatch(
  received: readonly WatchedBatch[],
  reference: readonly WatchedBatch[],
  fromRevision: number,
  untilRevision: number,
): WatchCheckResult {
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string) => {
    problemCount++;
    if (problems.length < MAX_PROBLEMS) problems.push(text);
  };
  let last = fromRevision - 1;
  const seen = new Map<number, WatchedBatch>();
  for (const b of received) {
    if (b.revision <= last) {
      problem(
        b.revision === last || seen.has(b.revision)
          ? `revision ${b.revision} delivered twice${b.node ? ` (again by ${b.node})` : ''}`
          : `revision ${b.revision} delivered after ${last} (out of order)`,
      );
      continue;
    }
    last = b.revision;
    seen.set(b.revision, b);
    for (const c of b.changes) {
      if (c.modRevision !== b.revision)
        problem(`revision ${b.revision}: a change of ${c.key} says modRevision ${c.modRevision}`);
    }
  }
  const expected = reference.filter((b) => b.revision >= fromRevision && b.revision <= untilRevision);
  const expectedRevisions = new Set(expected.map((b) => b.revision));
  for (const ref of expected) {
    const got = seen.get(ref.revision);
    if (!got) {
      problem(`revision ${ref.revision} missing (${ref.changes.map(changeText).join(', ')})`);
      continue;
    }
    const same =
      got.changes.length === ref.changes.length && got.changes.every((c, i) => sameChange(c, ref.changes[i]!));
    if (!same) {
      problem(
        `revision ${ref.revision} differs: got [${got.changes.map(changeText).join(', ')}], the log has [${ref.changes
          .map(changeText)
          .join(', ')}]`,
      );
    }
  }
  for (const [revision, b] of seen) {
    if (revision >= fromRevision && revision <= untilRevision && !expectedRevisions.has(revision)) {
      problem(`revision ${revision} is not in the log (${b.changes.map(changeText).join(', ')})`);
    }
  }
  return { ok: problemCount === 0, received: received.length, expected: expected.length, problems, problemCount };
}

/** A write the workload saw acknowledged, with the revision the answer gave. */
export interface AcknowledgedWrite {
  readonly id: string | number;
  readonly key: string;
  readonly type: 'put' | 'delete';
  readonly revision: number;
  /** Puts: the value and the version the answer gave. */
  readonly value?: string;
  readonly version?: number;
}

/**
 * Every acknowledged write must be in the final change log at the revision its answer named, as that change
 * (a lost or rewritten acknowledged write shows up here even if no later read saw it). Writes older than the
 * log's first revision are skipped.
 */
export function checkAcknowledgedWrites(
  writes: readonly AcknowledgedWrite[],
  reference: readonly WatchedBatch[],
  fromRevision: number,
): { readonly checked: number; readonly problems: readonly string[]; readonly problemCount: number } {
  const byRevision = new Map(reference.map((b) => [b.revision, b]));
  const problems: string[] = [];
  let problemCount = 0;
  let checked = 0;
  for (const w of writes) {
    if (w.revision < fromRevision) continue;
    checked++;
    const batch = byRevision.get(w.revision);
    const change = batch?.changes.find((c) => c.key === w.key && c.type === w.type);
    const ok =
      change !== undefined &&
      (w.type === 'delete' || (change.value === w.value && (w.version === undefined || change.version === w.version)));
    if (!ok) {
      problemCount++;
      if (problems.length < MAX_PROBLEMS) {
        const what = w.type === 'put' ? `put ${w.key}=${JSON.stringify(w.value)} v${w.version}` : `delete ${w.key}`;
        const found = batch ? batch.changes.map(changeText).join(', ') : 'nothing';
        problems.push(`op ${w.id}: acknowledged ${what} at revision ${w.revision}, but the log has ${found} there`);
      }
    }
  }
  return { checked, problems, problemCount };
}

/**
 * The state the reference log builds from an empty prefix (valid when the log starts at the prefix's first
 * revision): key → value of the last put, absent after a delete.
 */
export function stateFromLog(reference: readonly WatchedBatch[]): Map<string, { value: string; version: number }> {
  const state = new Map<string, { value: string; version: number }>();
  for (const b of reference) {
    for (const c of b.changes) {
      if (c.type === 'put') state.set(c.key, { value: c.value, version: c.version });
      else state.delete(c.key);
    }
  }
  return state;
}
