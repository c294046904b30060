import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BalancerError } from '../../src/balancer/errors.js';
import { HostTracker } from '../../src/balancer/host-tracker.js';
import { FakeClock, hosts } from './helpers.js';

function tracker(clock = new FakeClock()) {
  const t = new HostTracker(clock.now, { failurePenaltyMs: 1000 });
  t.setHosts(hosts(3));
  return { t, clock };
}

test('begin/end counts requests in flight, totals, failures and consecutive failures', () => {
  const { t, clock } = tracker();
  const h0 = t.get('h0')!;
  const a = t.begin('h0');
  const b = t.begin(h0.host);
  assert.equal(h0.pending, 2);
  clock.advance(30);
  t.end(a, { ok: true });
  assert.equal(h0.pending, 1);
  assert.equal(h0.latency.valueAt(clock.nowMs), 30, 'latency defaults to now − begin');
  t.end(b, { ok: false, latencyMs: 2 });
  t.end(t.begin('h0'), { ok: false, latencyMs: 2 });
  assert.deepEqual([h0.pending, h0.requests, h0.failures, h0.consecutiveFailures], [0, 3, 2, 2]);
  t.end(t.begin('h0'), { ok: true, latencyMs: 1 });
  assert.equal(h0.consecutiveFailures, 0);
});

test('a failure feeds the latency estimate at least the failure penalty', () => {
  const { t, clock } = tracker();
  t.end(t.begin('h1'), { ok: false, latencyMs: 1 });
  assert.equal(t.get('h1')!.latency.valueAt(clock.nowMs), 1000);
});

test('ending a handle twice, or abandoning it, never double-counts', () => {
  const { t } = tracker();
  const h = t.begin('h2');
  t.end(h, { ok: true, latencyMs: 5 });
  assert.equal(t.end(h, { ok: false, latencyMs: 5 }), null);
  t.abandon(h);
  const rec = t.get('h2')!;
  assert.deepEqual([rec.pending, rec.failures], [0, 0]);
  const g = t.begin('h2');
  t.abandon(g);
  assert.equal(rec.pending, 0);
  assert.equal(rec.latency.hasSamples, true);
  assert.equal(rec.failures, 0, 'abandon blames nobody');
});

test('bad outcomes are clear errors; unknown hosts give a no-op handle', () => {
  const { t } = tracker();
  const h = t.begin('h0');
  assert.throws(
    () => t.end(h, { ok: true, latencyMs: -1 }),
    (e: unknown) => (e as BalancerError).code === 'INVALID_ARGUMENT',
  );
  assert.throws(() => t.end(h, { ok: true, latencyMs: Number.NaN }), BalancerError);
  assert.throws(() => t.end(h, {} as never), BalancerError);
  assert.equal(t.get('h0')!.pending, 1, 'a rejected end() changes nothing');
  const ghost = t.begin('nope');
  assert.equal(ghost.record, null);
  assert.equal(t.end(ghost, { ok: false }), null);
});

test('setHosts keeps the statistics of hosts that stay, resets a host whose address changed', () => {
  const { t } = tracker();
  t.end(t.begin('h0'), { ok: false, latencyMs: 1 });
  t.end(t.begin('h1'), { ok: false, latencyMs: 1 });
  const open = t.begin('h2');
  const version = t.version;
  const { added, removed } = t.setHosts([
    { id: 'h0', address: '10.0.0.0:7201', zone: 'z' },
    { id: 'h1', address: '10.9.9.9:7201' },
    { id: 'h3', address: '10.0.0.3:7201' },
  ]);
  assert.ok(t.version > version);
  assert.deepEqual(added.map((r) => r.id).sort(), ['h1', 'h3']);
  assert.deepEqual(removed.map((r) => r.id).sort(), ['h1', 'h2']);
  assert.equal(t.get('h0')!.failures, 1);
  assert.equal(t.get('h0')!.host.zone, 'z');
  assert.equal(t.get('h1')!.failures, 0);
  assert.equal(t.end(open, { ok: false }), null, 'a request on a departed host changes nothing');
});

test('host lists are validated: duplicates, bad weights, missing ids, too many', () => {
  const { t } = tracker();
  const bad: unknown[] = [
    [
      { id: 'a', address: 'x' },
      { id: 'a', address: 'y' },
    ],
    [{ id: 'a', address: 'x', weight: 0 }],
    [{ id: 'a', address: 'x', weight: 1.5 }],
    [{ id: '', address: 'x' }],
    [{ id: 'a' }],
    [{ id: 'a', address: 'x', zone: 7 }],
    'not an array',
    hosts(1001),
  ];
  for (const list of bad) {
    assert.throws(
      () => t.setHosts(list as never),
      (e: unknown) => (e as BalancerError).code === 'INVALID_ARGUMENT',
    );
  }
  assert.equal(t.size, 3, 'a rejected list leaves the membership alone');
});
