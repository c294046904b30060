import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { TortureError } from './errors.js';

/**
 * Ports for the nodes' listeners are chosen below the kernel's ephemeral range. A port chosen inside it (as
 * `listen(0)` does) is free when chosen, but the harness uses it much later — a spare joins minutes into a run, a
 * killed node restarts on its old ports — and meanwhile any outgoing connection may be handed the same number as
 * its local port: the node then fails to start with EADDRINUSE (torture seed 2017, 5 nodes: spare n11 crashed at
 * 233 s). Below the range, only a listener asking for that port by number can take it.
 */
const LOWEST_PORT = 10_000;
const ATTEMPTS = 200;

/** The first port of the ephemeral range (Linux's default 32768 when it cannot be read). */
export function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST_PORT ? first : 32_768;
  } catch {
    return 32_768;
  }
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** A port that is free on `host` now and outside the ephemeral range (`random` in [0, 1) picks candidates). */
export async function reservePort(
  host: string,
  random: () => number,
  taken: ReadonlySet<number> = new Set(),
): Promise<number> {
  const end = ephemeralRangeStart();
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = LOWEST_PORT + Math.floor(random() * (end - LOWEST_PORT));
    if (taken.has(port)) continue;
    if (await canListen(host, port)) return port;
  }
  throw new TortureError('NO_FREE_PORT', `no free port below ${end} on ${host} after ${ATTEMPTS} tries`);
}
