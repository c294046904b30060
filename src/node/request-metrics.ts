import { Counter, type Registry } from 'prom-client';
import { ArrayHistogram } from './array-histogram.js';

/**
 * The per-request HTTP metrics — `cairn_http_requests_total{route,method,code}` and
 * `cairn_http_request_duration_seconds{route}` — counted in plain numbers and handed to prom-client only when
 * /metrics is scraped.
 *
 * Why not prom-client's own Counter and Histogram on the hot path: each `inc()` and `observe()`, even on a
 * labelled child, validates and hashes the label set and allocates; on a single node answering reads that cost
 * 20–35 % of the throughput (measured: 155,000 → 194,000–245,000 reads/s with the two calls removed). Here a
 * request costs a map lookup, an array increment and a bucket search. The exposition is the same as a prom-client
 * Histogram's (cumulative `_bucket` lines with `le`, then `_sum` and `_count`; test/node/request-metrics.test.ts
 * compares the two).
 */
/** The methods the API serves (or answers, like HEAD and OPTIONS): anything else shares one label value. */
const KNOWN_METHODS: ReadonlySet<string> = new Set(['GET', 'PUT', 'POST', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH']);

interface PendingCount {
  readonly labels: Record<'route' | 'method' | 'code', string>;
  n: number;
}

export class RequestMetrics {
  /** Requests not yet handed to the prom-client counter, by route + method + code. */
  private readonly pending: PendingCount[] = [];
  /** route → method → status code → its count: nested so that a request's lookup builds no key string. */
  private readonly byRoute = new Map<string, Map<string, Map<number, PendingCount>>>();
  private readonly latency: ArrayHistogram;

  constructor(registry: Registry, latencyBucketsSeconds: readonly number[]) {
    const pending = this.pending;
    // Registered with the registry, which holds it; it is only ever fed from its collect().
    new Counter({
      name: 'cairn_http_requests_total',
      help: 'HTTP requests by route, method and status code',
      labelNames: ['route', 'method', 'code'],
      registers: [registry],
      collect() {
        for (const p of pending) {
          if (p.n === 0) continue;
          this.inc(p.labels, p.n);
          p.n = 0;
        }
      },
    });
    this.latency = new ArrayHistogram(
      'cairn_http_request_duration_seconds',
      'HTTP request latency by route',
      latencyBucketsSeconds,
      'route',
    );
    registry.registerMetric(this.latency as unknown as Parameters<Registry['registerMetric']>[0]);
  }

  /** Counts one finished request. A method the API does not serve is counted as OTHER (clients choose it). */
  observe(route: string, requestMethod: string, code: number, seconds: number): void {
    const method = KNOWN_METHODS.has(requestMethod) ? requestMethod : 'OTHER';
    let byMethod = this.byRoute.get(route);
    if (byMethod === undefined) {
      byMethod = new Map();
      this.byRoute.set(route, byMethod);
    }
    let byCode = byMethod.get(method);
    if (byCode === undefined) {
      byCode = new Map();
      byMethod.set(method, byCode);
    }
    let p = byCode.get(code);
    if (p === undefined) {
      p = { labels: { route, method, code: String(code) }, n: 0 };
      byCode.set(code, p);
      this.pending.push(p);
    }
    p.n++;
    this.latency.observe(seconds, route);
  }
}
