import type { ServerResponse } from 'node:http';
import { isKvError, type KvError } from '../kv/errors.js';
import type { KeySelector, WatchResponse } from '../kv/types.js';
import { kvToApiError } from '../node/replica.js';
import { type ApiServer, boolParam, intParam } from './api-server.js';
import { ApiError } from './errors.js';
import { sendError, whenWritable } from './http-server.js';
import { kvToJson } from './json-codec.js';
import { requireKey, selectorFromQuery } from './kv-routes.js';
import type { RouteContext } from './router.js';

/** A comment line every so often keeps proxies from closing an idle stream, and notices dead clients. */
const KEEPALIVE_MS = 15_000;

function watchSelector(ctx: RouteContext): KeySelector {
  const key = ctx.query.get('key');
  if (key !== null) return { key: requireKey(key) };
  return selectorFromQuery(ctx, false);
}

/**
 * GET /v1/watch: Server-Sent Events, one event per revision (`id:` = the revision, `data:` = its changes), in
 * revision order, with no gaps or duplicates. A client resumes after a disconnect, on any node, with
 * `Last-Event-ID` (or `fromRevision` = last seen + 1).
 */
export function registerWatchRoute(api: ApiServer): void {
  const { router, node } = api;
  router.add('GET', '/v1/watch', (ctx) => {
    const selector = watchSelector(ctx);
    let fromRevision = intParam(ctx, 'fromRevision', 1);
    const lastEventId = ctx.req.headers['last-event-id'];
    if (typeof lastEventId === 'string' && lastEventId !== '') {
      const last = Number(lastEventId);
      if (!Number.isSafeInteger(last) || last < 0)
        throw new ApiError('INVALID_ARGUMENT', 'Last-Event-ID must be a revision');
      fromRevision = last + 1;
    }
    const prevKv = boolParam(ctx, 'prevKv');
    // A follower applies in batches: a watch starting "now" starts after everything it knows is committed.
    node.replica.applyDeferred();
    if (fromRevision !== undefined && fromRevision < node.kv.oldestRevision) {
      throw new ApiError(
        'COMPACTED',
        `revision ${fromRevision} is older than the oldest kept (${node.kv.oldestRevision})`,
        {
          oldestRevision: node.kv.oldestRevision,
        },
      );
    }
    // Both protocols' responses are writable streams; one type keeps the calls below simple.
    const res = ctx.res as ServerResponse;
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, {
        'content-type': 'text/event-stream',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
        'cairn-revision': String(node.kv.revision),
      });
      res.write(': watching\n\n');
    };
    const write = (text: string): Promise<void> | undefined => {
      if (res.writableEnded || res.destroyed) return undefined;
      if (res.write(text)) return undefined;
      // A slow client: the state machine buffers (bounded) and catches up from history meanwhile.
      return whenWritable(res);
    };
    let watcher: ReturnType<typeof node.kv.watch>;
    try {
      watcher = node.kv.watch(
        selector,
        fromRevision,
        (r: WatchResponse) => {
          start();
          const data = {
            revision: r.revision,
            events: r.events.map((e) => ({
              type: e.type,
              ...kvToJson({
                key: e.key,
                value: e.value,
                createRevision: e.createRevision,
                modRevision: e.modRevision,
                version: e.version,
                lease: e.lease,
              }),
              ...(e.prevKv ? { prevKv: kvToJson(e.prevKv) } : {}),
            })),
          };
          return write(`id: ${r.revision}\ndata: ${JSON.stringify(data)}\n\n`);
        },
        { prevKv },
      );
    } catch (error) {
      if (isKvError(error)) throw kvToApiError(error.code, error.message);
      throw error;
    }
    // Headers go out at once, so the client knows the watch is established.
    start();
    const keepalive = setInterval(() => void write(': keepalive\n\n'), KEEPALIVE_MS);
    const stop = () => {
      clearInterval(keepalive);
      watcher.cancel();
    };
    res.once('close', stop);
    void watcher.done.then((error: KvError | null) => {
      clearInterval(keepalive);
      if (!error || res.writableEnded || res.destroyed) return;
      const apiError = kvToApiError(error.code, error.message);
      if (!started) {
        sendError(res, apiError);
        return;
      }
      res.end(`event: error\ndata: ${JSON.stringify(apiError.toJSON())}\n\n`);
    });
  });
}
