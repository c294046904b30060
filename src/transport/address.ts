import { isIP } from 'node:net';
import { TransportError } from './errors.js';

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/**
 * Parses `host:port` (`127.0.0.1:7101`, `node-a.local:7101`, `[::1]:7101`). Port 0 is allowed (listen on any
 * free port). Throws INVALID_ADDRESS with the offending text.
 */
export function parseHostPort(address: string): HostPort {
  if (typeof address !== 'string') throw new TransportError('INVALID_ADDRESS', `address must be a string`);
  let host: string;
  let portText: string;
  if (address.startsWith('[')) {
    const close = address.indexOf(']');
    if (close < 0 || address[close + 1] !== ':') {
      throw new TransportError('INVALID_ADDRESS', `"${address}" is not [ipv6]:port`);
    }
    host = address.slice(1, close);
    portText = address.slice(close + 2);
    if (isIP(host) !== 6) throw new TransportError('INVALID_ADDRESS', `"${host}" in "${address}" is not IPv6`);
  } else {
    const colon = address.lastIndexOf(':');
    if (colon <= 0) throw new TransportError('INVALID_ADDRESS', `"${address}" is not host:port`);
    host = address.slice(0, colon);
    portText = address.slice(colon + 1);
    if (host.includes(':')) {
      throw new TransportError('INVALID_ADDRESS', `"${address}": put IPv6 hosts in brackets, like [::1]:7101`);
    }
  }
  if (!/^\d{1,5}$/.test(portText)) throw new TransportError('INVALID_ADDRESS', `"${address}" has no valid port`);
  const port = Number(portText);
  if (port > 65535) throw new TransportError('INVALID_ADDRESS', `"${address}": port ${port} is over 65535`);
  if (host.length === 0 || /\s/.test(host)) throw new TransportError('INVALID_ADDRESS', `"${address}" has no host`);
  return { host, port };
}

export function formatHostPort({ host, port }: HostPort): string {
  return isIP(host) === 6 ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Wildcard listen hosts say nothing about which local address to dial from. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '::0';
}
