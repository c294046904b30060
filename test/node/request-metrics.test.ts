import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Counter, Histogram, Registry } from 'prom-client';
import { RequestMetrics } from '../../src/node/request-metrics.js';

const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const NAMES = ['cairn_http_requests_total', 'cairn_http_request_duration_seconds'];

/** The samples of the two request metrics as `name{labels in name order} value`, sorted (label order is free). */
function samples(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !NAMES.some((n) => line.startsWith(n))) continue;
    const m = /^([^{ ]+)(?:\{(.*)\})? (.+)$/.exec(line);
    assert.ok(m, line);
    const labels = (m[2] ?? '')
      .split(/,(?=[a-z_]+=")/)
      .filter(Boolean)
      .sort()
      .join(',');
    out.push(`${m[1]}{${labels}} ${Number(m[3])}`);
  }
  return out.sort();
}

/** What prom-client's own Counter and Histogram print for the same requests: the reference. */
function reference(requests: readonly Observation[]): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ node: 'n1', cluster: 'c' });
  const counter = new Counter({
    name: NAMES[0]!,
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'code'],
    registers: [registry],
  });
  const histogram = new Histogram({
    name: NAMES[1]!,
    help: 'HTTP request latency by route',
    labelNames: ['route'],
    buckets: BUCKETS,
    registers: [registry],
  });
  for (const r of requests) {
    counter.inc({ route: r.route, method: r.method, code: String(r.code) });
    histogram.observe({ route: r.route }, r.seconds);
  }
  return registry;
}

interface Observation {
  route: string;
  method: string;
  code: number;
  seconds: number;
}

const observation = fc.record({
  route: fc.constantFrom('/v1/kv/*key', '/v1/txn', '/healthz'),
  method: fc.constantFrom('GET', 'PUT', 'DELETE'),
  code: fc.constantFrom(200, 404, 412, 503),
  // Bucket bounds themselves (a value equal to a bound belongs to that bucket), values past the last bound, others.
  seconds: fc.oneof(fc.constantFrom(0, ...BUCKETS, 7.5), fc.double({ min: 0, max: 10, noNaN: true })),
});

test('the request metrics print what prom-client prints for the same requests, and a scrape does not count twice', async () => {
  await fc.assert(
    fc.asyncProperty(
      fc.array(observation, { maxLength: 60 }),
      fc.array(observation, { maxLength: 20 }),
      async (first, second) => {
        const registry = new Registry();
        registry.setDefaultLabels({ node: 'n1', cluster: 'c' });
        const metrics = new RequestMetrics(registry, BUCKETS);
        for (const r of first) metrics.observe(r.route, r.method, r.code, r.seconds);
        assert.deepEqual(samples(await registry.metrics()), samples(await reference(first).metrics()));
        // Scraped again after more requests: totals, not the requests since the last scrape, and none counted twice.
        for (const r of second) metrics.observe(r.route, r.method, r.code, r.seconds);
        assert.deepEqual(samples(await registry.metrics()), samples(await reference([...first, ...second]).metrics()));
        assert.deepEqual(samples(await registry.metrics()), samples(await reference([...first, ...second]).metrics()));
      },
    ),
    { numRuns: 60, seed: 20261128 },
  );
});

test('a method the API does not serve is counted as OTHER, so clients cannot make the label set grow', async () => {
  const registry = new Registry();
  const metrics = new RequestMetrics(registry, BUCKETS);
  for (let i = 0; i < 50; i++) metrics.observe('unknown', `METHOD${i}`, 405, 0.001);
  metrics.observe('/v1/kv/*key', 'GET', 200, 0.001);
  const lines = samples(await registry.metrics()).filter((l) => l.startsWith('cairn_http_requests_total'));
  assert.deepEqual(lines, [
    'cairn_http_requests_total{code="200",method="GET",route="/v1/kv/*key"} 1',
    'cairn_http_requests_total{code="405",method="OTHER",route="unknown"} 50',
  ]);
});
