import { request } from 'undici';
import type { NodeVitals } from '../cluster/health/index.js';
import type { ClusterEvent } from '../node/event-log.js';
import { type ApiServer, boolParam, intParam } from './api-server.js';
import { sendJson } from './http-server.js';

export interface NodeHealthView {
  readonly name: string;
  readonly state: 'alive' | 'suspect' | 'dead' | 'self';
  readonly phi: number;
  readonly condition: 'healthy' | 'degraded' | 'unknown';
  readonly reasons: readonly { code: string; severity: string; message: string }[];
  readonly metrics: NodeVitals | null;
  readonly lastHeartbeatMsAgo: number | null;
}

/** Health and events as seen by the node asked (docs/health.md). */
export function registerHealthRoutes(api: ApiServer): void {
  const { router, node } = api;

  router.add('GET', '/v1/cluster/health', (ctx) => {
    const own = node.health.ownCondition;
    const nodes: NodeHealthView[] = [
      {
        name: node.name,
        state: 'alive',
        phi: 0,
        condition: own.status === 'degraded' ? 'degraded' : 'healthy',
        reasons: own.reasons,
        metrics: node.health.ownVitals,
        lastHeartbeatMsAgo: 0,
      },
    ];
    for (const p of node.health.peers()) {
      nodes.push({
        name: p.peer,
        state: p.state,
        phi: Number(p.phi.toFixed(2)),
        condition: p.condition === null ? 'unknown' : p.condition.status === 'degraded' ? 'degraded' : 'healthy',
        reasons: p.condition?.reasons ?? [],
        metrics: p.vitals,
        lastHeartbeatMsAgo: p.lastHeartbeatMsAgo === null ? null : Math.round(p.lastHeartbeatMsAgo),
      });
    }
    nodes.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    sendJson(ctx.res, 200, { node: node.name, nodes });
  });

  router.add('GET', '/v1/cluster/events', async (ctx) => {
    const since = intParam(ctx, 'since') ?? 0;
    const local = node.events.since(since);
    if (!boolParam(ctx, 'cluster')) {
      sendJson(ctx.res, 200, { node: node.name, events: local });
      return;
    }
    // Every member's events, merged by time (a member that does not answer in time is left out and listed).
    const all: ClusterEvent[] = [...local];
    const missing: string[] = [];
    await Promise.all(
      node.registry
        .list()
        .filter((m) => m.name !== node.name)
        .map(async (m) => {
          if (!m.http) {
            missing.push(m.name);
            return;
          }
          try {
            const r = await request(`http://${m.http}/v1/cluster/events`, { headersTimeout: 1000, bodyTimeout: 1000 });
            const body = (await r.body.json()) as { events?: ClusterEvent[] };
            all.push(...(body.events ?? []));
          } catch {
            missing.push(m.name);
          }
        }),
    );
    all.sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : 0));
    sendJson(ctx.res, 200, { node: node.name, events: all, unreachable: missing.sort() });
  });
}
