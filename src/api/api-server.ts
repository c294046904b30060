import type { AddressInfo } from 'node:net';
import type { KvCommand } from '../kv/types.js';
import type { CairnNode } from '../node/node.js';
import type { AckMode, ProposalOutcome } from '../node/pending-proposals.js';
import { NotLeaderError } from '../node/replica.js';
import { registerClusterRoutes } from './cluster-routes.js';
import { ApiError } from './errors.js';
import { LeaderForwarder } from './forwarder.js';
import { H2Exchange } from './h2/h2-exchange.js';
import { registerHealthRoutes } from './health-routes.js';
import { DualProtocolServer, type Response, readBody, sendError } from './http-server.js';
import { registerKvRoutes } from './kv-routes.js';
import { registerLeaseRoutes } from './lease-routes.js';
import { registerMaintenanceRoutes } from './maintenance-routes.js';
import { type RouteContext, Router } from './router.js';
import { registerTestHookRoutes } from './test-hook-routes.js';
import { registerWatchRoute } from './watch-route.js';

export type Consistency = 'linearizable' | 'lease' | 'stale';

/**
 * The HTTP API of one node (docs/api.md). Any node serves any request: reads from its own state machine after
 * the consistency barrier asked for; writes on the leader, forwarded there from followers.
 */
export class ApiServer {
  readonly router: Router;
  private readonly server: DualProtocolServer;
  readonly forwarder: LeaderForwarder;
  private inFlight = 0;

  constructor(readonly node: CairnNode) {
    this.router = new Router((error, ctx) =>
      node.logger.error(
        { err: error instanceof Error ? error.stack : String(error), path: ctx.path },
        'request failed',
      ),
    );
    this.forwarder = new LeaderForwarder(node.name, node.config.requestTimeoutMs + 1000);
    registerKvRoutes(this);
    registerLeaseRoutes(this);
    registerWatchRoute(this);
    registerClusterRoutes(this);
    registerHealthRoutes(this);
    registerMaintenanceRoutes(this);
    if (node.config.enableTestHooks) registerTestHookRoutes(this);
    this.server = new DualProtocolServer(
      (req, res) => {
        if (this.inFlight >= node.config.maxConcurrentRequests) {
          sendError(
            res,
            new ApiError('TOO_MANY_REQUESTS', `more than ${node.config.maxConcurrentRequests} requests in progress`),
          );
          return;
        }
        this.inFlight++;
        const started = performance.now();
        if (res instanceof H2Exchange) {
          // The lean HTTP/2 server calls one shared function when the stream closes: no listeners or closure.
          res.startedMs = started;
          res.completionHook = this.finishExchange;
        } else {
          let counted = false;
          const done = () => {
            if (counted) return;
            counted = true;
            this.requestDone(req.method ?? '', res, started);
          };
          res.once('finish', done);
          res.once('close', done);
        }
        this.router.handle(req, res);
      },
      { http2Implementation: node.config.http2Implementation },
    );
  }

  private readonly finishExchange = (exchange: H2Exchange): void => {
    this.requestDone(exchange.method, exchange, exchange.startedMs);
  };

  /** A request is over (answered, reset or its connection gone): counted once. */
  private requestDone(method: string, res: Response, startedMs: number): void {
    this.inFlight--;
    const route = (res as { cairnRoute?: string }).cairnRoute ?? 'unknown';
    const ms = performance.now() - startedMs;
    this.node.metrics.observeRequest(route, method, res.statusCode, ms / 1000);
    // Long-lived watch streams would swamp the latency figures: only ordinary requests count.
    if (route !== '/v1/watch') this.node.health?.monitor.recordRequest(ms, res.statusCode < 500);
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return this.server.listen(host, port);
  }

  async close(): Promise<void> {
    await this.server.close();
    await this.forwarder.close();
  }

  /** Reads the request body (bounded). */
  body(ctx: RouteContext, maxBytes: number, tooLarge?: () => ApiError): Promise<Buffer> {
    return readBody(ctx.req, maxBytes, tooLarge);
  }

  /**
   * Proposes a write on the leader. On a follower the request goes to the leader as it came (once: a forwarded
   * request that lands on a non-leader is refused, not forwarded again); the caller then sends nothing itself.
   */
  async propose(
    ctx: RouteContext,
    command: KvCommand,
    ack: AckMode,
    body: Buffer | undefined,
  ): Promise<ProposalOutcome | 'forwarded'> {
    try {
      return await this.node.replica.proposeCommand(command, ack);
    } catch (error) {
      if (!(error instanceof NotLeaderError)) throw error;
      await this.forwardToLeader(ctx, error.leader, body);
      return 'forwarded';
    }
  }

  async forwardToLeader(ctx: RouteContext, leader: string | null, body: Buffer | undefined): Promise<void> {
    if (ctx.req.headers['cairn-forwarded-by'] !== undefined) {
      throw new ApiError('UNAVAILABLE', 'this node is no longer the leader; retry');
    }
    if (leader === null) throw new ApiError('UNAVAILABLE', 'no leader is known right now; retry');
    const address = this.node.registry.get(leader)?.http;
    if (!address)
      throw new ApiError('UNAVAILABLE', `the leader ${leader} has not announced its API address yet; retry`);
    this.node.metrics.forwarded.inc({ route: ctx.route });
    await this.forwarder.forward(ctx.req, ctx.res, address, body);
  }

  /** Waits until a read at the asked consistency may be served from this node's state machine. */
  async readBarrier(consistency: Consistency): Promise<void> {
    if (consistency === 'stale') {
      // A follower applies in batches: serve everything it knows is committed, as it did before batching.
      this.node.replica.applyDeferred();
      return;
    }
    // TEST ONLY: the deliberately broken mode the torture harness must catch.
    if (this.node.config.testUnsafeLocalReads) return;
    await this.node.replica.readBarrier(consistency);
  }
}

export function parseConsistency(ctx: RouteContext): Consistency {
  const c = ctx.query.get('consistency') ?? 'linearizable';
  if (c === 'linearizable' || c === 'lease' || c === 'stale') return c;
  throw new ApiError('INVALID_ARGUMENT', `consistency must be linearizable, lease or stale (got "${c}")`);
}

export function parseAck(ctx: RouteContext): AckMode {
  const a = ctx.query.get('ack') ?? 'quorum';
  if (a === 'quorum' || a === 'all' || a === 'leader') return a;
  throw new ApiError('INVALID_ARGUMENT', `ack must be quorum, all or leader (got "${a}")`);
}

/** A non-negative integer query parameter, or undefined when absent. */
export function intParam(ctx: RouteContext, name: string, min = 0): number | undefined {
  const v = ctx.query.get(name);
  if (v === null || v === '') return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min)
    throw new ApiError('INVALID_ARGUMENT', `${name} must be an integer >= ${min}`);
  return n;
}

export function boolParam(ctx: RouteContext, name: string): boolean {
  const v = ctx.query.get(name);
  if (v === null) return false;
  if (v === '' || v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ApiError('INVALID_ARGUMENT', `${name} must be true or false`);
}
