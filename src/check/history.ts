import { InvalidHistoryError } from './errors.js';

/**
 * The history format the checker reads: one record per client operation on one key, with the time the client
 * sent it (`call`) and the time it saw the answer (`return`), both from one monotonic clock in milliseconds.
 *
 * An operation whose outcome the client does not know (timeout, dropped connection, `TIMEOUT` from the API) has
 * `return: null` and `output: null`: it may take effect at any moment after its call, or never. An operation that
 * surely failed (`UNAVAILABLE`: surely not applied) carries no information; record it as
 * `{ ok: false, code: 'UNAVAILABLE' }` (the checker ignores it) or leave it out.
 */
export type OpKind = 'get' | 'put' | 'delete';

export interface OpInput {
  /** The value written (put only). */
  readonly value?: string;
  /** Condition on the key's current version (put and delete): 0 = the key must not exist. */
  readonly ifVersion?: number;
}

/** A read. `version` may be left out when the client did not record it; it is then not compared. */
export type GetOutput =
  | { readonly found: false }
  | { readonly found: true; readonly value: string; readonly version?: number };

/** A write. `version` is the key's version after the put; optional, compared only when present. */
export type PutOutput = { readonly ok: true; readonly version?: number } | CompareFailedOutput;

/** A delete: `deleted` is 1 when the key existed. */
export type DeleteOutput = { readonly ok?: true; readonly deleted: 0 | 1 } | CompareFailedOutput;

/** The `ifVersion` condition did not hold: the operation had no effect. */
export interface CompareFailedOutput {
  readonly ok: false;
  readonly code: 'COMPARE_FAILED';
}

/** The operation surely did not take effect (Cairn's `UNAVAILABLE`). The checker drops such operations. */
export interface UnavailableOutput {
  readonly ok: false;
  readonly code: 'UNAVAILABLE';
}

export type OpOutput = GetOutput | PutOutput | DeleteOutput | UnavailableOutput;

export interface HistoryOp {
  /** Unique in the history (used in reports). */
  readonly id: string | number;
  /** Which client issued it (one lane per client in the HTML report). */
  readonly clientId: string | number;
  readonly key: string;
  readonly op: OpKind;
  readonly input: OpInput;
  /** When the client sent the request (ms, monotonic clock, floats allowed). */
  readonly call: number;
  /** When the client got the answer; null = outcome unknown (treated as +Infinity). */
  readonly return: number | null;
  /** The answer; null = outcome unknown (then `return` must be null too). */
  readonly output: OpOutput | null;
}

/** Ops above this are refused unless `maxOps` says otherwise (bounds memory). */
export const DEFAULT_MAX_OPS = 1_000_000;

/** Versions above this are refused: the checker packs (version, value) into one exact integer. */
export const MAX_VERSION = 2 ** 31;

/** True when the operation surely had no effect and carries no information (dropped before the search). */
export function isSurelyFailed(op: HistoryOp): boolean {
  const out = op.output as { ok?: unknown; code?: unknown } | null;
  return out !== null && out.ok === false && out.code === 'UNAVAILABLE';
}

/**
 * Checks that `raw` is a well-formed history and returns it as typed operations (copies, with `input`
 * defaulted to `{}`). Unknown top-level and output fields are ignored; unknown input fields are refused, because
 * a condition the checker does not model (say `ifModRevision`) would otherwise be silently treated as absent.
 * Throws InvalidHistoryError on the first problem.
 */
export function validateHistory(raw: readonly unknown[], maxOps = DEFAULT_MAX_OPS): HistoryOp[] {
  if (!Array.isArray(raw)) throw new InvalidHistoryError('a history must be an array of operations');
  if (raw.length > maxOps) {
    throw new InvalidHistoryError(`the history has ${raw.length} operations, more than the limit of ${maxOps}`);
  }
  const seenIds = new Set<string | number>();
  const ops: HistoryOp[] = [];
  for (let index = 0; index < raw.length; index++) {
    const op = validateOp(raw[index], index);
    if (seenIds.has(op.id)) throw new InvalidHistoryError(`${where(index, op.id)}: the id is used twice`, index);
    seenIds.add(op.id);
    ops.push(op);
  }
  return ops;
}

/**
 * Reads a history from text: either one JSON array, or JSON lines (one operation per line; blank lines and lines
 * starting with `#` are skipped). Errors name the line.
 */
export function parseHistoryText(text: string, maxOps = DEFAULT_MAX_OPS): HistoryOp[] {
  const trimmed = text.trimStart();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new InvalidHistoryError(`the history is not valid JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed)) throw new InvalidHistoryError('a history must be an array of operations');
    return validateHistory(parsed, maxOps);
  }
  const records: unknown[] = [];
  const lines = text.split('\n');
  for (let lineNo = 0; lineNo < lines.length; lineNo++) {
    const line = lines[lineNo]!.trim();
    if (line === '' || line.startsWith('#')) continue;
    if (records.length >= maxOps) {
      throw new InvalidHistoryError(`the history has more operations than the limit of ${maxOps}`, lineNo);
    }
    try {
      records.push(JSON.parse(line));
    } catch (err) {
      throw new InvalidHistoryError(`line ${lineNo + 1} is not valid JSON: ${(err as Error).message}`, lineNo);
    }
  }
  return validateHistory(records, maxOps);
}

function where(index: number, id?: unknown): string {
  return id === undefined ? `operation #${index}` : `operation #${index} (id ${JSON.stringify(id)})`;
}

function isObject(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function isVersion(x: unknown, min: number): x is number {
  return typeof x === 'number' && Number.isInteger(x) && x >= min && x <= MAX_VERSION;
}

function validateOp(raw: unknown, index: number): HistoryOp {
  if (!isObject(raw)) throw new InvalidHistoryError(`${where(index)} is not an object`, index);
  const id = raw['id'];
  if (!((typeof id === 'string' && id !== '') || (typeof id === 'number' && Number.isFinite(id)))) {
    throw new InvalidHistoryError(`${where(index)}: id must be a non-empty string or a number`, index);
  }
  const fail = (message: string): never => {
    throw new InvalidHistoryError(`${where(index, id)}: ${message}`, index);
  };
  const clientId = raw['clientId'];
  if (!(typeof clientId === 'string' || (typeof clientId === 'number' && Number.isFinite(clientId)))) {
    fail('clientId must be a string or a number');
  }
  const key = raw['key'];
  if (typeof key !== 'string') fail('key must be a string');
  const kind = raw['op'];
  if (kind !== 'get' && kind !== 'put' && kind !== 'delete') fail(`op must be 'get', 'put' or 'delete'`);
  const opKind = kind as OpKind;

  const input = validateInput(raw['input'], opKind, fail);

  const call = raw['call'];
  if (typeof call !== 'number' || !Number.isFinite(call)) fail('call must be a finite number (ms)');
  const ret = raw['return'];
  if (ret !== null && (typeof ret !== 'number' || !Number.isFinite(ret))) {
    fail('return must be a finite number (ms) or null (outcome unknown)');
  }
  if (typeof ret === 'number' && ret < (call as number)) fail(`return (${ret}) is before call (${call})`);

  const rawOutput = raw['output'];
  if (rawOutput === undefined) fail('output is missing (use null when the outcome is unknown)');
  let output: OpOutput | null = null;
  if (rawOutput === null) {
    if (ret !== null) {
      fail(
        'output is null (outcome unknown) so return must be null too: the operation may take effect after the ' +
          'client gave up, so it has no return time',
      );
    }
  } else {
    if (ret === null) fail('return is null (outcome unknown) but an output is recorded; set output to null');
    output = validateOutput(rawOutput, opKind, input, fail);
  }
  return {
    id: id as string | number,
    clientId: clientId as string | number,
    key: key as string,
    op: opKind,
    input,
    call: call as number,
    return: ret as number | null,
    output,
  };
}

function validateInput(raw: unknown, kind: OpKind, fail: (m: string) => never): OpInput {
  if (raw === undefined) {
    if (kind === 'put') fail('a put needs input.value');
    return {};
  }
  if (!isObject(raw)) return fail('input must be an object');
  for (const field of Object.keys(raw)) {
    if (field !== 'value' && field !== 'ifVersion') {
      fail(`input.${field} is not supported by the checker's model (only value and ifVersion)`);
    }
  }
  const value = raw['value'];
  const ifVersion = raw['ifVersion'];
  if (kind === 'put') {
    if (typeof value !== 'string') fail('a put needs input.value as a string');
  } else if (value !== undefined) {
    fail(`a ${kind} takes no input.value`);
  }
  if (ifVersion !== undefined) {
    if (kind === 'get') fail('a get takes no input.ifVersion');
    if (!isVersion(ifVersion, 0)) fail(`input.ifVersion must be an integer in [0, ${MAX_VERSION}]`);
  }
  const input: { value?: string; ifVersion?: number } = {};
  if (value !== undefined) input.value = value as string;
  if (ifVersion !== undefined) input.ifVersion = ifVersion as number;
  return input;
}

function validateOutput(raw: unknown, kind: OpKind, input: OpInput, fail: (m: string) => never): OpOutput {
  if (!isObject(raw)) return fail('output must be an object or null');
  if (raw['ok'] === false) {
    const code = raw['code'];
    if (code === 'UNAVAILABLE') return { ok: false, code: 'UNAVAILABLE' };
    if (code === 'COMPARE_FAILED') {
      if (kind === 'get') fail('a get cannot fail with COMPARE_FAILED');
      if (input.ifVersion === undefined) fail('COMPARE_FAILED needs input.ifVersion (the condition that failed)');
      return { ok: false, code: 'COMPARE_FAILED' };
    }
    return fail(
      `output.code ${JSON.stringify(code)} is not understood: record a surely-failed operation as ` +
        `{ok:false, code:'UNAVAILABLE'} (or leave it out of the history), and an operation whose outcome is ` +
        `unknown (TIMEOUT, lost connection) with return: null and output: null`,
    );
  }
  switch (kind) {
    case 'get': {
      const found = raw['found'];
      if (found === false) return { found: false };
      if (found !== true) return fail('a get output needs found: true or false');
      const value = raw['value'];
      if (typeof value !== 'string') fail('a get output with found: true needs value as a string');
      const version = raw['version'];
      if (version === undefined) return { found: true, value: value as string };
      if (!isVersion(version, 1)) fail(`output.version must be an integer in [1, ${MAX_VERSION}]`);
      return { found: true, value: value as string, version: version as number };
    }
    case 'put': {
      if (raw['ok'] !== true) return fail('a put output needs ok: true (or ok: false with a code)');
      const version = raw['version'];
      if (version === undefined) return { ok: true };
      if (!isVersion(version, 1)) fail(`output.version must be an integer in [1, ${MAX_VERSION}]`);
      return { ok: true, version: version as number };
    }
    case 'delete': {
      const ok = raw['ok'];
      if (ok !== undefined && ok !== true) fail('a delete output has ok: true, or ok: false with a code');
      const deleted = raw['deleted'];
      if (deleted !== 0 && deleted !== 1) return fail('a delete output needs deleted: 0 or 1');
      return { deleted };
    }
  }
}
