import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Progress } from '../../src/raft/progress.js';
import { TestNetwork } from './network.js';

/** A 3-node network led by `a`, with the commit-announcement timer off (the tests play it). */
function quietNetwork(): TestNetwork {
  const net = new TestNetwork(['a', 'b', 'c']);
  net.campaign('a');
  net.autoAnnounceCommits = false;
  net.clearSent();
  return net;
}

describe('commit announcements (a new commit index travels with the next append)', () => {
  test('a commit sends no message of its own: followers learn it later', () => {
    const net = quietNetwork();
    const index = net.propose('a', 'x')!;
    assert.equal(net.raft('a').log.committed, index);
    assert.deepEqual(net.appliedTexts('a'), ['x']);
    // The appends carrying x, then the acknowledgements — and no empty append only for the commit index.
    const apps = net.sent.filter((m) => m.type === 'app');
    assert.equal(apps.length, 2);
    assert.ok(apps.every((m) => m.entries.length === 1));
    for (const id of ['b', 'c']) {
      assert.ok(net.raft(id).log.committed < index, `${id} was not told yet`);
      assert.deepEqual(net.appliedTexts(id), []);
    }
    assert.equal(net.engine('a').hasUnannouncedCommit(), true);
    assert.equal(net.engine('b').hasUnannouncedCommit(), false, 'only a leader announces');
  });

  test('announceCommit tells each follower with one empty append, and then nothing is left to announce', () => {
    const net = quietNetwork();
    const index = net.propose('a', 'x')!;
    net.clearSent();
    net.engine('a').announceCommit();
    net.stabilize();
    const apps = net.sent.filter((m) => m.type === 'app');
    assert.deepEqual(apps.map((m) => [m.to, m.entries.length, m.commit]).sort(), [
      ['b', 0, index],
      ['c', 0, index],
    ]);
    for (const id of ['b', 'c']) assert.deepEqual(net.appliedTexts(id), ['x']);
    assert.equal(net.engine('a').hasUnannouncedCommit(), false);
  });

  test('the next append carries the commit index: no announcement needed', () => {
    const net = quietNetwork();
    const first = net.propose('a', 'x')!;
    net.clearSent();
    const e = net.engine('a');
    e.propose(new TextEncoder().encode('y'));
    const rd = e.ready();
    const apps = rd.sendNow.filter((m) => m.type === 'app');
    assert.equal(apps.length, 2);
    assert.ok(apps.every((m) => m.commit === first && m.entries.length === 1));
    assert.equal(e.hasUnannouncedCommit(), false, 'both followers were told with the new entry');
    net.storages.get('a')!.persistReady(rd);
    e.advance(rd);
    for (const m of rd.sendNow) net.engine(m.to).step(m);
    net.stabilize();
    for (const id of ['b', 'c']) assert.deepEqual(net.appliedTexts(id), ['x'], 'x applied; y waits for its commit');
    assert.equal(e.hasUnannouncedCommit(), true, 'y committed since');
  });

  test('a heartbeat carries the commit index too', () => {
    const net = quietNetwork();
    const index = net.propose('a', 'x')!;
    const a = net.raft('a');
    for (let i = 0; i < a.opts.heartbeatTicks; i++) net.engine('a').tick();
    net.stabilize();
    for (const id of ['b', 'c']) {
      assert.equal(net.raft(id).log.committed, index);
      assert.deepEqual(net.appliedTexts(id), ['x']);
    }
    assert.equal(net.engine('a').hasUnannouncedCommit(), false);
  });

  test('a follower that cannot be sent to now (paused) is not waited for; a lagging one learns with its entries', () => {
    const pr = new Progress(11, false, 4, 1 << 20);
    pr.maybeUpdate(10);
    assert.equal(pr.awaitsCommit(10), true);
    pr.sentCommit(10);
    assert.equal(pr.awaitsCommit(10), false);
    assert.equal(pr.awaitsCommit(12), false, 'entries past its match reach it with their own append');
    pr.maybeUpdate(12);
    assert.equal(pr.awaitsCommit(12), true);
    pr.becomeProbe();
    pr.sentEntries(0, 0, 12); // the probe is out: paused until it is answered
    assert.equal(pr.isPaused(), true);
    assert.equal(pr.awaitsCommit(12), false);
  });

  test('with the timer on, a quiet network still applies everything everywhere', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (const v of ['x', 'y', 'z']) net.propose('a', v);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedTexts(id), ['x', 'y', 'z']);
    assert.equal(net.engine('a').hasUnannouncedCommit(), false);
  });
});
