import { z } from 'zod';
import type { KeyValue, TxnCommand, TxnOp, TxnOpResult } from '../kv/types.js';
import { ApiError } from './errors.js';

/** A key-value as the JSON API shows it: the value in base64 (values are bytes). */
export interface KeyValueJson {
  readonly key: string;
  readonly value: string;
  readonly createRevision: number;
  readonly modRevision: number;
  readonly version: number;
  readonly lease: number;
}

export function kvToJson(kv: KeyValue, keysOnly = false): KeyValueJson {
  return {
    key: kv.key,
    value: keysOnly ? '' : Buffer.from(kv.value.buffer, kv.value.byteOffset, kv.value.byteLength).toString('base64'),
    createRevision: kv.createRevision,
    modRevision: kv.modRevision,
    version: kv.version,
    lease: kv.lease,
  };
}

const valueFields = {
  /** The value as UTF-8 text... */
  value: z.string().optional(),
  /** ...or as base64 (bytes). */
  valueBase64: z.string().optional(),
};

const compareSchema = z.object({
  key: z.string(),
  target: z.enum(['version', 'createRevision', 'modRevision', 'value', 'lease']),
  op: z.enum(['=', '!=', '<', '>']),
  value: z.union([z.number(), z.string()]).optional(),
  valueBase64: z.string().optional(),
});

const rangeFields = {
  start: z.string().optional(),
  end: z.string().optional(),
  prefix: z.string().optional(),
};

const opSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('put'),
    key: z.string(),
    lease: z.number().int().min(0).optional(),
    prevKv: z.boolean().optional(),
    ...valueFields,
  }),
  z.object({ type: z.literal('delete'), key: z.string(), prevKv: z.boolean().optional() }),
  z.object({ type: z.literal('deleteRange'), prevKv: z.boolean().optional(), ...rangeFields }),
  z.object({ type: z.literal('get'), key: z.string() }),
  z.object({
    type: z.literal('range'),
    limit: z.number().int().min(1).optional(),
    keysOnly: z.boolean().optional(),
    ...rangeFields,
  }),
]);

const txnSchema = z.object({
  compare: z.array(compareSchema).default([]),
  success: z.array(opSchema).default([]),
  failure: z.array(opSchema).default([]),
});

function bytesOf(value: string | undefined, valueBase64: string | undefined, where: string): Uint8Array {
  if (valueBase64 !== undefined) {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(valueBase64))
      throw new ApiError('INVALID_TXN', `${where}: valueBase64 is not base64`);
    return new Uint8Array(Buffer.from(valueBase64, 'base64'));
  }
  if (value === undefined) throw new ApiError('INVALID_TXN', `${where}: a value (value or valueBase64) is required`);
  return new TextEncoder().encode(value);
}

/** Parses and validates a transaction body into the state machine's command (limits are checked there). */
export function parseTxn(body: Buffer): TxnCommand {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    throw new ApiError('INVALID_JSON', 'the body is not valid JSON');
  }
  const parsed = txnSchema.safeParse(raw);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new ApiError('INVALID_TXN', `${first?.path.join('.') || 'body'}: ${first?.message ?? 'invalid'}`);
  }
  const t = parsed.data;
  const toOp = (op: z.infer<typeof opSchema>, where: string): TxnOp => {
    switch (op.type) {
      case 'put':
        return {
          type: 'put',
          key: op.key,
          value: bytesOf(op.value, op.valueBase64, where),
          ...(op.lease !== undefined ? { lease: op.lease } : {}),
          ...(op.prevKv !== undefined ? { prevKv: op.prevKv } : {}),
        };
      case 'delete':
        return { type: 'delete', key: op.key, ...(op.prevKv !== undefined ? { prevKv: op.prevKv } : {}) };
      case 'deleteRange':
        return {
          type: 'deleteRange',
          ...stripUndefined({ start: op.start, end: op.end, prefix: op.prefix, prevKv: op.prevKv }),
        };
      case 'get':
        return { type: 'get', key: op.key };
      case 'range':
        return {
          type: 'range',
          ...stripUndefined({
            start: op.start,
            end: op.end,
            prefix: op.prefix,
            limit: op.limit,
            keysOnly: op.keysOnly,
          }),
        };
    }
  };
  return {
    type: 'txn',
    compare: t.compare.map((c, i) => {
      const where = `compare.${i}`;
      if (c.target === 'value') {
        return {
          key: c.key,
          target: c.target,
          op: c.op,
          value: bytesOf(typeof c.value === 'string' ? c.value : undefined, c.valueBase64, where),
        };
      }
      if (typeof c.value !== 'number')
        throw new ApiError('INVALID_TXN', `${where}: value must be a number for ${c.target}`);
      return { key: c.key, target: c.target, op: c.op, value: c.value };
    }),
    success: t.success.map((op, i) => toOp(op, `success.${i}`)),
    failure: t.failure.map((op, i) => toOp(op, `failure.${i}`)),
  };
}

export function txnOpResultToJson(r: TxnOpResult): Record<string, unknown> {
  switch (r.type) {
    case 'put':
      return {
        type: 'put',
        revision: r.revision,
        version: r.version,
        ...(r.prevKv ? { prevKv: kvToJson(r.prevKv) } : {}),
      };
    case 'delete':
    case 'deleteRange':
      return {
        type: r.type,
        deleted: r.deleted,
        ...(r.prevKvs ? { prevKvs: r.prevKvs.map((kv) => kvToJson(kv)) } : {}),
      };
    case 'get':
      return { type: 'get', kv: r.kv ? kvToJson(r.kv) : null };
    case 'range':
      return {
        type: 'range',
        kvs: r.kvs.map((kv) => kvToJson(kv)),
        more: r.more,
        ...(r.nextStart !== undefined ? { nextStart: r.nextStart } : {}),
      };
  }
}

function stripUndefined<T extends Record<string, unknown>>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as never;
}
