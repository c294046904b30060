import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection and are never forwarded. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Headers the gateway sets itself on the way up. */
const REPLACED_UPSTREAM = new Set(['host', 'content-length', 'expect', 'x-forwarded-for', 'x-forwarded-proto']);

type HeaderValue = string | string[] | undefined;

function connectionTokens(value: HeaderValue): Set<string> {
  const text = Array.isArray(value) ? value.join(',') : (value ?? '');
  return new Set(
    text
      .split(',')
      .map((t) => t.trim().toLowerCase())
      .filter(Boolean),
  );
}

/**
 * The headers sent to the backend: the client's, minus hop-by-hop ones (and those the Connection header names),
 * plus `X-Forwarded-For` (the client's address appended to any it brought), `X-Forwarded-Proto` and
 * `X-Forwarded-Host`. `contentLength` is passed on for streamed bodies (undici computes it for buffered ones).
 */
export function upstreamHeaders(
  incoming: IncomingHttpHeaders,
  socketAddress: string,
  contentLength: number | null,
): Record<string, string | string[]> {
  const named = connectionTokens(incoming.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(incoming)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name) || REPLACED_UPSTREAM.has(name)) continue;
    out[name] = value;
  }
  const prior = incoming['x-forwarded-for'];
  const priorText = Array.isArray(prior) ? prior.join(', ') : prior;
  out['x-forwarded-for'] = priorText ? `${priorText}, ${socketAddress}` : socketAddress;
  out['x-forwarded-proto'] = 'http';
  if (incoming.host !== undefined && out['x-forwarded-host'] === undefined) out['x-forwarded-host'] = incoming.host;
  if (contentLength !== null) out['content-length'] = String(contentLength);
  return out;
}

/** The backend's answer headers to pass to the client: all but the hop-by-hop ones. */
export function downstreamHeaders(upstream: Record<string, HeaderValue>): Record<string, string | string[]> {
  const named = connectionTokens(upstream.connection);
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** The client's address as the balancer should see it (ip-hash): the socket's, or the first X-Forwarded-For entry. */
export function clientAddress(
  incoming: IncomingHttpHeaders,
  socketAddress: string,
  trustForwardedFor: boolean,
): string {
  if (trustForwardedFor) {
    const xff = incoming['x-forwarded-for'];
    const first = (Array.isArray(xff) ? xff[0] : xff)?.split(',')[0]?.trim();
    if (first) return first.slice(0, 1024);
  }
  return socketAddress;
}
