import type { Socket } from 'node:net';
import type { TimerHandle } from '../../transport/components.js';
import { ChunkQueue } from './chunk-queue.js';
import type { LinkState } from './link-state.js';
import type { ResolvedFaultProxyComponents } from './options.js';

/** A throttled chunk is cut into slices of this many milliseconds' worth of bytes, so the rate is smooth. */
const THROTTLE_SLICE_MS = 50;

export interface PipeLimits {
  readonly maxBufferedBytes: number;
  readonly maxBufferedChunks: number;
}

/**
 * One direction of one proxied connection: reads `source`, applies the link's current fault to every chunk,
 * writes `dest`. The fault is read from the shared `LinkState` at each chunk, so a change applies at once.
 *
 * Every chunk (and the source's end) gets a due time and goes through one FIFO queue, so order is kept whatever
 * the fault does over time: `pass` is "due now", `delay` is "due later", `throttle` is "due when the rate allows".
 * A due time is never earlier than the previous one's.
 *
 * Memory bound: the backlog (queued bytes + what `dest` has not yet handed to the kernel) is capped. Past the
 * cap the source is paused; it resumes at half. A paused socket stops reading, the kernel buffers fill, and the
 * sending node's writes block: backpressure instead of unbounded buffering.
 */
export class LinkPipe {
  private readonly queue = new ChunkQueue();
  private lastDueAt = Number.NEGATIVE_INFINITY;
  private timer: TimerHandle | undefined;
  private timerDueAt = Number.POSITIVE_INFINITY;
  private pausedForBackpressure = false;
  private stopped = false;
  private sourceEnded = false;
  private endForwarded = false;
  /** Bytes (or the end of stream) were discarded: the receiver's byte stream has a hole in it. */
  private corrupted = false;

  constructor(
    readonly link: LinkState,
    private readonly source: Socket,
    private readonly dest: Socket,
    private readonly limits: PipeLimits,
    private readonly components: ResolvedFaultProxyComponents,
  ) {}

  /** Starts reading: attaches to the source's data and end, and the destination's drain. */
  start(): void {
    this.source.on('data', (chunk: Buffer) => this.onData(chunk));
    this.source.on('end', () => this.onSourceEnd());
    this.dest.on('drain', () => this.maybeResume());
  }

  /** True once this direction lost bytes to a blackhole: its stream can never be made whole again. */
  get isCorrupted(): boolean {
    return this.corrupted;
  }

  /** True once the source's end was passed on to the destination (`dest.end()`). */
  get hasForwardedEnd(): boolean {
    return this.endForwarded;
  }

  get isPaused(): boolean {
    return this.pausedForBackpressure;
  }

  /** Bytes held for this direction right now. */
  get bufferedBytes(): number {
    return this.queue.bytes + (this.dest.destroyed ? 0 : this.dest.writableLength);
  }

  /**
   * The link's fault changed. Entering blackhole discards what is queued (those bytes were "in flight" when the
   * partition began); other changes keep queued chunks at their due times (switching delay → pass does not
   * speed up bytes already delayed).
   */
  onFaultChanged(): void {
    if (this.stopped) return;
    if (this.link.fault.mode === 'blackhole') {
      const dropped = this.queue.clear();
      if (dropped.chunks > 0) this.discarded(dropped.bytes);
      this.cancelTimer();
      this.lastDueAt = Number.NEGATIVE_INFINITY;
      this.maybeResume();
    }
  }

  /** Stops for good: no more reads handled, timer cancelled, queue freed. The sockets are the caller's. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.cancelTimer();
    this.queue.clear();
  }

  private onData(chunk: Buffer): void {
    if (this.stopped) return;
    const fault = this.link.fault;
    const now = this.components.clock.now();
    switch (fault.mode) {
      case 'blackhole':
      case 'reject': // A reject fault resets the connection at once; a chunk can only slip in from the same turn.
        this.discarded(chunk.length);
        return;
      case 'pass':
        this.enqueue(chunk, now, now);
        break;
      case 'delay': {
        const jitter = fault.jitterMs === 0 ? 0 : (this.components.random.next() * 2 - 1) * fault.jitterMs;
        this.enqueue(chunk, now + Math.max(0, fault.delayMs + jitter), now);
        break;
      }
      case 'throttle': {
        const sliceBytes = Math.max(1, Math.ceil((fault.bytesPerSecond * THROTTLE_SLICE_MS) / 1000));
        for (let offset = 0; offset < chunk.length; offset += sliceBytes) {
          const slice = chunk.subarray(offset, offset + sliceBytes);
          const start = Math.max(now, this.lastDueAt);
          this.enqueue(slice, start + (slice.length * 1000) / fault.bytesPerSecond, now);
        }
        break;
      }
    }
    this.checkBackpressure();
  }

  private onSourceEnd(): void {
    if (this.stopped || this.sourceEnded) return;
    this.sourceEnded = true;
    const now = this.components.clock.now();
    const mode = this.link.fault.mode;
    if (mode === 'blackhole' || mode === 'reject') {
      // The FIN is part of the stream and vanishes with it: the receiver's side stays half-open.
      this.corrupted = true;
      return;
    }
    const delayMs = this.link.fault.mode === 'delay' ? this.link.fault.delayMs : 0;
    this.enqueue(null, now + delayMs, now);
  }

  /** Delivers at once when nothing is ahead and it is due; otherwise queues behind the rest. */
  private enqueue(chunk: Buffer | null, dueAt: number, now: number): void {
    const due = Math.max(dueAt, this.lastDueAt);
    this.lastDueAt = due;
    if (this.queue.length === 0 && due <= now) {
      this.deliver(chunk);
      return;
    }
    this.queue.push({ chunk, dueAt: due });
    this.scheduleRelease(now);
  }

  private scheduleRelease(now: number): void {
    const head = this.queue.peek();
    if (head === undefined) return;
    if (this.timer !== undefined && this.timerDueAt <= head.dueAt) return;
    this.cancelTimer();
    this.timerDueAt = head.dueAt;
    this.timer = this.components.timers.setTimeout(() => this.release(), Math.max(0, head.dueAt - now));
  }

  private release(): void {
    this.timer = undefined;
    this.timerDueAt = Number.POSITIVE_INFINITY;
    if (this.stopped) return;
    const now = this.components.clock.now();
    for (let head = this.queue.peek(); head !== undefined && head.dueAt <= now; head = this.queue.peek()) {
      this.queue.shift();
      this.deliver(head.chunk);
    }
    this.scheduleRelease(now);
    this.maybeResume();
  }

  private deliver(chunk: Buffer | null): void {
    if (this.dest.destroyed || this.dest.writableEnded) return;
    if (chunk === null) {
      this.endForwarded = true;
      this.dest.end();
      return;
    }
    this.dest.write(chunk);
    this.link.counters.bytesPassed += chunk.length;
  }

  private discarded(bytes: number): void {
    this.corrupted = true;
    this.link.counters.bytesDiscarded += bytes;
  }

  private checkBackpressure(): void {
    const backlog = this.bufferedBytes;
    if (backlog > this.link.counters.peakBufferedBytes) this.link.counters.peakBufferedBytes = backlog;
    if (this.pausedForBackpressure) return;
    if (backlog > this.limits.maxBufferedBytes || this.queue.length > this.limits.maxBufferedChunks) {
      this.pausedForBackpressure = true;
      this.link.counters.backpressurePauses++;
      this.source.pause();
    }
  }

  private maybeResume(): void {
    if (!this.pausedForBackpressure || this.stopped) return;
    if (this.bufferedBytes > this.limits.maxBufferedBytes / 2) return;
    if (this.queue.length > this.limits.maxBufferedChunks / 2) return;
    this.pausedForBackpressure = false;
    this.source.resume();
  }

  private cancelTimer(): void {
    if (this.timer === undefined) return;
    this.components.timers.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerDueAt = Number.POSITIVE_INFINITY;
  }
}
