import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConsensusError } from '../../src/consensus/errors.js';
import { TestNetwork } from './network.js';

describe('leadership transfer (Raft thesis §3.10)', () => {
  test('an up-to-date target gets TimeoutNow and wins the next term at once', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    const term = net.raft('a').term;
    net.engine('a').transferLeadership('b');
    net.stabilize();
    assert.equal(net.leader(), 'b');
    assert.equal(net.raft('b').term, term + 1);
    assert.equal(net.raft('a').lead, 'b');
  });

  test('a target that is behind is caught up first', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
    net.heal();
    net.clearSent();
    net.engine('a').transferLeadership('c');
    net.stabilize();
    const kinds = net.sent.filter((m) => m.to === 'c').map((m) => m.type);
    assert.ok(kinds.indexOf('app') < kinds.indexOf('timeoutNow'), 'appends before TimeoutNow');
    assert.equal(net.leader(), 'c');
    assert.equal(net.appliedTexts('c').length, 10);
  });

  test('proposals are refused while a transfer is in progress, and accepted again after it is abandoned', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.dropType('timeoutNow');
    net.engine('a').transferLeadership('b');
    net.stabilize();
    assert.throws(
      () => net.engine('a').propose(new Uint8Array(1)),
      (e: ConsensusError) => e.code === 'TRANSFER_IN_PROGRESS',
    );
    net.tickAll(net.raft('a').opts.electionTicks);
    assert.equal(net.leader(), 'a');
    assert.equal(net.raft('a').leadTransferee, null);
    net.propose('a', 'ok');
    assert.deepEqual(net.appliedTexts('b'), ['ok']);
  });

  test('a follower may ask for leadership itself; learners and strangers cannot lead', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.engine('c').transferLeadership('c');
    net.stabilize();
    assert.equal(net.leader(), 'c');
    assert.throws(
      () => net.engine('c').transferLeadership('zz'),
      (e: ConsensusError) => e.code === 'INVALID_ARGUMENT',
    );
    assert.throws(
      () => net.engine('a').transferLeadership('b'),
      (e: ConsensusError) => e.code === 'NOT_LEADER',
    );
  });
});
