import { StringDecoder } from 'node:string_decoder';

/** One Server-Sent Event. */
export interface SseEvent {
  readonly id: string | null;
  readonly event: string;
  readonly data: string;
}

/** Default bound on one event (a revision's changes); a bigger event is an error, not unbounded memory. */
export const DEFAULT_MAX_EVENT_BYTES = 64 * 1024 * 1024;

/**
 * Incremental Server-Sent Events parser (the WHATWG rules the watch stream uses), bounded per event. Bytes are
 * decoded with a streaming UTF-8 decoder, so a character split across two chunks is not mangled.
 */
export class SseParser {
  private readonly decoder = new StringDecoder('utf8');
  private buffer = '';
  private id: string | null = null;
  private event = 'message';
  private data: string[] = [];
  private dataChars = 0;

  constructor(private readonly maxEventBytes = DEFAULT_MAX_EVENT_BYTES) {}

  push(chunk: Buffer | string): SseEvent[] {
    this.buffer += typeof chunk === 'string' ? chunk : this.decoder.write(chunk);
    const out: SseEvent[] = [];
    let start = 0;
    let nl = this.buffer.indexOf('\n', start);
    while (nl >= 0) {
      const line = this.buffer.slice(start, nl).replace(/\r$/, '');
      start = nl + 1;
      if (line === '') {
        if (this.data.length > 0 || this.event !== 'message') {
          out.push({ id: this.id, event: this.event, data: this.data.join('\n') });
        }
        this.event = 'message';
        this.data = [];
        this.dataChars = 0;
      } else if (!line.startsWith(':')) {
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          this.data.push(value);
          this.dataChars += value.length;
        } else if (field === 'event') this.event = value;
        else if (field === 'id') this.id = value;
      }
      nl = this.buffer.indexOf('\n', start);
    }
    this.buffer = this.buffer.slice(start);
    if (this.buffer.length + this.dataChars > this.maxEventBytes) throw new Error('server-sent event too large');
    return out;
  }
}
