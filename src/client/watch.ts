import type { Dispatcher } from 'undici';
import { CairnError } from './errors.js';
import { delay, query, readBounded } from './http-util.js';
import { SseParser } from './sse-parser.js';
import type { KeyValueJson, WatchBatch, WatchQuery } from './types.js';
import { keyValueFromJson } from './types.js';

/** What a watch needs from its client. */
export interface WatchHost {
  /** Chooses the node for the next stream, avoiding `exclude` when another is available. */
  pick(exclude: ReadonlySet<string>): string;
  /** Opens the SSE stream, resuming after `lastRevision` when it is not null. */
  open(
    origin: string,
    path: string,
    lastRevision: number | null,
    signal: AbortSignal,
  ): Promise<Dispatcher.ResponseData>;
  /** Tells the client a node failed (so it refreshes its view of the cluster). */
  reportFailure(origin: string): void;
  /** Resolves once the client's first discovery finished. */
  ready(): Promise<void>;
}

/** Pause before reconnecting: 50 ms doubling per failed attempt in a row, at most 2,000 ms. */
const RECONNECT_BASE_MS = 50;
const RECONNECT_MAX_MS = 2_000;
/** Largest error answer read when a stream is refused. */
const MAX_ERROR_BODY_BYTES = 64 * 1024;

interface RawWatchEvent extends KeyValueJson {
  type: 'put' | 'delete';
  prevKv?: KeyValueJson;
}

/**
 * A running watch; `close()` ends it, `done` settles when it ends: with null after `close()`, or with the error
 * that ended it (CompactedError when the resume revision left the kept history, InvalidArgumentError for a bad
 * query). Any other failure — a node dying, a stream breaking, a node refusing — makes it reconnect, to another
 * node when there is one, from the last revision delivered, so `onBatch` sees every revision once, in order.
 */
export class Watch {
  private readonly controller = new AbortController();
  private last: number | null = null;
  private closed = false;
  private current: string | null = null;
  private reconnectCount = 0;
  readonly done: Promise<CairnError | null>;

  constructor(
    private readonly host: WatchHost,
    private readonly q: WatchQuery,
    private readonly onBatch: (batch: WatchBatch) => void | Promise<void>,
  ) {
    if (q.fromRevision !== undefined) {
      if (!Number.isSafeInteger(q.fromRevision) || q.fromRevision < 1) {
        this.done = Promise.resolve(
          CairnError.create('INVALID_ARGUMENT', 0, `fromRevision must be a positive integer, got ${q.fromRevision}`),
        );
        this.closed = true;
        return;
      }
      this.last = q.fromRevision - 1;
    }
    this.done = this.run();
  }

  /** The node the stream is open on now (null while reconnecting). */
  get endpoint(): string | null {
    return this.current;
  }

  /** The last revision delivered to `onBatch` (null before the first one, unless `fromRevision` was given). */
  get lastRevision(): number | null {
    return this.last;
  }

  /** How many times the stream was reopened after breaking. */
  get reconnects(): number {
    return this.reconnectCount;
  }

  close(): void {
    this.closed = true;
    this.controller.abort();
  }

  private path(): string {
    const { key, prefix, start, end, prevKv } = this.q;
    return `/v1/watch${query({ key, prefix, start, end, prevKv: prevKv ? 'true' : undefined })}`;
  }

  private async run(): Promise<CairnError | null> {
    await this.host.ready();
    let failuresInRow = 0;
    let previous: string | null = null;
    while (!this.closed) {
      const origin = this.host.pick(previous === null ? new Set() : new Set([previous]));
      try {
        const ended = await this.stream(origin);
        if (ended) return ended;
        failuresInRow = 0;
      } catch (error) {
        if (this.closed) break;
        if (error instanceof CairnError && isFinal(error)) return error;
        failuresInRow++;
      }
      this.current = null;
      if (this.closed) break;
      // The stream ended or broke: resume elsewhere after a short pause that grows while failures repeat.
      this.host.reportFailure(origin);
      previous = origin;
      this.reconnectCount++;
      await delay(Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(failuresInRow, 6)));
    }
    return null;
  }

  /** Runs one stream to its end. Resolves with an error that ends the watch, or null when it should resume. */
  private async stream(origin: string): Promise<CairnError | null> {
    const r = await this.host.open(origin, this.path(), this.last, this.controller.signal);
    if (r.statusCode !== 200) {
      const error = CairnError.fromResponse(r.statusCode, await readBounded(r.body, MAX_ERROR_BODY_BYTES));
      if (isFinal(error)) return error;
      throw error;
    }
    this.current = origin;
    const parser = new SseParser();
    for await (const chunk of r.body) {
      for (const event of parser.push(chunk as Buffer)) {
        if (event.event === 'error') {
          const error = CairnError.fromResponse(0, event.data);
          if (isFinal(error)) return error;
          throw error;
        }
        if (event.data === '') continue;
        const raw = JSON.parse(event.data) as { revision: number; events: RawWatchEvent[] };
        if (this.last !== null && raw.revision <= this.last) continue;
        await this.onBatch({
          revision: raw.revision,
          events: raw.events.map((e) => ({
            ...keyValueFromJson(e),
            type: e.type,
            ...(e.prevKv ? { prevKv: keyValueFromJson(e.prevKv) } : {}),
          })),
        });
        this.last = raw.revision;
        if (this.closed) return null;
      }
    }
    return null;
  }
}

/** Errors no other node would answer differently: the watch cannot go on. */
function isFinal(error: CairnError): boolean {
  return error.code === 'COMPACTED' || (error.status >= 400 && error.status < 500 && error.status !== 429);
}
