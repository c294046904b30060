import { Packr } from 'msgpackr';
import { plain } from './bytes.js';
import { KvError } from './errors.js';
import { checkKey, selectorRange } from './keys.js';
import { DEFAULT_LIMITS, type KvLimits } from './options.js';
import { encodePut } from './put-encoder.js';
import type {
  Compare,
  CompareOp,
  CompareTarget,
  DeleteRangeCommand,
  KvCommand,
  KvCommandType,
  PutCommand,
  TxnOp,
} from './types.js';

/**
 * The wire format of state-machine commands: a msgpack map per command (fields as in KvCommand). Decoding
 * validates everything — shape, types, unknown fields and limits — because a log entry may be garbage and
 * must turn into an error result, never into an exception or a half-applied change.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, structuredClone: false });

const COMMAND_TYPES: ReadonlySet<string> = new Set<KvCommandType>([
  'put',
  'delete',
  'deleteRange',
  'txn',
  'leaseGrant',
  'leaseRevoke',
  'compact',
]);
const COMPARE_TARGETS: ReadonlySet<string> = new Set<CompareTarget>([
  'version',
  'createRevision',
  'modRevision',
  'value',
  'lease',
]);
const COMPARE_OPS: ReadonlySet<string> = new Set<CompareOp>(['=', '!=', '<', '>']);

type Fields = Record<string, unknown>;

function invalid(message: string): KvError {
  return new KvError('INVALID_COMMAND', message);
}

function asObject(value: unknown, what: string): Fields {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw invalid(`${what} must be a map`);
  }
  return value as Fields;
}

function onlyFields(obj: Fields, allowed: readonly string[], what: string): void {
  for (const field of Object.keys(obj)) {
    if (!allowed.includes(field)) throw invalid(`${what} has an unknown field "${field}"`);
  }
}

function optionalCount(obj: Fields, field: string, what: string): number | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw invalid(`${what}.${field} must be a non-negative integer`);
  }
  return v;
}

function requiredCount(obj: Fields, field: string, what: string): number {
  const v = optionalCount(obj, field, what);
  if (v === undefined) throw invalid(`${what}.${field} is required`);
  return v;
}

function optionalFlag(obj: Fields, field: string, what: string): boolean | undefined {
  const v = obj[field];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`${what}.${field} must be a boolean`);
  return v;
}

function leaseId(obj: Fields, field: string, what: string): number {
  const id = requiredCount(obj, field, what);
  if (id === 0) throw invalid(`${what}.${field} must be a positive integer`);
  return id;
}

function value(v: unknown, limits: KvLimits, what: string): Uint8Array {
  if (!(v instanceof Uint8Array)) throw invalid(`${what} must be bytes`);
  if (v.length > limits.maxValueBytes) {
    throw new KvError('VALUE_TOO_LARGE', `${what} is ${v.length} bytes, more than ${limits.maxValueBytes}`);
  }
  // msgpack decodes bytes as Buffers; hand out plain Uint8Arrays everywhere.
  return plain(v);
}

function key(obj: Fields, limits: KvLimits): string {
  checkKey(obj['key'], limits.maxKeyBytes);
  return obj['key'] as string;
}

/** Copies the optional fields that are set, so normalized commands carry no `undefined` noise. */
function withOptional<T extends object>(base: T, optional: Record<string, unknown>): T {
  const out: Record<string, unknown> = { ...(base as Record<string, unknown>) };
  for (const k in optional) if (optional[k] !== undefined) out[k] = optional[k];
  return out as T;
}

function rangeFields(obj: Fields, limits: KvLimits, what: string): { start?: string; end?: string; prefix?: string } {
  const fields = { start: obj['start'] ?? undefined, end: obj['end'] ?? undefined, prefix: obj['prefix'] ?? undefined };
  if (fields.start === undefined && fields.prefix === undefined) throw invalid(`${what} needs start or prefix`);
  try {
    selectorRange(fields, limits.maxKeyBytes);
  } catch (error) {
    if (error instanceof KvError && error.code === 'INVALID_ARGUMENT') throw invalid(`${what}: ${error.message}`);
    throw error;
  }
  return withOptional({}, fields) as { start?: string; end?: string; prefix?: string };
}

const PUT_FIELDS: readonly string[] = ['type', 'key', 'value', 'lease', 'prevKv'];
const CONDITIONAL_PUT_FIELDS: readonly string[] = [...PUT_FIELDS, 'ifVersion', 'ifModRevision'];

/** The hot path of every apply: fields set one by one (no arrays, spreads or option objects per call). */
function validatePut(obj: Fields, limits: KvLimits, what: string, conditional: boolean): KvCommand & TxnOp {
  onlyFields(obj, conditional ? CONDITIONAL_PUT_FIELDS : PUT_FIELDS, what);
  const out: { -readonly [K in keyof PutCommand]: PutCommand[K] } = {
    type: 'put',
    key: key(obj, limits),
    value: value(obj['value'], limits, what === 'put' ? 'put.value' : `${what}.value`),
  };
  const lease = optionalCount(obj, 'lease', what);
  if (lease !== undefined && lease !== 0) out.lease = lease;
  const prevKv = optionalFlag(obj, 'prevKv', what);
  if (prevKv !== undefined) out.prevKv = prevKv;
  if (conditional) {
    const ifVersion = optionalCount(obj, 'ifVersion', what);
    if (ifVersion !== undefined) out.ifVersion = ifVersion;
    const ifModRevision = optionalCount(obj, 'ifModRevision', what);
    if (ifModRevision !== undefined) out.ifModRevision = ifModRevision;
  }
  return out;
}

function validateDelete(obj: Fields, limits: KvLimits, what: string, conditional: boolean): KvCommand & TxnOp {
  const allowed = conditional ? ['type', 'key', 'prevKv', 'ifVersion', 'ifModRevision'] : ['type', 'key', 'prevKv'];
  onlyFields(obj, allowed, what);
  return withOptional(
    { type: 'delete' as const, key: key(obj, limits) },
    {
      prevKv: optionalFlag(obj, 'prevKv', what),
      ifVersion: conditional ? optionalCount(obj, 'ifVersion', what) : undefined,
      ifModRevision: conditional ? optionalCount(obj, 'ifModRevision', what) : undefined,
    },
  );
}

function validateDeleteRange(obj: Fields, limits: KvLimits, what: string): DeleteRangeCommand {
  onlyFields(obj, ['type', 'start', 'end', 'prefix', 'prevKv'], what);
  return withOptional(
    { type: 'deleteRange' as const, ...rangeFields(obj, limits, what) },
    { prevKv: optionalFlag(obj, 'prevKv', what) },
  );
}

function validateTxnOp(raw: unknown, limits: KvLimits, what: string): TxnOp {
  const obj = asObject(raw, what);
  switch (obj['type']) {
    case 'put':
      return validatePut(obj, limits, what, false) as TxnOp;
    case 'delete':
      return validateDelete(obj, limits, what, false) as TxnOp;
    case 'deleteRange':
      return validateDeleteRange(obj, limits, what);
    case 'get':
      onlyFields(obj, ['type', 'key'], what);
      return { type: 'get', key: key(obj, limits) };
    case 'range': {
      onlyFields(obj, ['type', 'start', 'end', 'prefix', 'limit', 'keysOnly'], what);
      return withOptional(
        { type: 'range' as const, ...rangeFields(obj, limits, what) },
        { limit: optionalCount(obj, 'limit', what), keysOnly: optionalFlag(obj, 'keysOnly', what) },
      );
    }
    default:
      throw invalid(`${what}.type must be put, delete, deleteRange, get or range`);
  }
}

function validateCompare(raw: unknown, limits: KvLimits, what: string): Compare {
  const obj = asObject(raw, what);
  onlyFields(obj, ['key', 'target', 'op', 'value'], what);
  const k = key(obj, limits);
  const target = obj['target'];
  const op = obj['op'];
  if (typeof target !== 'string' || !COMPARE_TARGETS.has(target)) throw invalid(`${what}.target is not valid`);
  if (typeof op !== 'string' || !COMPARE_OPS.has(op)) throw invalid(`${what}.op is not valid`);
  const v = target === 'value' ? value(obj['value'], limits, `${what}.value`) : requiredCount(obj, 'value', what);
  return { key: k, target: target as CompareTarget, op: op as CompareOp, value: v };
}

function list(raw: unknown, what: string, max: number): unknown[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw invalid(`${what} must be a list`);
  if (raw.length > max) throw new KvError('TXN_TOO_LARGE', `${what} has ${raw.length} entries, more than ${max}`);
  return raw;
}

function validateTtl(ttl: number, limits: KvLimits): void {
  if (ttl < limits.leaseMinTtlSeconds || ttl > limits.leaseMaxTtlSeconds) {
    throw new KvError(
      'INVALID_LEASE_TTL',
      `ttlSeconds must be in [${limits.leaseMinTtlSeconds}, ${limits.leaseMaxTtlSeconds}], got ${ttl}`,
    );
  }
}

/**
 * Checks a command (as decoded from msgpack, or built by a caller) and returns a normalized copy holding only
 * known fields. Throws KvError: INVALID_COMMAND, INVALID_KEY, KEY_TOO_LARGE, VALUE_TOO_LARGE, TXN_TOO_LARGE,
 * INVALID_LEASE_TTL.
 */
export function validateCommand(raw: unknown, limits: KvLimits = DEFAULT_LIMITS): KvCommand {
  const obj = asObject(raw, 'command');
  const type = obj['type'];
  if (typeof type !== 'string' || !COMMAND_TYPES.has(type)) throw invalid('command.type is not a known command');
  switch (type as KvCommandType) {
    case 'put':
      return validatePut(obj, limits, 'put', true);
    case 'delete':
      return validateDelete(obj, limits, 'delete', true);
    case 'deleteRange':
      return validateDeleteRange(obj, limits, 'deleteRange');
    case 'txn': {
      onlyFields(obj, ['type', 'compare', 'success', 'failure'], 'txn');
      const compare = list(obj['compare'], 'txn.compare', limits.maxTxnOps).map((c, i) =>
        validateCompare(c, limits, `txn.compare[${i}]`),
      );
      const success = list(obj['success'], 'txn.success', limits.maxTxnOps).map((o, i) =>
        validateTxnOp(o, limits, `txn.success[${i}]`),
      );
      const failure = list(obj['failure'], 'txn.failure', limits.maxTxnOps).map((o, i) =>
        validateTxnOp(o, limits, `txn.failure[${i}]`),
      );
      return { type: 'txn', compare, success, failure };
    }
    case 'leaseGrant': {
      onlyFields(obj, ['type', 'id', 'ttlSeconds'], 'leaseGrant');
      const id = leaseId(obj, 'id', 'leaseGrant');
      const ttlSeconds = requiredCount(obj, 'ttlSeconds', 'leaseGrant');
      validateTtl(ttlSeconds, limits);
      return { type: 'leaseGrant', id, ttlSeconds };
    }
    case 'leaseRevoke':
      onlyFields(obj, ['type', 'id'], 'leaseRevoke');
      return { type: 'leaseRevoke', id: leaseId(obj, 'id', 'leaseRevoke') };
    case 'compact': {
      onlyFields(obj, ['type', 'revision'], 'compact');
      const revision = requiredCount(obj, 'revision', 'compact');
      if (revision === 0) throw invalid('compact.revision must be positive');
      return { type: 'compact', revision };
    }
  }
}

/** Validates (throws KvError like validateCommand) and encodes a command for proposing to the log. */
export function encodeCommand(command: KvCommand, limits: KvLimits = DEFAULT_LIMITS): Uint8Array {
  return packr.pack(validateCommand(command, limits));
}

/**
 * Encodes a command validateCommand() returned, and says whether the command object itself may be applied in
 * place of decoding these bytes again (a leader applying its own proposal): a put or a delete, whose decoded form
 * is exactly the validated one (tested). A put's value is taken from the encoded bytes (or copied), so bytes the
 * caller still holds (a request body) can never change what is applied. Other commands (txn, leases, ranges) are
 * decoded from the log as before.
 */
export function encodeValidated(validated: KvCommand): { encoded: Uint8Array; applicable: KvCommand | null } {
  if (validated.type === 'put') {
    const byHand = encodePut(validated);
    if (byHand !== null) return { encoded: byHand.bytes, applicable: { ...validated, value: byHand.value } };
    return { encoded: packr.pack(validated), applicable: { ...validated, value: validated.value.slice() } };
  }
  const encoded = packr.pack(validated);
  return { encoded, applicable: validated.type === 'delete' ? validated : null };
}

/** Decodes msgpack without validating; throws KvError INVALID_COMMAND for undecodable bytes. */
export function unpackCommand(data: Uint8Array): unknown {
  try {
    return packr.unpack(data);
  } catch (error) {
    throw new KvError('INVALID_COMMAND', 'entry is not valid msgpack', { cause: error });
  }
}

/** Decodes and validates a log entry's data. Throws KvError (INVALID_COMMAND for undecodable bytes). */
export function decodeCommand(data: Uint8Array, limits: KvLimits = DEFAULT_LIMITS): KvCommand {
  return validateCommand(unpackCommand(data), limits);
}

/** The command type of decoded (not yet validated) data, if it names a known one; for error results. */
export function rawCommandType(raw: unknown): KvCommandType | null {
  if (typeof raw !== 'object' || raw === null) return null;
  const type = (raw as Fields)['type'];
  return typeof type === 'string' && COMMAND_TYPES.has(type) ? (type as KvCommandType) : null;
}
