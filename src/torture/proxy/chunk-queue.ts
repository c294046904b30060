/** A chunk of bytes, or the end of the stream (the source's FIN), due for delivery at `dueAt`. */
export interface QueuedItem {
  readonly chunk: Buffer | null;
  readonly dueAt: number;
}

/**
 * FIFO of chunks waiting for their delivery time, with a running byte total. Amortized O(1) removal from the
 * head (no `Array.shift` on long queues).
 */
export class ChunkQueue {
  private items: QueuedItem[] = [];
  private head = 0;
  private byteCount = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** Bytes of all queued chunks. */
  get bytes(): number {
    return this.byteCount;
  }

  push(item: QueuedItem): void {
    this.items.push(item);
    if (item.chunk !== null) this.byteCount += item.chunk.length;
  }

  peek(): QueuedItem | undefined {
    return this.items[this.head];
  }

  shift(): QueuedItem | undefined {
    const item = this.items[this.head];
    if (item === undefined) return undefined;
    this.items[this.head] = undefined as unknown as QueuedItem;
    this.head++;
    if (item.chunk !== null) this.byteCount -= item.chunk.length;
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Empties the queue and returns what it held. */
  clear(): { chunks: number; bytes: number; hadEnd: boolean } {
    let hadEnd = false;
    for (let i = this.head; i < this.items.length; i++) if (this.items[i]?.chunk === null) hadEnd = true;
    const dropped = { chunks: this.length, bytes: this.byteCount, hadEnd };
    this.items = [];
    this.head = 0;
    this.byteCount = 0;
    return dropped;
  }
}
