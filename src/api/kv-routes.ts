import { isKvError } from '../kv/errors.js';
import type { ApplyResult, KeySelector, PutCommand } from '../kv/types.js';
import type { ProposalOutcome } from '../node/pending-proposals.js';
import { kvToApiError } from '../node/replica.js';
import { type ApiServer, boolParam, intParam, parseAck, parseConsistency } from './api-server.js';
import { ApiError } from './errors.js';
import { sendJson, takeWholeBody } from './http-server.js';
import { kvToJson, parseTxn, txnOpResultToJson } from './json-codec.js';
import type { RouteContext } from './router.js';

const MAX_KEY_BYTES = 4096;
const TXN_BODY_MAX_BYTES = 8 * 1024 * 1024;

export function requireKey(raw: string | undefined): string {
  if (!raw) throw new ApiError('INVALID_KEY', 'the key must not be empty');
  if (Buffer.byteLength(raw) > MAX_KEY_BYTES) {
    throw new ApiError('KEY_TOO_LARGE', `the key is longer than ${MAX_KEY_BYTES} bytes`);
  }
  if (hasSurrogates(raw) && /[\uD800-\uDFFF]/.test(raw.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    throw new ApiError('INVALID_KEY', 'the key is not valid UTF-8');
  }
  return raw;
}

/** Any UTF-16 surrogate in `s`: only then can it hold a lone one (checked without building a string per key). */
function hasSurrogates(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) return true;
  }
  return false;
}

/** Which keys a range request names: `prefix`, or `start` [+ `end`]. */
export function selectorFromQuery(ctx: RouteContext, required: boolean): KeySelector {
  const prefix = ctx.query.get('prefix');
  const start = ctx.query.get('start');
  const end = ctx.query.get('end');
  if (prefix !== null) {
    if (start !== null || end !== null) throw new ApiError('INVALID_ARGUMENT', 'give either prefix or start/end');
    return start !== null ? { prefix, start } : { prefix };
  }
  if (start !== null) return end !== null ? { start, end } : { start };
  if (required) throw new ApiError('INVALID_ARGUMENT', 'a prefix or a start key is required');
  return { prefix: '' };
}

/** Turns a write's outcome into the HTTP answer. */
export function sendWriteOutcome(ctx: RouteContext, outcome: ProposalOutcome): void {
  if (outcome.kind === 'durableOnLeader') {
    sendJson(ctx.res, 202, { index: outcome.index, term: outcome.term, ack: 'leader' });
    return;
  }
  sendApplyResult(ctx, outcome.result);
}

function sendApplyResult(ctx: RouteContext, r: ApplyResult): void {
  if (!r.ok) throw kvToApiError(r.code, r.message);
  switch (r.type) {
    case 'put':
      sendJson(
        ctx.res,
        200,
        r.prevKv === undefined
          ? { revision: r.revision, version: r.version }
          : { revision: r.revision, version: r.version, prevKv: r.prevKv ? kvToJson(r.prevKv) : null },
      );
      return;
    case 'delete':
    case 'deleteRange':
      sendJson(ctx.res, 200, {
        revision: r.revision,
        deleted: r.deleted,
        ...(r.prevKvs ? { prevKvs: r.prevKvs.map((kv) => kvToJson(kv)) } : {}),
      });
      return;
    case 'txn':
      sendJson(ctx.res, 200, {
        succeeded: r.succeeded,
        revision: r.revision,
        responses: r.responses.map(txnOpResultToJson),
      });
      return;
    case 'leaseGrant':
      sendJson(ctx.res, 200, { id: r.id, ttlSeconds: r.ttlSeconds, revision: r.revision });
      return;
    case 'leaseRevoke':
      sendJson(ctx.res, 200, { id: r.id, deleted: r.deleted, revision: r.revision });
      return;
    default:
      sendJson(ctx.res, 200, { revision: r.revision });
  }
}

export function registerKvRoutes(api: ApiServer): void {
  const { router, node } = api;
  const valueTooLarge = () =>
    new ApiError('VALUE_TOO_LARGE', `the value is larger than ${node.config.maxValueBytes} bytes`);

  router.add('PUT', '/v1/kv/*key', async (ctx) => {
    const key = requireKey(ctx.params.key);
    const ack = parseAck(ctx);
    const ifVersion = intParam(ctx, 'ifVersion');
    const ifModRevision = intParam(ctx, 'ifModRevision');
    const lease = intParam(ctx, 'lease', 1);
    const prevKv = boolParam(ctx, 'prevKv');
    if (ack === 'leader' && (ifVersion !== undefined || ifModRevision !== undefined)) {
      throw new ApiError(
        'INVALID_ARGUMENT',
        'a conditional write cannot use ack=leader: its outcome is known only once applied',
      );
    }
    const max = node.config.maxValueBytes;
    const body = takeWholeBody(ctx.req, max, valueTooLarge) ?? (await api.body(ctx, max, valueTooLarge));
    // Set field by field: the hot path of every put (no spread objects).
    const command: { -readonly [K in keyof PutCommand]: PutCommand[K] } = { type: 'put', key, value: body };
    if (lease !== undefined) command.lease = lease;
    if (ifVersion !== undefined) command.ifVersion = ifVersion;
    if (ifModRevision !== undefined) command.ifModRevision = ifModRevision;
    if (prevKv) command.prevKv = prevKv;
    const outcome = await api.propose(ctx, command, ack, body);
    if (outcome !== 'forwarded') sendWriteOutcome(ctx, outcome);
  });

  router.add('GET', '/v1/kv/*key', async (ctx) => {
    const key = requireKey(ctx.params.key);
    await api.readBarrier(parseConsistency(ctx));
    const kv = node.kv.get(key);
    if (!kv) throw new ApiError('KEY_NOT_FOUND', `no key ${JSON.stringify(key)}`, { revision: node.kv.revision });
    ctx.res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': kv.value.byteLength,
      'cairn-revision': String(node.kv.revision),
      'cairn-mod-revision': String(kv.modRevision),
      'cairn-create-revision': String(kv.createRevision),
      'cairn-version': String(kv.version),
      ...(kv.lease ? { 'cairn-lease': String(kv.lease) } : {}),
    });
    ctx.res.end(kv.value);
  });

  router.add('DELETE', '/v1/kv/*key', async (ctx) => {
    const key = requireKey(ctx.params.key);
    const ack = parseAck(ctx);
    const ifVersion = intParam(ctx, 'ifVersion');
    const ifModRevision = intParam(ctx, 'ifModRevision');
    const prevKv = boolParam(ctx, 'prevKv');
    if (ack === 'leader' && (ifVersion !== undefined || ifModRevision !== undefined)) {
      throw new ApiError('INVALID_ARGUMENT', 'a conditional delete cannot use ack=leader');
    }
    const outcome = await api.propose(
      ctx,
      {
        type: 'delete',
        key,
        ...(ifVersion !== undefined ? { ifVersion } : {}),
        ...(ifModRevision !== undefined ? { ifModRevision } : {}),
        ...(prevKv ? { prevKv } : {}),
      },
      ack,
      undefined,
    );
    if (outcome !== 'forwarded') sendWriteOutcome(ctx, outcome);
  });

  router.add('GET', '/v1/kv', async (ctx) => {
    const selector = selectorFromQuery(ctx, false);
    const limit = intParam(ctx, 'limit', 1);
    const keysOnly = boolParam(ctx, 'keysOnly');
    await api.readBarrier(parseConsistency(ctx));
    let result: ReturnType<typeof node.kv.range>;
    try {
      result = node.kv.range(selector, { ...(limit !== undefined ? { limit } : {}), keysOnly });
    } catch (error) {
      if (isKvError(error)) throw kvToApiError(error.code, error.message);
      throw error;
    }
    sendJson(ctx.res, 200, {
      kvs: result.kvs.map((kv) => kvToJson(kv, keysOnly)),
      more: result.more,
      ...(result.nextStart !== undefined ? { nextStart: result.nextStart } : {}),
      revision: result.revision,
    });
  });

  router.add('DELETE', '/v1/kv', async (ctx) => {
    const selector = selectorFromQuery(ctx, true);
    const ack = parseAck(ctx);
    const outcome = await api.propose(
      ctx,
      { type: 'deleteRange', ...selector, prevKv: boolParam(ctx, 'prevKv') },
      ack,
      undefined,
    );
    if (outcome !== 'forwarded') sendWriteOutcome(ctx, outcome);
  });

  router.add('POST', '/v1/txn', async (ctx) => {
    const ack = parseAck(ctx);
    if (ack === 'leader') throw new ApiError('INVALID_ARGUMENT', 'a transaction cannot use ack=leader');
    const body = await api.body(ctx, TXN_BODY_MAX_BYTES);
    const txn = parseTxn(body);
    const outcome = await api.propose(ctx, txn, ack, body);
    if (outcome !== 'forwarded') sendWriteOutcome(ctx, outcome);
  });
}
