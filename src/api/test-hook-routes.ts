import { z } from 'zod';
import type { ApiServer } from './api-server.js';
import { ApiError } from './errors.js';
import { sendJson } from './http-server.js';

const syncDelaySchema = z.object({ ms: z.number().int().min(0).max(60_000) });
const diskSchema = z.object({ percent: z.number().min(0).max(100).nullable() });

/**
 * TEST ONLY (served with --enable-test-hooks): runtime fault hooks for the torture harness and health tests.
 * POST /v1/test/sync-delay {"ms": N} slows every log sync by N ms from now on (0 restores normal syncs).
 * POST /v1/test/disk-used-percent {"percent": P} makes the node report its data disk P % full (null: real figure).
 */
export function registerTestHookRoutes(api: ApiServer): void {
  api.router.add('POST', '/v1/test/sync-delay', async (ctx) => {
    const body = await api.body(ctx, 1024);
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError('INVALID_JSON', 'the body is not valid JSON');
    }
    const parsed = syncDelaySchema.safeParse(raw);
    if (!parsed.success) throw new ApiError('INVALID_ARGUMENT', 'expected {"ms": 0..60000}');
    api.node.logStore.setTestSyncDelayMs(parsed.data.ms);
    sendJson(ctx.res, 200, { syncDelayMs: parsed.data.ms });
  });

  api.router.add('POST', '/v1/test/disk-used-percent', async (ctx) => {
    const body = await api.body(ctx, 1024);
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError('INVALID_JSON', 'the body is not valid JSON');
    }
    const parsed = diskSchema.safeParse(raw);
    if (!parsed.success) throw new ApiError('INVALID_ARGUMENT', 'expected {"percent": 0..100 | null}');
    api.node.health.monitor.setTestDiskUsedPercent(parsed.data.percent);
    sendJson(ctx.res, 200, { diskUsedPercent: parsed.data.percent });
  });
}
