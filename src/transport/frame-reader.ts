import { TransportError } from './errors.js';
import { LENGTH_PREFIX_BYTES } from './frame-codec.js';

/**
 * Splits a TCP byte stream into frame bodies (4-byte big-endian length, then that many bytes).
 *
 * Chunks are kept in a list and joined only once a frame is complete, so a 16 MiB frame arriving in 64 KiB reads
 * costs one copy, not a copy per read. A body inside one chunk is returned as a view, without copying.
 */
export class FrameReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  /** Body length of the frame being read, or -1 while its length prefix is still incomplete. */
  private expected = -1;

  constructor(private maxFrameBytes: number) {}

  /** The handshake uses a small cap; after it the configured one applies. */
  setMaxFrameBytes(maxFrameBytes: number): void {
    this.maxFrameBytes = maxFrameBytes;
  }

  /** Bytes received but not yet returned as a frame (a partial frame). */
  get bufferedBytes(): number {
    return this.buffered + (this.expected >= 0 ? LENGTH_PREFIX_BYTES : 0);
  }

  /** True while part of a frame has arrived but not all of it. */
  get midFrame(): boolean {
    return this.bufferedBytes > 0;
  }

  /** Adds bytes and returns every frame body they complete. Throws FRAME_TOO_LARGE on a bad length prefix. */
  push(chunk: Buffer): Buffer[] {
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    const frames: Buffer[] = [];
    for (;;) {
      if (this.expected < 0) {
        if (this.buffered < LENGTH_PREFIX_BYTES) break;
        const length = this.take(LENGTH_PREFIX_BYTES).readUInt32BE(0);
        if (length === 0 || length > this.maxFrameBytes) {
          throw new TransportError(
            'FRAME_TOO_LARGE',
            length === 0 ? 'empty frame' : `frame of ${length} bytes is over the limit of ${this.maxFrameBytes}`,
          );
        }
        this.expected = length;
      }
      if (this.buffered < this.expected) break;
      frames.push(this.take(this.expected));
      this.expected = -1;
    }
    return frames;
  }

  private take(bytes: number): Buffer {
    this.buffered -= bytes;
    const first = this.chunks[0]!;
    if (first.length >= bytes) {
      if (first.length === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
      return first.subarray(0, bytes);
    }
    const joined = Buffer.allocUnsafe(bytes);
    let filled = 0;
    while (filled < bytes) {
      const chunk = this.chunks[0]!;
      const wanted = bytes - filled;
      if (chunk.length <= wanted) {
        chunk.copy(joined, filled);
        filled += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(joined, filled, 0, wanted);
        this.chunks[0] = chunk.subarray(wanted);
        filled = bytes;
      }
    }
    return joined;
  }
}
