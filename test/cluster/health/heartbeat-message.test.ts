import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import {
  createHealthHeartbeat,
  type HealthHeartbeat,
  isHealthHeartbeatMessage,
  parseHealthHeartbeat,
} from '../../../src/cluster/health/heartbeat-message.js';
import type { NodeVitals } from '../../../src/cluster/health/vitals.js';
import { VITALS_FIELDS } from '../../../src/cluster/health/vitals.js';

const vitals: NodeVitals = {
  atMs: 123_456.789,
  windowMs: 1000.2,
  cpuProcessPercent: 37.5,
  cpuSystemPercent: 41.25,
  cpuCores: 2,
  eventLoopLagP99Ms: 1.3,
  eventLoopLagMaxMs: 12.6,
  rssBytes: 180_000_000,
  heapUsedBytes: 60_000_000,
  heapLimitBytes: 4_345_298_944,
  diskUsedPercent: 61.2,
  diskFreeBytes: 40_000_000_000,
  diskTotalBytes: 100_000_000_000,
  fsyncP99Ms: null,
  fsyncCount: 0,
  requestsPerSec: 250,
  requestP99Ms: 4.2,
  requestErrorPercent: 0,
};

const valid: HealthHeartbeat = createHealthHeartbeat({
  node: 'n1',
  incarnation: 1_700_000_000_000,
  sequence: 42,
  sentAtMs: 123_456.9,
  vitals,
  condition: {
    status: 'degraded',
    reasons: [{ code: 'SLOW_FSYNC', severity: 'degraded', message: 'fsync p99 above 50 ms for 30 s (latest 80 ms)' }],
  },
});

/** Same settings as the peer transport (plain msgpack maps). */
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true });

function rejectReason(value: unknown): string {
  const result = parseHealthHeartbeat(value);
  assert.equal(result.ok, false, 'expected a rejection');
  if (result.ok) throw new Error('unreachable');
  assert.equal(result.code, 'MALFORMED_HEARTBEAT');
  return result.reason;
}

describe('health heartbeat message', () => {
  test('a heartbeat survives the transport encoding and parses back to itself', () => {
    const received = unpackr.unpack(packr.pack(valid));
    assert.equal(isHealthHeartbeatMessage(received), true);
    const result = parseHealthHeartbeat(received);
    assert.deepEqual(result, { ok: true, heartbeat: valid });
    const bytes = packr.pack(valid).length;
    assert.ok(bytes < 800, `${bytes} bytes on the wire`);
  });

  test('null vitals and condition (a node that just started) are valid', () => {
    const result = parseHealthHeartbeat({ ...valid, vitals: null, condition: null });
    assert.equal(result.ok, true);
  });

  test('unknown fields are dropped, unknown reason codes kept, later versions accepted', () => {
    const result = parseHealthHeartbeat({
      ...valid,
      version: 2,
      extra: 'x',
      vitals: { ...vitals, gpuPercent: 3 },
      condition: { status: 'healthy', reasons: [{ code: 'NEW_RULE_7', severity: 'warning', message: 'm' }] },
    });
    assert.ok(result.ok);
    assert.equal('extra' in result.heartbeat, false);
    assert.equal('gpuPercent' in result.heartbeat.vitals!, false);
    assert.equal(result.heartbeat.version, 2);
    assert.equal(result.heartbeat.condition!.reasons[0]!.code, 'NEW_RULE_7');
  });

  test('malformed heartbeats are rejected with a reason naming the field', () => {
    assert.match(rejectReason(null), /^heartbeat: expected an object/);
    assert.match(rejectReason([1, 2]), /^heartbeat: expected an object/);
    assert.match(rejectReason({ ...valid, type: 'raft' }), /^type:/);
    assert.match(rejectReason({ ...valid, version: 0 }), /^version:/);
    assert.match(rejectReason({ ...valid, node: '' }), /^node:/);
    assert.match(rejectReason({ ...valid, node: 'x'.repeat(256) }), /^node:/);
    assert.match(rejectReason({ ...valid, incarnation: -1 }), /^incarnation:/);
    assert.match(rejectReason({ ...valid, sequence: 1.5 }), /^sequence:/);
    assert.match(rejectReason({ ...valid, sequence: 2 ** 60 }), /^sequence:/);
    assert.match(rejectReason({ ...valid, sentAtMs: Number.POSITIVE_INFINITY }), /^sentAtMs:/);
    assert.match(rejectReason({ ...valid, vitals: 'fine' }), /^vitals: expected an object/);
    assert.match(rejectReason({ ...valid, vitals: { ...vitals, diskUsedPercent: 140 } }), /^vitals\.diskUsedPercent:/);
    assert.match(rejectReason({ ...valid, vitals: { ...vitals, rssBytes: null } }), /^vitals\.rssBytes:/);
    assert.match(rejectReason({ ...valid, vitals: { ...vitals, cpuCores: Number.NaN } }), /^vitals\.cpuCores:/);
    const { windowMs: _dropped, ...missingField } = vitals;
    assert.match(rejectReason({ ...valid, vitals: missingField }), /^vitals\.windowMs:/);
    assert.match(rejectReason({ ...valid, condition: { status: 'sick', reasons: [] } }), /^condition\.status:/);
    assert.match(rejectReason({ ...valid, condition: { status: 'healthy' } }), /^condition\.reasons:/);
    const reason = { code: 'X', severity: 'warning', message: '' };
    assert.match(
      rejectReason({ ...valid, condition: { status: 'healthy', reasons: Array(17).fill(reason) } }),
      /more than 16/,
    );
    assert.match(
      rejectReason({ ...valid, condition: { status: 'healthy', reasons: [{ ...reason, code: 'lower' }] } }),
      /^condition\.reasons\[0\]\.code:/,
    );
    assert.match(
      rejectReason({ ...valid, condition: { status: 'healthy', reasons: [{ ...reason, message: 'm'.repeat(513) }] } }),
      /^condition\.reasons\[0\]\.message:/,
    );
    assert.match(
      rejectReason({ ...valid, condition: { status: 'healthy', reasons: [{ ...reason, severity: 'fatal' }] } }),
      /severity/,
    );
  });

  test('inherited properties are not read (a prototype carrying the fields is not a heartbeat)', () => {
    assert.match(rejectReason(Object.create(valid)), /^type:/);
  });

  test('hostile getters are rejected, not thrown', () => {
    const hostile = {
      ...valid,
      get sequence(): number {
        throw new Error('boom');
      },
    };
    assert.equal(rejectReason(hostile), 'heartbeat: could not be read');
  });

  test('property: parsing arbitrary values never throws', () => {
    fc.assert(
      fc.property(fc.anything({ withBigInt: true, withMap: true, withSet: true, withTypedArray: true }), (value) => {
        const result = parseHealthHeartbeat(value);
        assert.equal(typeof result.ok, 'boolean');
      }),
      { numRuns: 2000 },
    );
  });

  test('property: a valid heartbeat with one field replaced by garbage never throws, and what parses re-parses', () => {
    const topFields = ['type', 'version', 'node', 'incarnation', 'sequence', 'sentAtMs', 'vitals', 'condition'];
    const vitalsFields = VITALS_FIELDS.map((field) => field.name as string);
    fc.assert(
      fc.property(
        fc.constantFrom(...topFields.map((f) => [f]), ...vitalsFields.map((f) => ['vitals', f])),
        fc.anything({ withBigInt: true }),
        (path, garbage) => {
          const copy = structuredClone(valid) as unknown as Record<string, Record<string, unknown>>;
          if (path.length === 1) (copy as Record<string, unknown>)[path[0]!] = garbage;
          else copy[path[0]!]![path[1]!] = garbage;
          const result = parseHealthHeartbeat(copy);
          if (result.ok) assert.deepEqual(parseHealthHeartbeat(result.heartbeat), result);
          else assert.ok(result.reason.length > 0);
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('property: random msgpack bytes decoded by the transport never make the parser throw', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
        let decoded: unknown;
        try {
          decoded = unpackr.unpack(bytes);
        } catch {
          return; // the transport drops undecodable frames before they reach us
        }
        parseHealthHeartbeat(decoded);
      }),
      { numRuns: 2000 },
    );
  });
});
