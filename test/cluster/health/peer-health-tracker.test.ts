import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { HealthError } from '../../../src/cluster/health/errors.js';
import type { HealthCondition } from '../../../src/cluster/health/health-rules.js';
import type { PeerHealthTrackerOptions } from '../../../src/cluster/health/options.js';
import {
  type HealthEvaluation,
  type HealthTransition,
  PeerHealthTracker,
} from '../../../src/cluster/health/peer-health-tracker.js';
import type { NodeVitals } from '../../../src/cluster/health/vitals.js';
import { FakeClock } from './helpers.js';

const TICK_MS = 100;

/** A node's view: peers beat every second (those in `beating`), the tracker is evaluated every 100 ms. */
class Harness {
  readonly clock = new FakeClock(0);
  readonly tracker: PeerHealthTracker;
  readonly transitions: HealthTransition[] = [];
  readonly beating = new Set<string>();
  last: HealthEvaluation | null = null;

  constructor(options: PeerHealthTrackerOptions = {}, localStallMs?: () => number) {
    this.tracker = new PeerHealthTracker(options, { clock: this.clock, localStallMs });
  }

  run(ms: number): void {
    const end = this.clock.nowMs + ms;
    while (this.clock.nowMs < end) {
      this.clock.advance(TICK_MS);
      if (this.clock.nowMs % 1000 === 0) for (const peer of this.beating) this.tracker.heartbeat(peer);
      this.evaluate();
    }
  }

  evaluate(): HealthEvaluation {
    this.last = this.tracker.evaluate();
    this.transitions.push(...this.last.transitions);
    return this.last;
  }

  state(peer: string) {
    return this.evaluate().peers.find((p) => p.peer === peer)?.state;
  }

  transitionsOf(peer: string): string[] {
    return this.transitions.filter((t) => t.peer === peer).map((t) => `${t.from}->${t.to}@${t.atMs}`);
  }
}

describe('PeerHealthTracker', () => {
  test('alive → suspect → dead → alive, with the times of each transition', () => {
    const h = new Harness({ timeUntilDeadMs: 10_000 });
    h.beating.add('n2').add('n3');
    h.run(30_000);
    assert.equal(h.transitions.length, 0, 'regular heartbeats: no transition');

    h.beating.delete('n2'); // n2's last heartbeat arrived at 30 000
    h.run(20_000);
    // Suspect at the first 100 ms tick past ~2.56 s of silence; dead 10 s later; n3 untouched.
    assert.deepEqual(h.transitionsOf('n2'), ['alive->suspect@32600', 'suspect->dead@42600']);
    assert.deepEqual(h.transitionsOf('n3'), []);
    const suspect = h.transitions[0]!;
    assert.ok(suspect.phi > 8 && suspect.phi < 12, `phi at suspicion ${suspect.phi}`);
    const n2 = h.last!.peers.find((p) => p.peer === 'n2')!;
    assert.equal(n2.state, 'dead');
    assert.equal(n2.since, 42_600);
    assert.equal(n2.lastHeartbeatMsAgo, 20_000);

    h.beating.add('n2'); // heartbeats resume at 51 000, 52 000, 53 000
    h.run(2000);
    assert.equal(h.state('n2'), 'dead', 'two heartbeats are not yet a recovery');
    h.run(1000);
    assert.deepEqual(h.transitionsOf('n2').at(-1), 'dead->alive@53000');
  });

  test('evaluations report phi, lastHeartbeatMsAgo, since, and the peer’s latest vitals, condition and incarnation', () => {
    const clock = new FakeClock(5000);
    const tracker = new PeerHealthTracker({}, { clock });
    const vitals = { atMs: 1, cpuCores: 2 } as unknown as NodeVitals;
    const condition: HealthCondition = { status: 'healthy', reasons: [] };
    assert.equal(tracker.heartbeat('n2', { vitals, condition, incarnation: 7, sequence: 0 }), 'accepted');
    clock.advance(400);
    const n2 = tracker.evaluate().peers[0]!;
    assert.deepEqual(n2, {
      peer: 'n2',
      state: 'alive',
      phi: n2.phi,
      lastHeartbeatMsAgo: 400,
      since: 5000,
      vitals,
      condition,
      incarnation: 7,
    });
    assert.ok(n2.phi < 1);
  });

  test('recovery needs recoveryHeartbeats in a row: a peer that gets one heartbeat through every 3 s stays suspect and dies', () => {
    const h = new Harness({ timeUntilDeadMs: 20_000 });
    h.beating.add('n2');
    h.run(20_000);
    h.beating.clear();
    for (let i = 0; i < 10; i++) {
      h.run(3000);
      h.tracker.heartbeat('n2');
    }
    h.run(100);
    assert.deepEqual(h.transitionsOf('n2'), ['alive->suspect@22600', 'suspect->dead@42600']);
  });

  test('a short hiccup that never crossed the threshold changes nothing', () => {
    const h = new Harness();
    h.beating.add('n2');
    h.run(20_000);
    h.beating.clear();
    h.run(1000); // no heartbeat at 21 000: 2 s of silence, phi still low thanks to the 1 s acceptable pause
    h.beating.add('n2');
    h.run(10_000);
    assert.deepEqual(h.transitions, []);
  });

  test('a peer added but never heard from becomes suspect, then dead', () => {
    const h = new Harness({ timeUntilDeadMs: 5000 });
    h.tracker.addPeer('n4');
    h.run(10_000);
    // Bootstrap prior (mean 1 s, std 250 ms, pause 1 s): suspect after ~3.4 s.
    assert.deepEqual(h.transitionsOf('n4'), ['alive->suspect@3500', 'suspect->dead@8500']);
    assert.equal(h.last!.peers[0]!.lastHeartbeatMsAgo, null);
  });

  test('local pause: no suspect or dead verdicts during the grace period, and dead clocks restart', () => {
    const h = new Harness({ timeUntilDeadMs: 10_000, localPauseThresholdMs: 1000, localPauseGraceMs: 5000 });
    h.beating.add('n2').add('n3').add('n4');
    h.run(10_000);
    h.beating.delete('n4'); // n4 really died at 10 000: suspect at 12 600
    h.run(5000);
    assert.deepEqual(h.transitionsOf('n4'), ['alive->suspect@12600']);

    // The local process stalls 4 s (15 000 → 19 000): every peer looks silent. Then the node measures the stall.
    h.clock.advance(4000);
    h.tracker.noteLocalStall(4000);
    const during = h.evaluate();
    assert.deepEqual(during.transitions, [], 'a paused node accuses no one');
    assert.equal(during.verdictsSuppressedUntilMs, 24_000);
    assert.ok(during.peers.find((p) => p.peer === 'n2')!.phi > 8, 'phi itself is honest');

    h.run(4900); // heartbeats from n2, n3 resume; n4 stays silent but may not die during the grace
    assert.deepEqual(h.transitionsOf('n2'), []);
    assert.deepEqual(h.transitionsOf('n4'), ['alive->suspect@12600']);
    h.run(11_000);
    // n4 had been suspect for 10 s at 22 600, but the pause restarted its dead clock at 19 000.
    assert.deepEqual(h.transitionsOf('n4'), ['alive->suspect@12600', 'suspect->dead@29000']);
    assert.deepEqual(h.transitionsOf('n2'), []);
    assert.deepEqual(h.transitionsOf('n3'), []);
    assert.equal(h.last!.verdictsSuppressedUntilMs, null);
  });

  test('without the pause rule, the same stall makes the node accuse everyone', () => {
    const h = new Harness({ localPauseThresholdMs: 1_000_000 });
    h.beating.add('n2').add('n3');
    h.run(10_000);
    h.clock.advance(4000);
    h.tracker.noteLocalStall(4000);
    assert.deepEqual(
      h.evaluate().transitions.map((t) => `${t.peer}:${t.to}`),
      ['n2:suspect', 'n3:suspect'],
    );
  });

  test('stalls are also polled from the localStallMs component; stalls under the threshold are ignored', () => {
    let stallMs = 0;
    const h = new Harness({ localPauseThresholdMs: 1000, localPauseGraceMs: 3000 }, () => stallMs);
    h.beating.add('n2');
    h.run(10_000);
    stallMs = 900;
    assert.equal(h.evaluate().verdictsSuppressedUntilMs, null);
    stallMs = 1500;
    assert.equal(h.evaluate().verdictsSuppressedUntilMs, 13_000);
    stallMs = 0;
    h.beating.clear();
    h.run(2900);
    assert.deepEqual(h.transitions, [], 'n2 silent, but still inside the grace period');
    h.run(200);
    assert.deepEqual(h.transitionsOf('n2'), ['alive->suspect@13000']);
  });

  test('duplicates and stale incarnations are ignored; a new incarnation restarts the sequence', () => {
    const clock = new FakeClock();
    const tracker = new PeerHealthTracker({}, { clock });
    assert.equal(tracker.heartbeat('n2', { incarnation: 100, sequence: 5 }), 'accepted');
    assert.equal(tracker.heartbeat('n2', { incarnation: 100, sequence: 5 }), 'duplicate');
    assert.equal(tracker.heartbeat('n2', { incarnation: 100, sequence: 4 }), 'duplicate');
    assert.equal(tracker.heartbeat('n2', { incarnation: 100, sequence: 6 }), 'accepted');
    assert.equal(tracker.heartbeat('n2', { incarnation: 99, sequence: 7 }), 'stale');
    assert.equal(tracker.heartbeat('n2', { incarnation: 200, sequence: 0 }), 'accepted');
    assert.equal(tracker.heartbeat('n2', { incarnation: 200, sequence: 0 }), 'duplicate');
    assert.equal(tracker.heartbeat('n2'), 'accepted', 'a bare heartbeat is always accepted');
    assert.equal(tracker.evaluate().peers[0]!.incarnation, 200);
  });

  test('peers: add, set, remove, and at most maxPeers', () => {
    const clock = new FakeClock();
    const tracker = new PeerHealthTracker({ maxPeers: 3 }, { clock });
    tracker.setPeers(['n3', 'n2']);
    assert.deepEqual(tracker.peers(), ['n2', 'n3']);
    assert.equal(tracker.heartbeat('n4'), 'accepted');
    assert.equal(tracker.heartbeat('n5'), 'peer-limit');
    assert.equal(tracker.addPeer('n5'), false);
    tracker.removePeer('n3');
    assert.equal(tracker.addPeer('n5'), true);
    tracker.setPeers(['n2', 'n6']);
    assert.deepEqual(tracker.peers(), ['n2', 'n6']);
    assert.deepEqual(
      tracker.evaluate().peers.map((p) => p.peer),
      ['n2', 'n6'],
    );
  });

  test('bad options throw INVALID_OPTION', () => {
    const clock = new FakeClock();
    for (const options of [
      { phiThreshold: 0 },
      { timeUntilDeadMs: -1 },
      { recoveryHeartbeats: 0 },
      { localPauseThresholdMs: 0 },
      { maxPeers: 0 },
      { detector: { windowSize: 0 } },
    ] as PeerHealthTrackerOptions[]) {
      assert.throws(
        () => new PeerHealthTracker(options, { clock }),
        (error: unknown) => error instanceof HealthError && error.code === 'INVALID_OPTION',
        JSON.stringify(options),
      );
    }
  });
});
