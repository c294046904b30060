import type { HistoryOp } from './history.js';

/**
 * The register model in its readable form: the state of one key and what one operation does to it, on real
 * values. The search runs a compiled, integer-only copy of these rules (kv-model.ts); this form explains failures
 * in reports, replays linearizations, and is the reference the compiled model is tested against.
 *
 * Semantics (etcd / Cairn): a key is absent or holds a value with a version ≥ 1. A put sets the value and
 * increments the version (1 when absent). A delete makes it absent (its version restarts at 1 on the next put).
 * `ifVersion` compares with the current version (0 when absent); on a mismatch the operation has no effect and
 * answers COMPARE_FAILED.
 */
export type KvState = { readonly value: string; readonly version: number } | null;

export type KvStep =
  | { readonly legal: true; readonly next: KvState }
  | { readonly legal: false; readonly reason: string };

function versionOf(state: KvState): number {
  return state === null ? 0 : state.version;
}

export function describeState(state: KvState): string {
  return state === null ? 'absent' : `${JSON.stringify(state.value)} v${state.version}`;
}

/**
 * Applies `op` to `state` if its recorded output is possible there. An operation with unknown output is legal in
 * any state; when linearized it takes effect (a conditional one only if its condition holds).
 */
export function applyKvOp(state: KvState, op: HistoryOp): KvStep {
  const version = versionOf(state);
  const out = op.output as Record<string, unknown> | null;
  const conditionHolds = op.input.ifVersion === undefined || op.input.ifVersion === version;
  const illegal = (reason: string): KvStep => ({ legal: false, reason });

  if (out !== null && out['ok'] === false && out['code'] === 'COMPARE_FAILED') {
    return conditionHolds
      ? illegal(`answered COMPARE_FAILED but the key is ${describeState(state)}, which matches ifVersion`)
      : { legal: true, next: state };
  }
  if (out !== null && out['ok'] === false) return { legal: true, next: state }; // surely failed: no effect

  switch (op.op) {
    case 'get': {
      if (out === null) return { legal: true, next: state };
      if (out['found'] === false) {
        return state === null
          ? { legal: true, next: state }
          : illegal(`read absent but the key is ${describeState(state)}`);
      }
      const seen = `${JSON.stringify(out['value'])}${out['version'] === undefined ? '' : ` v${out['version']}`}`;
      if (state === null) return illegal(`read ${seen} but the key is absent`);
      if (state.value !== out['value']) return illegal(`read ${seen} but the key is ${describeState(state)}`);
      if (out['version'] !== undefined && out['version'] !== state.version) {
        return illegal(`read ${seen} but the key is ${describeState(state)}`);
      }
      return { legal: true, next: state };
    }
    case 'put': {
      const next = { value: op.input.value ?? '', version: version + 1 };
      if (out === null) return { legal: true, next: conditionHolds ? next : state };
      if (!conditionHolds) {
        return illegal(`succeeded with ifVersion ${op.input.ifVersion} but the key is ${describeState(state)}`);
      }
      if (out['version'] !== undefined && out['version'] !== next.version) {
        return illegal(
          `answered version ${out['version']} but the key was ${describeState(state)}, so v${next.version}`,
        );
      }
      return { legal: true, next };
    }
    case 'delete': {
      const applies = conditionHolds && state !== null;
      if (out === null) return { legal: true, next: applies ? null : state };
      if (!conditionHolds) {
        return illegal(`succeeded with ifVersion ${op.input.ifVersion} but the key is ${describeState(state)}`);
      }
      const expected = state === null ? 0 : 1;
      if (out['deleted'] !== expected) {
        return illegal(`answered deleted ${out['deleted']} but the key was ${describeState(state)}`);
      }
      return { legal: true, next: null };
    }
  }
}
