import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { PaxosNetwork } from './network.js';

describe('Multi-Paxos commit announcements (the next accept carries the commit index)', () => {
  test('a chosen value sends no message of its own; announceCommit or the next accept tells the acceptors', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.autoAnnounceCommits = false;
    net.clearSent();
    net.propose('a', 'x');
    const committed = net.paxos('a').log.committed;
    assert.deepEqual(net.appliedTexts('a'), ['x']);
    const accepts = net.sent.filter((m) => m.type === 'accept');
    assert.equal(accepts.length, 2, 'one accept per acceptor, carrying x; none only for the commit index');
    for (const id of ['b', 'c']) assert.deepEqual(net.appliedTexts(id), []);
    assert.equal(net.engine('a').hasUnannouncedCommit(), true);

    // The next value's accepts carry the commit index of x.
    net.propose('a', 'y');
    for (const id of ['b', 'c']) assert.deepEqual(net.appliedTexts(id), ['x']);
    assert.ok(net.paxos('a').log.committed > committed);

    // The announcement tells them y.
    net.clearSent();
    net.engine('a').announceCommit();
    net.stabilize();
    const empty = net.sent.filter((m) => m.type === 'accept');
    assert.deepEqual(empty.map((m) => [m.to, m.entries.length]).sort(), [
      ['b', 0],
      ['c', 0],
    ]);
    for (const id of ['b', 'c']) assert.deepEqual(net.appliedTexts(id), ['x', 'y']);
    assert.equal(net.engine('a').hasUnannouncedCommit(), false);
  });

  test('with the timer on, a quiet network applies everything everywhere', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (const v of ['x', 'y', 'z']) net.propose('a', v);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedTexts(id), ['x', 'y', 'z']);
    assert.equal(net.engine('a').hasUnannouncedCommit(), false);
  });
});
