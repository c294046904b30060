import { z } from 'zod';
import type { TimerApi } from '../balancer/health-checker.js';
import { toOrigin } from './http-util.js';

/** What a status request brought back (the caller bounds the body size). */
export interface StatusAnswer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
}

/** Asks one endpoint for `GET /v1/cluster/status?local=true`; must honour `signal`. */
export type StatusFetcher = (origin: string, signal: AbortSignal) => Promise<StatusAnswer>;

/** One cluster member as discovery reports it. */
export interface DiscoveredMember {
  readonly name: string;
  /** Its API, `http://host:port`. */
  readonly origin: string;
  /** leader | follower | learner | candidate | preCandidate (as the answering node sees it). */
  readonly role: string;
  /** The `zone` label ('' when none). */
  readonly zone: string;
  /** The `region` label ('' when none). */
  readonly region: string;
  /** The `weight` label as an integer in 1..10,000 (1 when absent or malformed). */
  readonly weight: number;
  readonly labels: Readonly<Record<string, string>>;
}

/** The cluster as last discovered. */
export interface ClusterView {
  /** Members with a known API address (learners included; callers decide what to use). */
  readonly members: readonly DiscoveredMember[];
  /** The leader's name, as the answering node sees it; null when none is known. */
  readonly leader: string | null;
  /** The leader's API origin, when the leader is among `members`. */
  readonly leaderOrigin: string | null;
  /** The answer came through a Cairn gateway (`cairn-gateway` header): its members are behind it. */
  readonly viaGateway: boolean;
  /** The endpoint that answered. */
  readonly source: string;
  /** When it answered (the injected clock). */
  readonly fetchedAtMs: number;
}

export interface MemberDiscoveryOptions {
  /** Where to ask first, and the fallback when every discovered member fails. Origins. Required, ≥ 1. */
  seeds: readonly string[];
  /** The HTTP request. Required. */
  fetch: StatusFetcher;
  /** Clock in ms. Required. */
  now: () => number;
  /** Timers for the periodic refresh. Required. */
  timers: TimerApi;
  /** Time between periodic refreshes (from the end of one to the start of the next). Default: 5,000 ms. */
  refreshIntervalMs?: number;
  /** Refreshes asked for because of errors run at most this often. Default: 1,000 ms. */
  minRefreshGapMs?: number;
  /** A status request that has not answered after this long fails. Default: 2,000 ms. */
  timeoutMs?: number;
  /** Endpoints asked, one after the other, in one refresh before it gives up. Default: 3. */
  maxAttemptsPerRefresh?: number;
  /** Members accepted from one answer (more is a malformed answer). Default: 1,000 (the balancer's limit). */
  maxMembers?: number;
  /** Called after every successful refresh; `changed` is false when members and leader are as before. */
  onRefresh?: (view: ClusterView, changed: boolean) => void;
}

export const DISCOVERY_DEFAULTS = {
  refreshIntervalMs: 5_000,
  minRefreshGapMs: 1_000,
  timeoutMs: 2_000,
  maxAttemptsPerRefresh: 3,
  maxMembers: 1_000,
} as const;

/** The fields of `/v1/cluster/status` discovery uses; anything else in the answer is ignored. */
const statusSchema = z.object({
  leader: z.string().max(256).nullable(),
  members: z.array(
    z.object({
      name: z.string().min(1).max(256),
      http: z.string().max(1024).nullable(),
      role: z.string().max(64),
      labels: z.record(z.string().max(256), z.string().max(256)).optional(),
    }),
  ),
});

const MAX_WEIGHT = 10_000;

/**
 * Finds the cluster's members and leader from `GET /v1/cluster/status?local=true`, starting from seed endpoints,
 * and keeps the view fresh: periodically, and soon after a caller reports an error (rate limited). Each refresh
 * asks a bounded number of endpoints (the last one that answered first), so a dead cluster costs a few requests,
 * not a storm. One refresh runs at a time; concurrent asks share it.
 */
export class MemberDiscovery {
  private readonly seeds: readonly string[];
  private readonly options: Required<Omit<MemberDiscoveryOptions, 'seeds' | 'fetch' | 'now' | 'timers' | 'onRefresh'>>;
  private current: ClusterView | null = null;
  private signature = '';
  private inFlight: Promise<ClusterView | null> | null = null;
  private abort: AbortController | null = null;
  private timer: unknown = null;
  private timerDueAtMs = Number.POSITIVE_INFINITY;
  private lastStartMs = Number.NEGATIVE_INFINITY;
  private rotation = 0;
  private running = false;
  private stopped = false;
  private refreshes = 0;
  private failures = 0;
  private lastErrorText: string | null = null;

  constructor(private readonly config: MemberDiscoveryOptions) {
    if (!Array.isArray(config.seeds) || config.seeds.length === 0) throw new TypeError('discovery needs ≥ 1 seed');
    this.seeds = [...new Set(config.seeds.map(toOrigin))];
    const positive = (name: string, value: number | undefined, fallback: number): number => {
      const v = value ?? fallback;
      if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
        throw new TypeError(`${name} must be a positive number, got ${String(value)}`);
      }
      return v;
    };
    this.options = {
      refreshIntervalMs: positive('refreshIntervalMs', config.refreshIntervalMs, DISCOVERY_DEFAULTS.refreshIntervalMs),
      minRefreshGapMs: positive('minRefreshGapMs', config.minRefreshGapMs, DISCOVERY_DEFAULTS.minRefreshGapMs),
      timeoutMs: positive('timeoutMs', config.timeoutMs, DISCOVERY_DEFAULTS.timeoutMs),
      maxAttemptsPerRefresh: Math.floor(
        positive('maxAttemptsPerRefresh', config.maxAttemptsPerRefresh, DISCOVERY_DEFAULTS.maxAttemptsPerRefresh),
      ),
      maxMembers: Math.floor(positive('maxMembers', config.maxMembers, DISCOVERY_DEFAULTS.maxMembers)),
    };
  }

  /** The last successful view, or null before the first one. */
  get view(): ClusterView | null {
    return this.current;
  }

  /** Counters for status pages. */
  stats(): { refreshes: number; failures: number; lastError: string | null; view: ClusterView | null } {
    return { refreshes: this.refreshes, failures: this.failures, lastError: this.lastErrorText, view: this.current };
  }

  /** Starts periodic refreshing with an immediate first refresh; resolves with its result. Idempotent. */
  start(): Promise<ClusterView | null> {
    if (this.stopped) return Promise.resolve(this.current);
    if (this.running) return this.inFlight ?? Promise.resolve(this.current);
    this.running = true;
    return this.refresh();
  }

  /** Stops the timer and aborts a refresh in flight. The last view stays readable. */
  stop(): void {
    this.running = false;
    this.stopped = true;
    this.clearTimer();
    this.abort?.abort();
  }

  /**
   * Refreshes now (or joins the refresh in flight). Resolves with the new view, or null when no endpoint
   * answered (the previous view then stays).
   */
  refresh(): Promise<ClusterView | null> {
    if (this.inFlight) return this.inFlight;
    this.clearTimer();
    this.lastStartMs = this.config.now();
    const run = this.runRefresh().finally(() => {
      this.inFlight = null;
      this.schedule(this.options.refreshIntervalMs);
    });
    this.inFlight = run;
    return run;
  }

  /**
   * Asks for a refresh because something failed (a node did not answer, the leader moved). Runs at once unless
   * one ran less than `minRefreshGapMs` ago; then it runs when that gap has passed. Never more than one pending.
   */
  requestRefresh(): void {
    if (!this.running || this.inFlight) return;
    const waitMs = this.lastStartMs + this.options.minRefreshGapMs - this.config.now();
    if (waitMs <= 0) {
      void this.refresh();
      return;
    }
    this.schedule(waitMs);
  }

  private schedule(delayMs: number): void {
    if (!this.running) return;
    const dueAtMs = this.config.now() + delayMs;
    if (this.timer !== null && this.timerDueAtMs <= dueAtMs) return;
    this.clearTimer();
    this.timerDueAtMs = dueAtMs;
    this.timer = this.config.timers.setTimeout(() => {
      this.timer = null;
      this.timerDueAtMs = Number.POSITIVE_INFINITY;
      if (this.running) void this.refresh();
    }, delayMs);
    (this.timer as { unref?: () => void } | null)?.unref?.();
  }

  private clearTimer(): void {
    if (this.timer !== null) this.config.timers.clearTimeout(this.timer);
    this.timer = null;
    this.timerDueAtMs = Number.POSITIVE_INFINITY;
  }

  /** Endpoints in the order to ask them: the last source, then members and seeds from a rotating start. */
  private candidates(): string[] {
    const others = [...new Set([...(this.current?.members.map((m) => m.origin) ?? []), ...this.seeds])].filter(
      (origin) => origin !== this.current?.source,
    );
    const offset = others.length > 0 ? this.rotation++ % others.length : 0;
    const rotated = [...others.slice(offset), ...others.slice(0, offset)];
    return this.current ? [this.current.source, ...rotated] : rotated;
  }

  private async runRefresh(): Promise<ClusterView | null> {
    this.refreshes++;
    const attempts = this.candidates().slice(0, this.options.maxAttemptsPerRefresh);
    for (const origin of attempts) {
      if (this.stopped) return null;
      const abort = new AbortController();
      this.abort = abort;
      const timer = this.config.timers.setTimeout(() => abort.abort(), this.options.timeoutMs);
      try {
        const answer = await this.config.fetch(origin, abort.signal);
        const view = this.parse(origin, answer);
        this.accept(view);
        return view;
      } catch (error) {
        this.failures++;
        this.lastErrorText = `${origin}: ${error instanceof Error ? error.message : String(error)}`;
      } finally {
        this.config.timers.clearTimeout(timer);
        if (this.abort === abort) this.abort = null;
      }
    }
    return null;
  }

  private parse(origin: string, answer: StatusAnswer): ClusterView {
    if (answer.status !== 200) throw new Error(`status answered HTTP ${answer.status}`);
    let raw: unknown;
    try {
      raw = JSON.parse(answer.body.toString('utf8'));
    } catch {
      throw new Error('status answer is not JSON');
    }
    const parsed = statusSchema.safeParse(raw);
    if (!parsed.success) throw new Error(`status answer has an unexpected shape: ${parsed.error.issues[0]?.message}`);
    if (parsed.data.members.length > this.options.maxMembers) {
      throw new Error(`status lists ${parsed.data.members.length} members, more than ${this.options.maxMembers}`);
    }
    const members: DiscoveredMember[] = [];
    const seen = new Set<string>();
    for (const m of parsed.data.members) {
      if (m.http === null || seen.has(m.name)) continue;
      let memberOrigin: string;
      try {
        memberOrigin = toOrigin(m.http);
      } catch {
        continue; // a member with an unusable address is skipped, not fatal
      }
      seen.add(m.name);
      const labels = m.labels ?? {};
      const weight = Number(labels.weight);
      members.push({
        name: m.name,
        origin: memberOrigin,
        role: m.role,
        zone: labels.zone ?? '',
        region: labels.region ?? '',
        weight: Number.isInteger(weight) && weight >= 1 && weight <= MAX_WEIGHT ? weight : 1,
        labels,
      });
    }
    const leader = parsed.data.leader;
    return {
      members,
      leader,
      leaderOrigin: members.find((m) => m.name === leader)?.origin ?? null,
      viaGateway: answer.headers['cairn-gateway'] !== undefined,
      source: origin,
      fetchedAtMs: this.config.now(),
    };
  }

  private accept(view: ClusterView): void {
    const signature = JSON.stringify([
      view.leader,
      view.viaGateway,
      view.members.map((m) => [m.name, m.origin, m.role, m.zone, m.region, m.weight]),
    ]);
    const changed = signature !== this.signature;
    this.signature = signature;
    this.current = view;
    this.lastErrorText = null;
    this.config.onRefresh?.(view, changed);
  }
}
