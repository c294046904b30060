import type { Readable } from 'node:stream';
import { CairnError } from './errors.js';

/**
 * Socket errors that happen before a request could reach the server: the request surely was not sent (not even
 * partly), so trying it on another node is safe for any request, including a non-idempotent write.
 */
const CONNECT_ERROR_CODES = new Set([
  'ECONNREFUSED',
  'UND_ERR_CONNECT_TIMEOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EAI_AGAIN',
  'EADDRNOTAVAIL',
]);

/** The `code` of an error thrown by undici or the socket layer, or '' when it has none. */
export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : '';
}

/** True when the error means the request never left this process (so it surely had no effect). */
export function isConnectError(error: unknown): boolean {
  return CONNECT_ERROR_CODES.has(errorCode(error));
}

/**
 * Normalizes an endpoint (`host:port` or `http://host:port[/…]`) to its origin, `http://host:port`. Only plain
 * HTTP is supported (the API has no TLS yet); anything else is an InvalidArgumentError.
 */
export function toOrigin(endpoint: string): string {
  if (typeof endpoint !== 'string' || endpoint.trim() === '') {
    throw CairnError.create('INVALID_ARGUMENT', 0, `an endpoint must be a non-empty string, got ${String(endpoint)}`);
  }
  const text = endpoint.trim();
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    throw CairnError.create('INVALID_ARGUMENT', 0, `endpoint "${text}" is not host:port or http://host:port`);
  }
  if (url.protocol !== 'http:') {
    throw CairnError.create('INVALID_ARGUMENT', 0, `endpoint "${text}": only http:// is supported`);
  }
  if (url.host === '') throw CairnError.create('INVALID_ARGUMENT', 0, `endpoint "${text}" has no host`);
  return `${url.protocol}//${url.host}`;
}

/**
 * Reads a response body up to `maxBytes`; a larger body is destroyed and rejected with BODY_TOO_LARGE (status 0),
 * so a broken or hostile server cannot make the client buffer without bound.
 */
export async function readBounded(body: Readable, maxBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += buffer.length;
    if (size > maxBytes) {
      body.destroy();
      throw CairnError.create('BODY_TOO_LARGE', 0, `the answer is larger than ${maxBytes} bytes (maxResponseBytes)`);
    }
    chunks.push(buffer);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** `?a=1&b=x` from the defined, non-false parameters; '' when there are none. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== false) q.set(k, String(v));
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The first value of a response header. */
export function headerValue(headers: Record<string, string | string[] | undefined>, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
