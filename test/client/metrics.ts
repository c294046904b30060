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
