import { z } from 'zod';
import type { ApiServer } from './api-server.js';
import { ApiError } from './errors.js';
import { sendJson } from './http-server.js';

const syncDelaySchema = z.object({ ms: z.number().int().min(0).max(60_000) });

/**
 * TEST ONLY (served with --enable-test-hooks): runtime fault hooks for the torture harness and health tests.
 * POST /v1/test/sync-delay {"ms": N} slows every log sync by N ms from now on (0 restores normal syncs).
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
}
