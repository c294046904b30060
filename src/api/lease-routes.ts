import { randomInt } from 'node:crypto';
import { z } from 'zod';
import type { ApiServer } from './api-server.js';
import { ApiError } from './errors.js';
import { sendJson } from './http-server.js';
import { sendWriteOutcome } from './kv-routes.js';
import type { RouteContext } from './router.js';

const grantSchema = z.object({
  ttlSeconds: z.number().int().positive(),
  id: z.number().int().positive().max(Number.MAX_SAFE_INTEGER).optional(),
});

function leaseId(ctx: RouteContext): number {
  const id = Number(ctx.params.id);
  if (!Number.isSafeInteger(id) || id <= 0) throw new ApiError('INVALID_ARGUMENT', 'a lease id is a positive integer');
  return id;
}

/**
 * Leases: keys attached to a lease are deleted when it expires. Expiry is decided by the leader (which keeps the
 * deadlines and refreshes them on keep-alive) and replicated as a revoke through the log.
 */
export function registerLeaseRoutes(api: ApiServer): void {
  const { router, node } = api;

  router.add('POST', '/v1/leases', async (ctx) => {
    const body = await api.body(ctx, 4096);
    let raw: unknown;
    try {
      raw = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError('INVALID_JSON', 'the body is not valid JSON');
    }
    const parsed = grantSchema.safeParse(raw);
    if (!parsed.success) {
      throw new ApiError('INVALID_LEASE_TTL', `expected {"ttlSeconds": positive integer, "id"?: positive integer}`);
    }
    // Ids are random (53 bits), so two proposers practically never collide; the state machine refuses a collision.
    const id = parsed.data.id ?? randomInt(1, 2 ** 48);
    const outcome = await api.propose(
      ctx,
      { type: 'leaseGrant', id, ttlSeconds: parsed.data.ttlSeconds },
      'quorum',
      body,
    );
    if (outcome !== 'forwarded') sendWriteOutcome(ctx, outcome);
  });

  router.add('POST', '/v1/leases/:id/keepalive', async (ctx) => {
    const id = leaseId(ctx);
    const replica = node.replica;
    if (!replica.isLeader) {
      await api.forwardToLeader(ctx, replica.leader, undefined);
      return;
    }
    if (!node.kv.lease(id)) throw new ApiError('LEASE_NOT_FOUND', `no lease ${id}`);
    let ttlSeconds: number;
    try {
      ttlSeconds = replica.lessor.keepAlive(id);
    } catch {
      throw new ApiError('LEASE_NOT_FOUND', `lease ${id} expired`);
    }
    sendJson(ctx.res, 200, { id, ttlSeconds });
  });

  router.add('DELETE', '/v1/leases/:id', async (ctx) => {
    const id = leaseId(ctx);
    const outcome = await api.propose(ctx, { type: 'leaseRevoke', id }, 'quorum', undefined);
    if (outcome !== 'forwarded') sendWriteOutcome(ctx, outcome);
  });

  router.add('GET', '/v1/leases/:id', async (ctx) => {
    const id = leaseId(ctx);
    await api.readBarrier('linearizable');
    const lease = node.kv.lease(id);
    if (!lease) throw new ApiError('LEASE_NOT_FOUND', `no lease ${id}`);
    const remainingMs = node.replica.isLeader ? node.replica.lessor.remainingMs(id) : null;
    sendJson(ctx.res, 200, { ...lease, remainingMs });
  });

  router.add('GET', '/v1/leases', async (ctx) => {
    await api.readBarrier('linearizable');
    sendJson(ctx.res, 200, { leases: node.kv.leases() });
  });
}
