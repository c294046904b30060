import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { HealthError } from '../../../src/cluster/health/errors.js';
import { evaluateHealthRules, type HealthCondition } from '../../../src/cluster/health/health-rules.js';
import type { NodeVitals } from '../../../src/cluster/health/vitals.js';

const MiB = 1024 ** 2;

function vitals(atMs: number, fields: Partial<NodeVitals> = {}): NodeVitals {
  return {
    atMs,
    windowMs: 1000,
    cpuProcessPercent: 20,
    cpuSystemPercent: 30,
    cpuCores: 2,
    eventLoopLagP99Ms: 2,
    eventLoopLagMaxMs: 5,
    rssBytes: 300 * MiB,
    heapUsedBytes: 100 * MiB,
    heapLimitBytes: 4096 * MiB,
    diskUsedPercent: 40,
    diskFreeBytes: 60 * 1024 * MiB,
    diskTotalBytes: 100 * 1024 * MiB,
    fsyncP99Ms: 2,
    fsyncCount: 50,
    requestsPerSec: 100,
    requestP99Ms: 5,
    requestErrorPercent: 0,
    ...fields,
  };
}

/**
 * One sample per second ending at `endMs`: the first `count - tail.length` healthy, then one per entry of `tail`.
 */
function history(count: number, tail: Partial<NodeVitals>[], endMs = 100_000): NodeVitals[] {
  return Array.from({ length: count }, (_, i) => {
    const atMs = endMs - (count - 1 - i) * 1000;
    const tailIndex = i - (count - tail.length);
    return vitals(atMs, tailIndex >= 0 ? tail[tailIndex] : {});
  });
}

const repeat = <T>(n: number, value: T): T[] => Array.from({ length: n }, () => value);
const codes = (condition: HealthCondition) => condition.reasons.map((reason) => reason.code);
const activeOnly = (code: string, severity: 'degraded' | 'warning' = 'degraded'): HealthCondition => ({
  status: severity === 'degraded' ? 'degraded' : 'healthy',
  reasons: [{ code, severity, message: '' }],
});

describe('evaluateHealthRules', () => {
  test('a healthy history is healthy with no reasons', () => {
    const h = history(60, []);
    assert.deepEqual(evaluateHealthRules(h, null, 100_000), { status: 'healthy', reasons: [] });
    assert.deepEqual(evaluateHealthRules([], null, 100_000), { status: 'healthy', reasons: [] });
  });

  test('SLOW_FSYNC triggers only when every sample of the last 30 s is above 50 ms', () => {
    const slow = { fsyncP99Ms: 80 };
    assert.deepEqual(
      codes(evaluateHealthRules(history(60, repeat(29, slow)), null, 100_000)),
      [],
      '29 s is not enough',
    );
    const condition = evaluateHealthRules(history(60, repeat(30, slow)), null, 100_000);
    assert.equal(condition.status, 'degraded');
    assert.deepEqual(condition.reasons, [
      { code: 'SLOW_FSYNC', severity: 'degraded', message: 'fsync p99 above 50 ms for 30 s (latest 80 ms)' },
    ]);
    const interrupted = [...repeat(20, slow), { fsyncP99Ms: 10 }, ...repeat(19, slow)];
    assert.deepEqual(
      codes(evaluateHealthRules(history(60, interrupted), null, 100_000)),
      [],
      'one fast sample breaks it',
    );
    const atThreshold = repeat(40, { fsyncP99Ms: 50 });
    assert.deepEqual(codes(evaluateHealthRules(history(60, atThreshold), null, 100_000)), [], '"above" is strict');
  });

  test('an active rule clears only when every sample of the last 30 s is back within the threshold', () => {
    const previous = activeOnly('SLOW_FSYNC');
    const recovering = (good: number) => history(60, [...repeat(20, { fsyncP99Ms: 90 }), ...repeat(good, {})]);
    assert.deepEqual(codes(evaluateHealthRules(recovering(29), previous, 100_000)), ['SLOW_FSYNC']);
    assert.deepEqual(codes(evaluateHealthRules(recovering(30), previous, 100_000)), []);
    // Hovering around the threshold: neither sustained above nor sustained below, so the verdict stays put.
    const hovering = history(
      60,
      Array.from({ length: 60 }, (_, i) => ({ fsyncP99Ms: i % 3 === 0 ? 60 : 40 })),
    );
    assert.deepEqual(codes(evaluateHealthRules(hovering, previous, 100_000)), ['SLOW_FSYNC']);
    assert.deepEqual(codes(evaluateHealthRules(hovering, null, 100_000)), []);
  });

  test('windows without syncs are no evidence of slowness, but count as healthy for recovery', () => {
    const sparse = Array.from({ length: 40 }, (_, i) => ({ fsyncP99Ms: i % 2 === 0 ? 70 : null }));
    assert.deepEqual(codes(evaluateHealthRules(history(60, sparse), null, 100_000)), ['SLOW_FSYNC']);
    const idle = history(60, [...repeat(20, { fsyncP99Ms: 70 }), ...repeat(30, { fsyncP99Ms: null })]);
    assert.deepEqual(codes(evaluateHealthRules(idle, activeOnly('SLOW_FSYNC'), 100_000)), [], 'an idle disk recovers');
    const allIdle = history(60, repeat(60, { fsyncP99Ms: null }));
    assert.deepEqual(codes(evaluateHealthRules(allIdle, null, 100_000)), []);
  });

  test('at least minSamples samples with a value are needed', () => {
    // One sample every 10 s (windows of 10 s): three cover 30 s.
    const sparse = [70_000, 80_000, 90_000, 100_000].map((atMs) => vitals(atMs, { windowMs: 10_000, fsyncP99Ms: 99 }));
    const options = { maxSampleGapMs: 15_000 };
    assert.deepEqual(codes(evaluateHealthRules(sparse, null, 100_000, options)), [], 'default minSamples 5');
    assert.deepEqual(codes(evaluateHealthRules(sparse, null, 100_000, { ...options, minSamples: 3 })), ['SLOW_FSYNC']);
  });

  test('a gap in the samples, or a stale history, is no evidence', () => {
    const slow = history(60, repeat(60, { fsyncP99Ms: 99 }));
    const gapped = slow.filter((s) => s.atMs < 80_000 || s.atMs > 85_000); // 6 s without samples
    assert.deepEqual(codes(evaluateHealthRules(gapped, null, 100_000)), [], 'the run restarts after the gap');
    assert.deepEqual(codes(evaluateHealthRules(slow, null, 105_000)), ['SLOW_FSYNC'], '5 s old is still fresh');
    assert.deepEqual(codes(evaluateHealthRules(slow, null, 105_001)), [], 'older than maxSampleGapMs: stale');
    assert.deepEqual(
      codes(evaluateHealthRules(slow, activeOnly('SLOW_FSYNC'), 200_000)),
      ['SLOW_FSYNC'],
      'and a stale history does not clear an active rule either',
    );
  });

  test('EVENT_LOOP_LAG: lag p99 above 200 ms sustained', () => {
    assert.deepEqual(codes(evaluateHealthRules(history(60, repeat(30, { eventLoopLagP99Ms: 250 })), null, 100_000)), [
      'EVENT_LOOP_LAG',
    ]);
    assert.deepEqual(
      codes(evaluateHealthRules(history(60, repeat(60, { eventLoopLagP99Ms: 150 })), null, 100_000)),
      [],
    );
  });

  test('CPU_SATURATED: the machine busy above 90 %, or the process using above 90 % of the cores, sustained', () => {
    const judge = (fields: Partial<NodeVitals>) =>
      codes(evaluateHealthRules(history(60, repeat(30, fields)), null, 100_000));
    assert.deepEqual(judge({ cpuSystemPercent: 95 }), ['CPU_SATURATED']);
    assert.deepEqual(judge({ cpuSystemPercent: null, cpuProcessPercent: 190 }), ['CPU_SATURATED'], '1.9 of 2 cores');
    assert.deepEqual(judge({ cpuSystemPercent: 50, cpuProcessPercent: 150 }), [], '75 % of 2 cores');
    assert.deepEqual(judge({ cpuSystemPercent: null, cpuProcessPercent: null }), []);
    assert.deepEqual(
      codes(
        evaluateHealthRules(history(60, repeat(30, { cpuSystemPercent: 75 })), null, 100_000, {
          cpuSaturatedPercent: 70,
        }),
      ),
      ['CPU_SATURATED'],
    );
  });

  test('MEMORY_HIGH: heap above 90 % of its limit, or RSS above a configured limit, sustained', () => {
    const judge = (fields: Partial<NodeVitals>, options = {}) =>
      codes(evaluateHealthRules(history(60, repeat(30, fields)), null, 100_000, options));
    assert.deepEqual(judge({ heapUsedBytes: 3800 * MiB }), ['MEMORY_HIGH']);
    assert.deepEqual(judge({ heapUsedBytes: 3600 * MiB }), []);
    assert.deepEqual(judge({ rssBytes: 3000 * MiB }), [], 'no RSS limit by default');
    assert.deepEqual(judge({ rssBytes: 3000 * MiB }, { rssLimitBytes: 2048 * MiB }), ['MEMORY_HIGH']);
    const message = evaluateHealthRules(history(60, repeat(30, { heapUsedBytes: 3800 * MiB })), null, 100_000)
      .reasons[0]!.message;
    assert.match(message, /heap latest 92\.8 % of the heap limit/);
  });

  test('DISK_FULL (degraded) and DISK_HIGH (warning) trigger on the latest sample; recovery is sustained', () => {
    const full = evaluateHealthRules(history(60, [{ diskUsedPercent: 95 }]), null, 100_000);
    assert.equal(full.status, 'degraded');
    assert.deepEqual(codes(full), ['DISK_FULL', 'DISK_HIGH']);
    assert.equal(full.reasons[0]!.message, 'data disk latest 95 % used (limit 90 %)');
    assert.equal(full.reasons[1]!.severity, 'warning');

    const high = evaluateHealthRules(history(60, [{ diskUsedPercent: 85 }]), null, 100_000);
    assert.equal(high.status, 'healthy', 'a warning alone keeps the node healthy');
    assert.deepEqual(codes(high), ['DISK_HIGH']);

    // Compaction freed space: 85 % for 10 s keeps DISK_FULL (no flapping), 30 s clears it; DISK_HIGH stays.
    const freed = (seconds: number) =>
      history(60, [...repeat(10, { diskUsedPercent: 95 }), ...repeat(seconds, { diskUsedPercent: 85 })]);
    assert.deepEqual(codes(evaluateHealthRules(freed(10), full, 100_000)), ['DISK_FULL', 'DISK_HIGH']);
    assert.deepEqual(codes(evaluateHealthRules(freed(30), full, 100_000)), ['DISK_HIGH']);
    assert.deepEqual(codes(evaluateHealthRules(history(60, [{ diskUsedPercent: null }]), null, 100_000)), []);
  });

  test('several reasons are listed together, in a fixed order', () => {
    const h = history(
      60,
      repeat(30, { diskUsedPercent: 97, fsyncP99Ms: 120, eventLoopLagP99Ms: 900, cpuSystemPercent: 99 }),
    );
    assert.deepEqual(codes(evaluateHealthRules(h, null, 100_000)), [
      'DISK_FULL',
      'DISK_HIGH',
      'SLOW_FSYNC',
      'EVENT_LOOP_LAG',
      'CPU_SATURATED',
    ]);
  });

  test('property: SLOW_FSYNC is raised only if no sample of the last 30 s was within the threshold', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer({ min: 0, max: 200 }), { nil: null }), { maxLength: 80 }), (values) => {
        const h = history(
          values.length,
          values.map((fsyncP99Ms) => ({ fsyncP99Ms })),
        );
        const condition = evaluateHealthRules(h, null, 100_000);
        if (codes(condition).includes('SLOW_FSYNC')) {
          const recent = h.filter((s) => s.atMs > 100_000 - 30_000);
          assert.ok(recent.every((s) => s.fsyncP99Ms === null || s.fsyncP99Ms > 50));
          assert.ok(recent.filter((s) => s.fsyncP99Ms !== null).length >= 5);
        }
        // And recovery is symmetric: an active rule stays unless the last 30 s were all within.
        const after = evaluateHealthRules(h, activeOnly('SLOW_FSYNC'), 100_000);
        if (!codes(after).includes('SLOW_FSYNC')) {
          const recent = h.filter((s) => s.atMs > 100_000 - 30_000);
          assert.ok(recent.every((s) => s.fsyncP99Ms === null || s.fsyncP99Ms <= 50));
        }
      }),
    );
  });

  test('bad options throw INVALID_OPTION', () => {
    for (const options of [{ diskFullPercent: 101 }, { sustainMs: -1 }, { minSamples: 0 }, { rssLimitBytes: 0.5 }]) {
      assert.throws(
        () => evaluateHealthRules([], null, 0, options),
        (error: unknown) => error instanceof HealthError && error.code === 'INVALID_OPTION',
      );
    }
  });
});
