import { request } from 'undici';

/** Sums the samples of a Prometheus counter whose labels include `labels`. */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    const match = /^[^{ ]+(?:\{(.*)\})? ([0-9.eE+-]+)$/.exec(line);
    if (!match) continue;
    const have = new Map<string, string>();
    for (const m of (match[1] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) have.set(m[1]!, m[2]!);
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) sum += Number(match[2]);
  }
  return sum;
}

/** A node's /metrics text. */
export async function scrape(httpAddress: string): Promise<string> {
  const r = await request(`http://${httpAddress}/metrics`, { headersTimeout: 5_000 });
  return r.body.text();
}

interface LeaderProbe {
  waitForLeader(): Promise<string>;
  status(name: string): Promise<{ leader: string | null; term: number }>;
}

/**
 * Runs `measure` while one leader stays in office: on a loaded machine an election can happen at any moment, and
 * a measurement that spans one (writes forwarded while a client still targets the old leader) says nothing about
 * the code under test. Retried up to `tries` times; the assertions belong after it, on the returned data.
 */
export async function duringStableLeadership<T>(
  cluster: LeaderProbe,
  measure: (leader: string) => Promise<T>,
  tries = 3,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    const leader = await cluster.waitForLeader();
    const before = await cluster.status(leader);
    const result = await measure(leader);
    const after = await cluster.status(leader).catch(() => null);
    if (after && after.term === before.term && after.leader === leader) return result;
    if (attempt >= tries) throw new Error(`leadership kept changing (term ${before.term} → ${after?.term})`);
  }
}
