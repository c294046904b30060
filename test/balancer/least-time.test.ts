import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostTracker, type RequestHandle } from '../../src/balancer/host-tracker.js';
import { LeastTimePicker } from '../../src/balancer/pickers/least-time.js';
import { SeededRandom } from '../../src/util/random.js';
import { FakeClock, hosts, tally } from './helpers.js';

interface Behaviour {
  latencyMs: number;
  ok: boolean;
}

/**
 * A discrete-event run: a request arrives every `gapMs`, goes to the picked host, and completes after that
 * host's latency (±20 % jitter). Returns how many requests each host got.
 */
function simulate(opts: {
  n: number;
  behaviour: (id: string) => Behaviour;
  requests: number;
  gapMs: number;
  seed: number;
  failurePenaltyMs?: number;
}): Map<string, number> {
  const clock = new FakeClock();
  const tracker = new HostTracker(clock.now, { failurePenaltyMs: opts.failurePenaltyMs ?? 1000 });
  tracker.setHosts(hosts(opts.n));
  const random = new SeededRandom(opts.seed);
  const picker = new LeastTimePicker({ random: random.fork(), now: clock.now });
  const inFlight: Array<{ atMs: number; handle: RequestHandle; ok: boolean }> = [];
  const picks: string[] = [];
  for (let i = 0; i < opts.requests; i++) {
    const arrival = clock.nowMs + opts.gapMs;
    inFlight.sort((a, b) => a.atMs - b.atMs);
    while (inFlight.length > 0 && inFlight[0]!.atMs <= arrival) {
      const done = inFlight.shift()!;
      clock.nowMs = done.atMs;
      tracker.end(done.handle, { ok: done.ok });
    }
    clock.nowMs = arrival;
    const host = picker.pick({}, tracker.records())!;
    picks.push(host.id);
    const b = opts.behaviour(host.id);
    const latency = b.latencyMs * (0.8 + 0.4 * random.next());
    inFlight.push({ atMs: clock.nowMs + latency, handle: tracker.begin(host), ok: b.ok });
  }
  return tally(picks);
}

const share = (counts: Map<string, number>, id: string, total: number) => (counts.get(id) ?? 0) / total;

test('a host 5× slower than its peers gets far less traffic: under 5 % (its fair share is 25 %)', () => {
  for (const gapMs of [2, 5, 20]) {
    for (const seed of [1, 2, 3]) {
      const requests = 6000;
      const counts = simulate({
        n: 4,
        requests,
        gapMs,
        seed,
        behaviour: (id) => ({ latencyMs: id === 'h3' ? 50 : 10, ok: true }),
      });
      const slow = share(counts, 'h3', requests);
      assert.ok(slow < 0.05, `gap ${gapMs} ms, seed ${seed}: slow host got ${(slow * 100).toFixed(1)} %`);
      assert.ok(slow > 0, 'the slow host is still probed now and then');
    }
  }
});

test('a host that fails fast does not attract traffic (under 5 %), while without the penalty it would', () => {
  const requests = 6000;
  const behaviour = (id: string) => (id === 'h3' ? { latencyMs: 0.5, ok: false } : { latencyMs: 10, ok: true });
  const penalized = simulate({ n: 4, requests, gapMs: 5, seed: 7, behaviour });
  const erroring = share(penalized, 'h3', requests);
  assert.ok(erroring < 0.05, `fast-failing host got ${(erroring * 100).toFixed(1)} %`);
  // Control: with a negligible penalty the fast failures look like fast answers and win most comparisons.
  const unpenalized = simulate({ n: 4, requests, gapMs: 5, seed: 7, behaviour, failurePenaltyMs: 0.01 });
  assert.ok(share(unpenalized, 'h3', requests) > 0.4, 'control run: the penalty is what keeps traffic away');
});

test('queueing counts: cost = latency × (pending + 1) steers away from a busy host of equal latency', () => {
  const clock = new FakeClock();
  const tracker = new HostTracker(clock.now);
  tracker.setHosts(hosts(2));
  for (const id of ['h0', 'h1']) tracker.end(tracker.begin(id), { ok: true, latencyMs: 10 });
  for (let i = 0; i < 3; i++) tracker.begin('h0');
  const picker = new LeastTimePicker({ random: new SeededRandom(1), now: clock.now });
  for (let i = 0; i < 20; i++) assert.equal(picker.pick({}, tracker.records())!.id, 'h1');
});

test('a host without samples is priced like the average host: not flooded while its first answers are out', () => {
  const clock = new FakeClock();
  const tracker = new HostTracker(clock.now);
  tracker.setHosts(hosts(3));
  for (const id of ['h0', 'h1', 'h2']) tracker.end(tracker.begin(id), { ok: true, latencyMs: 10 });
  tracker.setHosts(hosts(4));
  const picker = new LeastTimePicker({ random: new SeededRandom(5), now: clock.now });
  const picks: string[] = [];
  for (let i = 0; i < 400; i++) {
    const host = picker.pick({}, tracker.records())!;
    tracker.begin(host); // nothing completes: only the in-flight counts move
    picks.push(host.id);
  }
  const fresh = tally(picks).get('h3') ?? 0;
  assert.ok(fresh >= 70 && fresh <= 130, `new host got ${fresh} of 400 (fair: 100; priced as free it would get ~200)`);
});

test('p2c uses both choices, skips excluded hosts, handles 0 and 1 candidates', () => {
  const clock = new FakeClock();
  const tracker = new HostTracker(clock.now);
  tracker.setHosts(hosts(3));
  const picker = new LeastTimePicker({ random: new SeededRandom(9), now: clock.now });
  assert.equal(picker.pick({}, []), null);
  assert.equal(picker.pick({}, tracker.records().slice(0, 1))!.id, 'h0');
  for (let i = 0; i < 20; i++) assert.equal(picker.pick({}, tracker.records(), new Set(['h0', 'h2']))!.id, 'h1');
  assert.equal(picker.pick({}, tracker.records(), new Set(['h0', 'h1', 'h2'])), null);
});
