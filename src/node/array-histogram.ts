/** Observations of one label value: per bucket (not cumulative, the last one is +Inf), their sum and count. */
interface Series {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

type Sample = { metricName: string; labels: Record<string, string | number>; value: number };

/**
 * A Prometheus histogram kept in plain arrays, in the shape prom-client's registry formats (what its
 * `Histogram.get()` returns), so `registry.registerMetric()` serves it at /metrics like any other.
 *
 * Why not prom-client's Histogram on a hot path: each `observe()`, labelled or not, validates and hashes the label
 * set and allocates. The node observes three of them per write on the leader (commit, persist, fsync), ~5 µs of
 * its CPU per put at 1 in flight in the profile of 2026-11-28; here an observation is a bucket search and three
 * additions. At most one label (`labelName`); without one, every observation goes to one series.
 * test/node/array-histogram.test.ts compares the exposition with prom-client's.
 */
export class ArrayHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, Series>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly upperBounds: readonly number[],
    private readonly labelName: string | null = null,
  ) {
    // Like prom-client, an unlabelled histogram is printed (all zeros) before its first observation.
    if (labelName === null) this.series.set('', { counts: new Float64Array(upperBounds.length + 1), sum: 0, count: 0 });
  }

  /** Counts one observation (non-finite values are ignored), under `labelValue` when the histogram has a label. */
  observe(value: number, labelValue = ''): void {
    if (!Number.isFinite(value)) return;
    let series = this.series.get(labelValue);
    if (series === undefined) {
      series = { counts: new Float64Array(this.upperBounds.length + 1), sum: 0, count: 0 };
      this.series.set(labelValue, series);
    }
    let i = 0;
    while (i < this.upperBounds.length && value > this.upperBounds[i]!) i++;
    series.counts[i]!++;
    series.sum += value;
    series.count++;
  }

  /** Called by the registry at a scrape. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const [labelValue, series] of this.series) {
      const labels = (): Record<string, string | number> =>
        this.labelName === null ? {} : { [this.labelName]: labelValue };
      let cumulative = 0;
      for (let i = 0; i <= this.upperBounds.length; i++) {
        cumulative += series.counts[i]!;
        const le = i < this.upperBounds.length ? this.upperBounds[i]! : '+Inf';
        values.push({ metricName: `${this.name}_bucket`, labels: { le, ...labels() }, value: cumulative });
      }
      values.push({ metricName: `${this.name}_sum`, labels: labels(), value: series.sum });
      values.push({ metricName: `${this.name}_count`, labels: labels(), value: series.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}
