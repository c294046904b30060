import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Histogram, Registry } from 'prom-client';
import { ArrayHistogram } from '../../src/node/array-histogram.js';

const BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];
const NAME = 'cairn_raft_commit_duration_seconds';
const HELP = 'From proposal to applied on the leader, per log entry';

/** The histogram's exposition lines with their labels sorted (label order is free). */
function exposition(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.startsWith(NAME) || line.startsWith(`# HELP ${NAME}`) || line.startsWith(`# TYPE ${NAME}`))
    .map((line) => {
      const m = /^([^{ ]+)\{(.*)\} (.+)$/.exec(line);
      if (m === null) return line;
      const labels = m[2]!
        .split(/,(?=[a-z_]+=")/)
        .sort()
        .join(',');
      return `${m[1]}{${labels}} ${Number(m[3])}`;
    });
}

function registries(): { ours: Registry; reference: Registry; histogram: ArrayHistogram; prom: Histogram } {
  const ours = new Registry();
  const reference = new Registry();
  for (const r of [ours, reference]) r.setDefaultLabels({ node: 'n1', cluster: 'c' });
  const histogram = new ArrayHistogram(NAME, HELP, BUCKETS);
  ours.registerMetric(histogram as unknown as Parameters<Registry['registerMetric']>[0]);
  const prom = new Histogram({ name: NAME, help: HELP, buckets: BUCKETS, registers: [reference] });
  return { ours, reference, histogram, prom };
}

test('an unlabelled ArrayHistogram prints what a prom-client Histogram prints for the same observations', async () => {
  await fc.assert(
    fc.asyncProperty(
      // Bucket bounds themselves (a value equal to a bound belongs to that bucket), values past the last, others.
      fc.array(fc.oneof(fc.constantFrom(0, ...BUCKETS, 7.5), fc.double({ min: 0, max: 10, noNaN: true })), {
        maxLength: 80,
      }),
      async (values) => {
        const { ours, reference, histogram, prom } = registries();
        for (const v of values) {
          histogram.observe(v);
          prom.observe(v);
        }
        assert.deepEqual(exposition(await ours.metrics()), exposition(await reference.metrics()));
      },
    ),
    { numRuns: 60, seed: 20261128 },
  );
});

test('non-finite observations are ignored', async () => {
  const { ours, histogram } = registries();
  histogram.observe(Number.NaN);
  histogram.observe(Number.POSITIVE_INFINITY);
  histogram.observe(0.003);
  const lines = exposition(await ours.metrics());
  assert.ok(lines.includes(`${NAME}_count{cluster="c",node="n1"} 1`), lines.join('\n'));
  assert.ok(lines.includes(`${NAME}_sum{cluster="c",node="n1"} 0.003`));
  assert.ok(lines.includes(`${NAME}_bucket{cluster="c",le="0.005",node="n1"} 1`));
  assert.ok(lines.includes(`${NAME}_bucket{cluster="c",le="0.002",node="n1"} 0`));
});
