import { Pool } from 'undici';
import { Client, type Watch, type WatchBatch } from '../client/client.js';
import { SseParser } from '../client/sse-parser.js';
import type { Random } from '../util/random.js';
import type { WatchedBatch, WatchedChange } from './watch-check.js';
import type { Target } from './workload.js';

/** A watcher of the workload's prefix that records every batch it is handed, duplicates included. */
export interface PrefixWatcher {
  readonly id: string;
  /** `raw` (the harness's own SSE reader) or `sdk` (the client SDK's `Client.watch`). */
  readonly kind: 'raw' | 'sdk';
  readonly fromRevision: number;
  readonly batches: readonly WatchedBatch[];
  /** Streams opened (1 + reconnects); the SDK does not say, so 1 for the SDK watcher. */
  readonly streams: number;
  /** Errors that ended a stream (the watcher then resumed elsewhere), bounded. */
  readonly errors: readonly string[];
  /** The highest revision received so far (fromRevision - 1 before any). */
  readonly lastRevision: number;
  /** Resolves true once `revision` (or a later one) was received, false at the timeout. */
  waitFor(revision: number, timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

interface EventJson {
  type: 'put' | 'delete';
  key: string;
  value: string;
  version: number;
  modRevision: number;
}

function toChange(e: EventJson): WatchedChange {
  return {
    type: e.type,
    key: e.key,
    value: Buffer.from(e.value ?? '', 'base64').toString('utf8'),
    version: e.version,
    modRevision: e.modRevision,
  };
}

const MAX_ERRORS = 50;
/** Bounds the memory a watcher may use for its record. */
const MAX_BATCHES = 2_000_000;

abstract class RecordingWatcher {
  readonly batches: WatchedBatch[] = [];
  readonly errors: string[] = [];
  streams = 0;
  lastRevision: number;
  protected closed = false;
  private waiters: { revision: number; resolve: (ok: boolean) => void }[] = [];

  constructor(
    readonly id: string,
    readonly fromRevision: number,
  ) {
    this.lastRevision = fromRevision - 1;
  }

  protected recordBatch(batch: WatchedBatch): void {
    if (this.batches.length < MAX_BATCHES) this.batches.push(batch);
    if (batch.revision > this.lastRevision) this.lastRevision = batch.revision;
    this.waiters = this.waiters.filter((w) => {
      if (this.lastRevision < w.revision) return true;
      w.resolve(true);
      return false;
    });
  }

  protected recordError(text: string): void {
    if (this.errors.length < MAX_ERRORS) this.errors.push(text);
  }

  waitFor(revision: number, timeoutMs: number): Promise<boolean> {
    if (this.lastRevision >= revision) return Promise.resolve(true);
    return new Promise((resolve) => {
      const waiter = {
        revision,
        resolve: (ok: boolean) => {
          clearTimeout(timer);
          resolve(ok);
        },
      };
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(waiter);
    });
  }

  protected endWaiters(): void {
    for (const w of this.waiters) w.resolve(this.lastRevision >= w.revision);
    this.waiters = [];
  }
}

export interface RawWatcherOptions {
  readonly prefix: string;
  readonly fromRevision: number;
  /** No byte (event or keepalive) for this long: the stream is presumed stuck (a paused or cut-off node). */
  readonly stallMs: number;
}

export interface RawWatcherDeps {
  readonly targets: () => readonly Target[];
  readonly random: Random;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * The harness's own watcher: Server-Sent Events read directly, so nothing is hidden (a duplicate revision is
 * recorded, not filtered). After a stream breaks or stalls it resumes on another node with `Last-Event-ID` =
 * the last revision it received.
 */
export class RawWatcher extends RecordingWatcher implements PrefixWatcher {
  readonly kind = 'raw' as const;
  private readonly pools = new Map<string, Pool>();
  private abort: AbortController | null = null;
  private readonly loop: Promise<void>;

  constructor(
    id: string,
    private readonly o: RawWatcherOptions,
    private readonly d: RawWatcherDeps,
  ) {
    super(id, o.fromRevision);
    this.loop = this.run();
  }

  private pool(origin: string): Pool {
    let pool = this.pools.get(origin);
    if (!pool) {
      pool = new Pool(origin, { connections: 2, connectTimeout: 1000, headersTimeout: 2000, bodyTimeout: 0 });
      this.pools.set(origin, pool);
    }
    return pool;
  }

  private async run(): Promise<void> {
    let previous = '';
    while (!this.closed) {
      const targets = this.d.targets();
      if (targets.length === 0) {
        await sleep(100);
        continue;
      }
      // Prefer another node than the last one: resuming elsewhere is what is being tested.
      let target = targets[this.d.random.int(targets.length)]!;
      if (target.name === previous && targets.length > 1) target = targets[this.d.random.int(targets.length)]!;
      previous = target.name;
      try {
        await this.stream(target);
      } catch (error) {
        if (this.closed) break;
        this.recordError(`${target.name}: ${(error as { code?: string }).code ?? String(error)}`);
      }
      if (!this.closed) await sleep(50 + this.d.random.int(200));
    }
  }

  private async stream(target: Target): Promise<void> {
    const abort = new AbortController();
    this.abort = abort;
    this.streams++;
    let stall: NodeJS.Timeout | undefined;
    const armStall = () => {
      clearTimeout(stall);
      stall = setTimeout(() => abort.abort(new Error('stalled')), this.o.stallMs);
    };
    armStall();
    try {
      const r = await this.pool(target.origin).request({
        method: 'GET',
        path: `/v1/watch?prefix=${encodeURIComponent(this.o.prefix)}`,
        headers: { 'last-event-id': String(this.lastRevision) },
        signal: abort.signal,
      });
      if (r.statusCode !== 200) {
        const body = Buffer.from(await r.body.arrayBuffer()).toString('utf8');
        throw new Error(`HTTP ${r.statusCode} ${body.slice(0, 200)}`);
      }
      const parser = new SseParser();
      for await (const chunk of r.body) {
        armStall();
        for (const event of parser.push(chunk as Buffer)) {
          if (event.event === 'error') throw new Error(`error event: ${event.data.slice(0, 200)}`);
          if (event.data === '') continue;
          const raw = JSON.parse(event.data) as { revision: number; events: EventJson[] };
          this.recordBatch({ revision: raw.revision, changes: raw.events.map(toChange), node: target.name });
        }
      }
    } finally {
      clearTimeout(stall);
      if (this.abort === abort) this.abort = null;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    this.abort?.abort(new Error('closed'));
    await this.loop;
    this.endWaiters();
    await Promise.all([...this.pools.values()].map((p) => p.destroy().catch(() => {})));
  }
}

/**
 * A watcher through the client SDK (`Client.watch`), which resumes from the last revision on the next endpoint
 * by itself. The SDK drops a revision it has already delivered, so this one checks ordering and gaps as a user
 * of the SDK sees them.
 */
export class SdkWatcher extends RecordingWatcher implements PrefixWatcher {
  readonly kind = 'sdk' as const;
  private readonly client: Client;
  private readonly watch: Watch;

  constructor(id: string, prefix: string, fromRevision: number, endpoints: readonly string[]) {
    super(id, fromRevision);
    this.client = new Client({ endpoints, timeoutMs: 2000 });
    this.streams = 1;
    this.watch = this.client.watch({ prefix, fromRevision }, (batch: WatchBatch) => {
      this.recordBatch({
        revision: batch.revision,
        changes: batch.events.map((e) => ({
          type: e.type,
          key: e.key,
          value: Buffer.from(e.value).toString('utf8'),
          version: e.version,
          modRevision: e.modRevision,
        })),
      });
    });
    void this.watch.done.then((error) => {
      if (error) this.recordError(`watch ended: ${error.code} ${error.message}`);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    this.watch.close();
    await this.watch.done;
    this.endWaiters();
    await this.client.close();
  }
}
