import type { TransportError } from './errors.js';

/** Settles a `sendAsync` promise once. */
export class Waiter {
  private settled = false;

  constructor(
    private readonly onResolve: () => void,
    private readonly onReject: (error: TransportError) => void,
  ) {}

  resolve(): void {
    if (this.settled) return;
    this.settled = true;
    this.onResolve();
  }

  reject(error: TransportError): void {
    if (this.settled) return;
    this.settled = true;
    this.onReject(error);
  }
}

export interface QueuedMessage {
  /** The message's msgpack bytes. */
  readonly bytes: Buffer;
  /** Clock time when it was queued; older than `maxQueueAgeMs` at flush time means dropped. */
  readonly enqueuedAt: number;
  /** Present for `sendAsync`. */
  readonly waiter: Waiter | undefined;
}

/**
 * A FIFO of encoded messages bounded by count and by bytes. An array with a moving head gives O(1) shift without
 * a linked list; the consumed prefix is cut off once it is most of the array.
 */
export class SendQueue {
  private items: (QueuedMessage | undefined)[] = [];
  private head = 0;
  private byteCount = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get messages(): number {
    return this.items.length - this.head;
  }

  get bytes(): number {
    return this.byteCount;
  }

  hasRoomFor(bytes: number): boolean {
    return this.messages < this.maxMessages && this.byteCount + bytes <= this.maxBytes;
  }

  push(item: QueuedMessage): void {
    this.items.push(item);
    this.byteCount += item.bytes.length;
  }

  peek(): QueuedMessage | undefined {
    return this.items[this.head];
  }

  shift(): QueuedMessage | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head]!;
    this.items[this.head] = undefined;
    this.head++;
    this.byteCount -= item.bytes.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes and returns the messages queued before `cutoff` (the queue is in enqueue order). */
  dropOlderThan(cutoff: number): QueuedMessage[] {
    const dropped: QueuedMessage[] = [];
    for (let next = this.peek(); next !== undefined && next.enqueuedAt < cutoff; next = this.peek()) {
      dropped.push(this.shift()!);
    }
    return dropped;
  }

  /** Removes and returns everything. */
  clear(): QueuedMessage[] {
    const all = this.items.slice(this.head) as QueuedMessage[];
    this.items = [];
    this.head = 0;
    this.byteCount = 0;
    return all;
  }
}
