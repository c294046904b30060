import { request } from 'undici';
import { z } from 'zod';
import { encodeMemberContext } from '../node/member-registry.js';
import { NotLeaderError } from '../node/replica.js';
import { type ApiServer, boolParam } from './api-server.js';
import { ApiError } from './errors.js';
import { sendJson } from './http-server.js';
import type { RouteContext } from './router.js';

const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:\s/]+):(\d{1,5})$/;
/** A learner is promoted only once it holds at least this share of the leader's log (etcd's rule). */
const PROMOTE_CAUGHT_UP_RATIO = 0.9;

const addMemberSchema = z.object({
  name: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[A-Za-z0-9._-]+$/),
  peer: z.string().regex(HOST_PORT, 'peer must be host:port'),
  http: z.string().regex(HOST_PORT, 'http must be host:port').optional(),
});

export interface MemberStatus {
  readonly name: string;
  readonly peer: string;
  readonly http: string | null;
  readonly role: 'leader' | 'follower' | 'learner' | 'candidate' | 'preCandidate';
  readonly match: number | null;
  readonly commit: number | null;
  readonly applied: number | null;
  readonly reachable: boolean;
  /** Placement labels the member announced (zone, region, weight). */
  readonly labels: Readonly<Record<string, string>>;
}

export interface ClusterStatus {
  readonly clusterId: string;
  readonly node: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly revision: number;
  readonly members: MemberStatus[];
}

/** Cluster status, membership changes, health and metrics. */
export function registerClusterRoutes(api: ApiServer): void {
  const { router, node } = api;

  const localStatus = (): ClusterStatus => {
    // A follower applies in batches: report everything it knows is committed as applied.
    node.replica.applyDeferred();
    const s = node.replica.engine.status();
    const progress = new Map(s.progress.map((p) => [p.id, p]));
    const learners = new Set(s.confState.learners);
    const members = new Set([...s.confState.voters, ...s.confState.votersOutgoing, ...s.confState.learners]);
    for (const m of node.registry.list()) members.add(m.name);
    const list: MemberStatus[] = [...members].sort().map((name) => {
      const info = node.registry.get(name);
      const self = name === node.name;
      const reported = node.progressReports.get(name);
      return {
        name,
        peer: info?.peer ?? '',
        http: self ? node.apiAddress : (info?.http ?? null),
        role:
          self && s.role !== 'follower'
            ? s.role
            : name === s.leader
              ? 'leader'
              : learners.has(name)
                ? 'learner'
                : 'follower',
        match: progress.get(name)?.match ?? null,
        commit: self ? s.commit : (reported?.commit ?? null),
        applied: self ? node.kv.appliedIndex : (reported?.applied ?? null),
        reachable: self || node.peerConnected(name),
        labels: info?.labels ?? {},
      };
    });
    return {
      clusterId: node.config.clusterId,
      node: node.name,
      leader: s.leader,
      term: s.term,
      commit: s.commit,
      applied: node.kv.appliedIndex,
      revision: node.kv.revision,
      members: list,
    };
  };

  router.add('GET', '/v1/cluster/status', async (ctx) => {
    const status = localStatus();
    if (boolParam(ctx, 'local') || status.leader === null || status.leader === node.name) {
      sendJson(ctx.res, 200, status);
      return;
    }
    // Only the leader knows how far each member's log matches: ask it, and merge.
    const leaderHttp = node.registry.get(status.leader)?.http;
    if (leaderHttp) {
      try {
        const r = await request(`http://${leaderHttp}/v1/cluster/status?local=true`, {
          headersTimeout: 1000,
          bodyTimeout: 1000,
        });
        if (r.statusCode === 200) {
          const leaderView = (await r.body.json()) as ClusterStatus;
          const fromLeader = new Map(leaderView.members.map((m) => [m.name, m]));
          const leaderSelf = fromLeader.get(status.leader);
          sendJson(ctx.res, 200, {
            ...status,
            members: status.members.map((m) => ({
              ...m,
              match: fromLeader.get(m.name)?.match ?? m.match,
              // The leader's own positions, fresher than its last announcement.
              ...(m.name === status.leader && leaderSelf
                ? { commit: leaderSelf.commit, applied: leaderSelf.applied }
                : {}),
            })),
          });
          return;
        }
        await r.body.dump();
      } catch {
        // The leader's view is a nicety: answer with ours.
      }
    }
    sendJson(ctx.res, 200, status);
  });

  router.add('GET', '/v1/cluster/members', (ctx) => {
    sendJson(ctx.res, 200, { members: localStatus().members });
  });

  router.add('POST', '/v1/cluster/members', async (ctx) => {
    const body = await api.body(ctx, 4096);
    let raw: unknown;
    try {
      raw = JSON.parse(body.toString('utf8'));
    } catch {
      throw new ApiError('INVALID_JSON', 'the body is not valid JSON');
    }
    const parsed = addMemberSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ApiError('INVALID_MEMBER', `${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`);
    }
    const m = parsed.data;
    await membershipChange(api, ctx, body, () => {
      const cs = node.replica.engine.status().confState;
      if ([...cs.voters, ...cs.learners, ...cs.votersOutgoing].includes(m.name)) {
        throw new ApiError('INVALID_MEMBER', `${m.name} is already a member`);
      }
      return node.replica.proposeConfChange({
        changes: [{ type: 'addLearner', node: m.name }],
        context: encodeMemberContext({ name: m.name, peer: m.peer, ...(m.http ? { http: m.http } : {}) }),
      });
    });
  });

  router.add('POST', '/v1/cluster/members/:name/promote', async (ctx) => {
    const name = ctx.params.name!;
    await membershipChange(api, ctx, undefined, () => {
      const s = node.replica.engine.status();
      if (!s.confState.learners.includes(name)) {
        throw new ApiError(
          s.confState.voters.includes(name) ? 'INVALID_MEMBER' : 'MEMBER_NOT_FOUND',
          `${name} is not a learner`,
        );
      }
      const match = s.progress.find((p) => p.id === name)?.match ?? 0;
      if (match < s.lastIndex * PROMOTE_CAUGHT_UP_RATIO) {
        throw new ApiError(
          'LEARNER_NOT_READY',
          `${name} holds ${match} of ${s.lastIndex} entries; promote it once caught up`,
          {
            match,
            lastIndex: s.lastIndex,
          },
        );
      }
      return node.replica.proposeConfChange({ changes: [{ type: 'addVoter', node: name }] });
    });
  });

  router.add('DELETE', '/v1/cluster/members/:name', async (ctx) => {
    const name = ctx.params.name!;
    await membershipChange(api, ctx, undefined, () => {
      const cs = node.replica.engine.status().confState;
      if (![...cs.voters, ...cs.learners].includes(name)) throw new ApiError('MEMBER_NOT_FOUND', `no member ${name}`);
      return node.replica.proposeConfChange({ changes: [{ type: 'removeVoter', node: name }] });
    });
  });

  router.add('POST', '/v1/cluster/leader', async (ctx) => {
    const to = ctx.query.get('to');
    if (!to) throw new ApiError('INVALID_ARGUMENT', 'to=<member name> is required');
    if (!node.replica.isLeader) {
      await api.forwardToLeader(ctx, node.replica.leader, undefined);
      return;
    }
    if (!node.health.isHealthy(to) && !boolParam(ctx, 'force')) {
      throw new ApiError(
        'INVALID_MEMBER',
        `${to} is not healthy (suspect, dead or degraded); add force=true to insist`,
      );
    }
    try {
      node.replica.engine.transferLeadership(to);
    } catch (error) {
      throw new ApiError('INVALID_MEMBER', error instanceof Error ? error.message : String(error));
    }
    node.replica.schedulePump();
    sendJson(ctx.res, 202, { transferringTo: to });
  });

  router.add('GET', '/healthz', (ctx) => {
    const s = node.replica.engine.status();
    if (s.leader === null) {
      sendJson(ctx.res, 503, { error: { code: 'UNAVAILABLE', message: 'no leader is known' }, node: node.name });
      return;
    }
    sendJson(ctx.res, 200, { status: 'ok', node: node.name, leader: s.leader, term: s.term });
  });

  router.add('GET', '/metrics', async (ctx) => {
    const text = await node.metrics.registry.metrics();
    ctx.res.writeHead(200, { 'content-type': node.metrics.registry.contentType });
    ctx.res.end(text);
  });
}

async function membershipChange(
  api: ApiServer,
  ctx: RouteContext,
  body: Buffer | undefined,
  propose: () => ReturnType<ApiServer['node']['replica']['proposeConfChange']>,
): Promise<void> {
  // Only the leader's view of the configuration is authoritative: checks and the change both happen there.
  if (!api.node.replica.isLeader) {
    await api.forwardToLeader(ctx, api.node.replica.leader, body);
    return;
  }
  let outcome: Awaited<ReturnType<typeof propose>>;
  try {
    outcome = await propose();
  } catch (error) {
    if (error instanceof NotLeaderError) {
      await api.forwardToLeader(ctx, error.leader, body);
      return;
    }
    throw error;
  }
  const status = api.node.replica.engine.status();
  sendJson(ctx.res, 200, {
    index: outcome.kind === 'applied' ? outcome.result.index : outcome.index,
    clusterId: api.node.config.clusterId,
    voters: status.confState.voters,
    learners: status.confState.learners,
  });
}
