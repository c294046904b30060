import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * Ports for node listeners in test, benchmark and torture clusters, chosen below the kernel's ephemeral range. A
 * port chosen inside it (as `listen(0)` does) is free when chosen, but it is used later — a spare joins minutes
 * into a torture run, a killed node restarts on its old ports — and meanwhile any outgoing connection may be handed
 * the same number as its local port: the node then fails to start with EADDRINUSE (torture seed 2017, 5 nodes:
 * spare n11 crashed at 233 s). Below the range, only a listener asking for that port by number can take it.
 */
const LOWEST_PORT = 10_000;
const ATTEMPTS = 200;

/** No free port (or block of ports) was found; `code` is NO_FREE_PORT. */
export class NoFreePortError extends Error {
  readonly code = 'NO_FREE_PORT';
  constructor(message: string) {
    super(message);
    this.name = 'NoFreePortError';
  }
}

/** The first port of the ephemeral range (Linux's default 32768 when it cannot be read). */
export function ephemeralRangeStart(): number {
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(first) && first > LOWEST_PORT ? first : 32_768;
  } catch {
    return 32_768;
  }
}

/** True when a listener can bind `host:port` right now (the port is released again before this resolves). */
export function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/**
 * A base port such that `base + offset` is free on `host` for every offset, all of them below the ephemeral
 * range; `random` in [0, 1) picks the candidates. `taken` ports are never chosen (already handed out).
 * Throws NoFreePortError after 200 candidates.
 */
export async function freePortBase(
  host: string,
  offsets: readonly number[],
  random: () => number = Math.random,
  taken: ReadonlySet<number> = new Set(),
): Promise<number> {
  const end = ephemeralRangeStart() - Math.max(0, ...offsets);
  for (let i = 0; i < ATTEMPTS; i++) {
    const base = LOWEST_PORT + Math.floor(random() * (end - LOWEST_PORT));
    let free = true;
    for (const offset of offsets) {
      free = !taken.has(base + offset) && (await canListen(host, base + offset));
      if (!free) break;
    }
    if (free) return base;
  }
  throw new NoFreePortError(`no free ports below ${end} on ${host} after ${ATTEMPTS} tries`);
}
