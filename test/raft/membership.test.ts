import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConsensusError } from '../../src/consensus/errors.js';
import { TestNetwork } from './network.js';

const voters = (net: TestNetwork, id: string) => net.raft(id).tracker.confState();

describe('membership changes (Raft thesis §4)', () => {
  test('a learner joins, catches up by replication, does not count for commits, and is promoted', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'before');
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'd' }] });
    net.addEngine('d');
    net.stabilize();
    net.tickAll(2);
    assert.deepEqual(net.appliedTexts('d'), ['before']);
    assert.deepEqual(voters(net, 'd').learners, ['d']);
    assert.deepEqual(voters(net, 'd').voters, ['a', 'b', 'c'], 'the founding members were learned from the log');

    // With b and c cut off, a and learner d are not a quorum.
    net.isolate('b');
    net.isolate('c');
    net.propose('a', 'needs-quorum');
    assert.deepEqual(net.appliedTexts('a'), ['before']);
    net.heal();
    net.tickAll(2);
    assert.deepEqual(net.appliedTexts('a'), ['before', 'needs-quorum']);

    net.engine('a').proposeConfChange({ changes: [{ type: 'addVoter', node: 'd' }] });
    net.stabilize();
    net.tickAll(1);
    for (const id of ['a', 'b', 'c', 'd']) {
      assert.deepEqual(voters(net, id).voters, ['a', 'b', 'c', 'd']);
      assert.deepEqual(voters(net, id).learners, []);
    }
  });

  test('one membership change at a time', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('b');
    net.isolate('c');
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'd' }] });
    net.stabilize();
    assert.throws(
      () => net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'e' }] }),
      (e: ConsensusError) => e.code === 'CONF_CHANGE_PENDING',
    );
    net.heal();
    net.tickAll(1);
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'e' }] });
    net.stabilize();
    assert.deepEqual(voters(net, 'b').learners, ['d', 'e']);
  });

  test('invalid changes are refused with INVALID_CONF_CHANGE', () => {
    const net = new TestNetwork(['a']);
    net.campaign('a');
    assert.throws(
      () => net.engine('a').proposeConfChange({ changes: [{ type: 'removeVoter', node: 'a' }] }),
      (e: ConsensusError) => e.code === 'INVALID_CONF_CHANGE',
    );
    assert.throws(
      () => net.engine('a').proposeConfChange({ changes: [] }),
      (e: ConsensusError) => e.code === 'INVALID_CONF_CHANGE',
    );
    assert.throws(
      () => net.engine('a').proposeConfChange({ changes: [{ type: 'bogus' as 'addVoter', node: 'x' }] }),
      (e: ConsensusError) => e.code === 'INVALID_CONF_CHANGE',
    );
  });

  test('removing a follower shrinks the quorum; the cluster keeps committing', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.engine('a').proposeConfChange({ changes: [{ type: 'removeVoter', node: 'c' }] });
    net.stabilize();
    net.tickAll(1);
    assert.deepEqual(voters(net, 'a').voters, ['a', 'b']);
    net.crash('c');
    net.propose('a', 'two-node');
    assert.deepEqual(net.appliedTexts('b'), ['two-node']);
  });

  test('joint consensus: replacing two voters at once enters and automatically leaves a joint configuration', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'd' }] });
    net.addEngine('d');
    net.stabilize();
    net.tickAll(1);
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'e' }] });
    net.addEngine('e');
    net.stabilize();
    net.tickAll(1);

    // Hold the follower acknowledgements so the joint configuration can be observed before it is left.
    const observed: string[][] = [];
    net.engine('a').proposeConfChange({
      changes: [
        { type: 'addVoter', node: 'd' },
        { type: 'addVoter', node: 'e' },
        { type: 'removeVoter', node: 'b' },
        { type: 'removeVoter', node: 'c' },
      ],
    });
    for (let i = 0; i < 200; i++) {
      const cs = net.raft('a').tracker.confState();
      if (cs.votersOutgoing.length > 0) observed.push([...cs.voters, '|', ...cs.votersOutgoing]);
      if (net.round() === null) break;
    }
    assert.ok(observed.length > 0, 'a joint configuration was in force');
    assert.deepEqual(observed[0], ['a', 'd', 'e', '|', 'a', 'b', 'c']);
    net.tickAll(2);
    const final = voters(net, 'a');
    assert.deepEqual(final.voters, ['a', 'd', 'e']);
    assert.deepEqual(final.votersOutgoing, []);
    assert.equal(final.autoLeave, false);
    net.crash('b');
    net.crash('c');
    net.propose('a', 'new-config');
    assert.deepEqual(net.appliedTexts('e'), ['new-config']);
  });

  test('in a joint configuration a commit needs a majority of both halves', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (const n of ['d', 'e']) {
      net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: n }] });
      net.addEngine(n);
      net.stabilize();
      net.tickAll(1);
    }
    net.engine('a').proposeConfChange({
      transition: 'explicit',
      changes: [
        { type: 'addVoter', node: 'd' },
        { type: 'addVoter', node: 'e' },
        { type: 'removeVoter', node: 'b' },
        { type: 'removeVoter', node: 'c' },
      ],
    });
    net.stabilize();
    net.tickAll(1);
    assert.deepEqual(voters(net, 'a').votersOutgoing, ['a', 'b', 'c'], 'explicit: stays joint');
    // The new half (a, d, e) alone is not enough: the old half (a, b, c) needs b or c too.
    net.isolate('b');
    net.isolate('c');
    net.propose('a', 'x1');
    assert.deepEqual(net.appliedTexts('a'), []);
    net.heal();
    net.tickAll(1);
    assert.deepEqual(net.appliedTexts('a'), ['x1']);
    // Nor is the old half alone.
    net.isolate('d');
    net.isolate('e');
    net.propose('a', 'x2');
    assert.deepEqual(net.appliedTexts('a'), ['x1']);
    net.heal();
    net.tickAll(1);
    assert.deepEqual(net.appliedTexts('a'), ['x1', 'x2']);
    net.engine('a').proposeConfChange({ changes: [] });
    net.stabilize();
    net.tickAll(1);
    assert.deepEqual(voters(net, 'a').votersOutgoing, []);
  });

  test('a leader that removes itself hands leadership to a remaining voter', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.engine('a').proposeConfChange({ changes: [{ type: 'removeVoter', node: 'a' }] });
    net.stabilize();
    net.tickAll(1);
    const leader = net.leader();
    assert.ok(leader === 'b' || leader === 'c', `leader is ${leader}`);
    assert.deepEqual(voters(net, leader!).voters, ['b', 'c']);
    net.propose(leader!, 'after-removal');
    const other = leader === 'b' ? 'c' : 'b';
    assert.deepEqual(net.appliedTexts(other), ['after-removal']);
  });

  test('demoting a voter to a learner', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'c' }] });
    net.stabilize();
    net.tickAll(1);
    assert.deepEqual(voters(net, 'b'), {
      voters: ['a', 'b'],
      votersOutgoing: [],
      learners: ['c'],
      learnersNext: [],
      autoLeave: false,
    });
  });
});
