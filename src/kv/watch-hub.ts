import type { RevisionEvents } from './apply-context.js';
import { KvError } from './errors.js';
import { type ByteRange, inRange } from './keys.js';
import { eventBytes, type StoredEvent, toWatchEvent } from './record.js';
import type { WatchResponse } from './types.js';

/** Receives the events of one revision; the next revision is delivered after the returned promise settles. */
export type WatchListener = (response: WatchResponse) => void | Promise<void>;

export interface Watcher {
  readonly id: number;
  /** Stops deliveries; `done` then resolves with null. Idempotent. */
  cancel(): void;
  /**
   * Resolves when the watcher ends: null after cancel() (or nothing more to do), or the KvError that ended it:
   * COMPACTED (fell behind the retained history), WATCH_LISTENER_FAILED, CLOSED.
   */
  readonly done: Promise<KvError | null>;
}

export interface WatchOptions {
  /** Include the previous key-value in events. Default false. */
  readonly prevKv?: boolean;
}

/** What the hub needs from the store: its position and the stored history. */
export interface WatchSource {
  currentRevision(): number;
  oldestRevision(): number;
  /**
   * Matching events of whole revisions from `fromRevision` on, up to about `maxBytes`. `nextRevision` is the
   * first revision not examined (store revision + 1 when the history was read to its end).
   */
  readHistory(
    fromRevision: number,
    range: ByteRange,
    maxBytes: number,
  ): { groups: { revision: number; events: StoredEvent[] }[]; nextRevision: number };
}

export interface WatchHubOptions {
  readonly maxWatchers: number;
  readonly bufferMaxBytes: number;
  readonly catchUpMaxBytes: number;
}

interface BufferedGroup {
  readonly revision: number;
  readonly events: StoredEvent[];
  readonly bytes: number;
}

/**
 * One watcher. It is `live` while it keeps up: the store pushes each new revision's matching events into its
 * bounded buffer. When the buffer would overflow (a slow listener), or the events are too big to keep in
 * memory, it drops the buffer and switches to `catchUp`: it reads the stored history from the first revision
 * it has not delivered, at its own pace, and goes live again once it reaches the store's revision. Either
 * way events arrive in revision order, one revision at a time, with no gap and no duplicate.
 */
class WatcherImpl implements Watcher {
  readonly done: Promise<KvError | null>;
  private resolveDone!: (value: KvError | null) => void;
  private mode: 'live' | 'catchUp' = 'catchUp';
  /** live: the next revision to examine when published; catchUp: the next revision to read from history. */
  private next: number;
  private buffer: BufferedGroup[] = [];
  private bufferBytes = 0;
  private pumping = false;
  private ended = false;

  constructor(
    readonly id: number,
    private readonly hub: WatchHub,
    private readonly range: ByteRange,
    fromRevision: number,
    private readonly prevKv: boolean,
    private readonly listener: WatchListener,
  ) {
    this.next = fromRevision;
    this.done = new Promise((resolve) => {
      this.resolveDone = resolve;
    });
  }

  cancel(): void {
    this.end(null);
  }

  end(error: KvError | null): void {
    if (this.ended) return;
    this.ended = true;
    this.buffer = [];
    this.bufferBytes = 0;
    this.hub.forget(this.id);
    this.resolveDone(error);
  }

  /** Called right after a batch commits. */
  publish(groups: readonly RevisionEvents[]): void {
    if (this.ended || this.mode !== 'live') return;
    for (const group of groups) {
      if (group.revision < this.next) continue;
      if (group.events === null) {
        this.fallBehind(group.revision);
        break;
      }
      const events = group.events.filter((e) => inRange(e.key, this.range));
      this.next = group.revision + 1;
      if (events.length === 0) continue;
      let bytes = 0;
      for (const e of events) bytes += eventBytes(e);
      if (this.buffer.length > 0 && this.bufferBytes + bytes > this.hub.options.bufferMaxBytes) {
        this.fallBehind(group.revision);
        break;
      }
      this.buffer.push({ revision: group.revision, events, bytes });
      this.bufferBytes += bytes;
    }
    this.schedule();
  }

  /** Drop the buffer and read from the stored history instead, from the first revision not delivered. */
  fallBehind(atRevision: number): void {
    if (this.ended) return;
    this.next = this.buffer.length > 0 ? this.buffer[0]!.revision : Math.min(this.next, atRevision);
    this.buffer = [];
    this.bufferBytes = 0;
    this.mode = 'catchUp';
    this.schedule();
  }

  schedule(): void {
    if (this.pumping || this.ended) return;
    this.pumping = true;
    // Never call the listener from inside applyBatch: start on a microtask, after the caller's code.
    queueMicrotask(() => {
      void this.pump();
    });
  }

  private async pump(): Promise<void> {
    try {
      while (!this.ended) {
        if (this.mode === 'live') {
          const group = this.buffer.shift();
          if (group === undefined) break;
          this.bufferBytes -= group.bytes;
          await this.deliver(group.revision, group.events);
          continue;
        }
        const source = this.hub.source;
        const oldest = source.oldestRevision();
        if (this.next < oldest) {
          this.end(
            new KvError('COMPACTED', `watcher fell behind: history before ${oldest} was compacted`, {
              oldestRevision: oldest,
              revision: source.currentRevision(),
            }),
          );
          break;
        }
        if (this.next > source.currentRevision()) {
          this.mode = 'live';
          continue;
        }
        const { groups, nextRevision } = source.readHistory(this.next, this.range, this.hub.options.catchUpMaxBytes);
        this.next = nextRevision;
        for (const group of groups) {
          if (this.ended) break;
          await this.deliver(group.revision, group.events);
        }
      }
    } finally {
      this.pumping = false;
    }
  }

  private async deliver(revision: number, events: readonly StoredEvent[]): Promise<void> {
    const response: WatchResponse = { revision, events: events.map((e) => toWatchEvent(e, this.prevKv)) };
    try {
      await this.listener(response);
    } catch (error) {
      this.end(new KvError('WATCH_LISTENER_FAILED', 'the watch listener threw; watcher cancelled', { cause: error }));
    }
  }
}

/** All watchers of one store. */
export class WatchHub {
  private readonly watchers = new Map<number, WatcherImpl>();
  private nextId = 1;

  constructor(
    readonly source: WatchSource,
    readonly options: WatchHubOptions,
  ) {}

  get size(): number {
    return this.watchers.size;
  }

  /**
   * `fromRevision` must be ≥ the oldest retained revision (else COMPACTED); a revision beyond the store's waits
   * for it. Throws KvError TOO_MANY_WATCHERS, COMPACTED.
   */
  watch(range: ByteRange, fromRevision: number, listener: WatchListener, options: WatchOptions = {}): Watcher {
    if (this.watchers.size >= this.options.maxWatchers) {
      throw new KvError('TOO_MANY_WATCHERS', `${this.watchers.size} watchers, the limit`);
    }
    const oldest = this.source.oldestRevision();
    if (fromRevision < oldest) {
      throw new KvError('COMPACTED', `history before revision ${oldest} was compacted`, {
        oldestRevision: oldest,
        revision: this.source.currentRevision(),
      });
    }
    const watcher = new WatcherImpl(this.nextId++, this, range, fromRevision, options.prevKv ?? false, listener);
    this.watchers.set(watcher.id, watcher);
    watcher.schedule();
    return watcher;
  }

  forget(id: number): void {
    this.watchers.delete(id);
  }

  publish(groups: readonly RevisionEvents[]): void {
    if (groups.length === 0) return;
    for (const watcher of this.watchers.values()) watcher.publish(groups);
  }

  /** The state was replaced (snapshot restore): every watcher continues from the stored history. */
  rereadHistory(): void {
    for (const watcher of this.watchers.values()) watcher.fallBehind(Number.MAX_SAFE_INTEGER);
  }

  endAll(error: KvError | null): void {
    for (const watcher of [...this.watchers.values()]) watcher.end(error);
  }
}
