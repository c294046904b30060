import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MemoryLogStorage } from '../../src/consensus/memory-log-storage.js';
import { raftMessage } from '../../src/raft/messages.js';
import { Raft } from '../../src/raft/raft.js';
import { SeededRandom } from '../../src/util/random.js';
import { TestNetwork } from './network.js';

describe('leader election (Raft §5.2)', () => {
  test('a founding cluster applies its membership and elects one leader', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    for (const id of ['a', 'b', 'c']) {
      assert.deepEqual(net.raft(id).tracker.confState().voters, ['a', 'b', 'c']);
    }
    net.campaign('a');
    assert.equal(net.leader(), 'a');
    assert.equal(net.raft('a').term, 2);
    for (const id of ['b', 'c']) {
      assert.equal(net.raft(id).role, 'follower');
      assert.equal(net.raft(id).lead, 'a');
    }
  });

  test('ticking alone elects a leader within two election timeouts', () => {
    const net = new TestNetwork(['a', 'b', 'c', 'd', 'e']);
    net.tickAll(20);
    const leaders = [...net.engines.values()].filter((e) => e.raft.role === 'leader');
    assert.equal(leaders.length, 1);
  });

  test('the randomized election timeout lies in [electionTicks, 2 * electionTicks)', () => {
    const storage = MemoryLogStorage.withConfState({
      voters: ['a'],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    });
    const r = new Raft({ id: 'a', storage, random: new SeededRandom(3), electionTicks: 10 });
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      r.becomeFollower(r.term + 1, null);
      assert.ok(r.randomizedElectionTimeout >= 10 && r.randomizedElectionTimeout < 20);
      seen.add(r.randomizedElectionTimeout);
    }
    assert.equal(seen.size, 10, 'every value in the range occurs');
  });

  test('a node grants at most one vote per term', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    const c = net.raft('c');
    const vote = (from: string) =>
      raftMessage(0, from, 'c', 'vote', { term: 5, index: c.log.lastIndex(), logTerm: c.log.lastTerm() });
    // c has not heard from a leader; past its boot lease it may vote.
    c.step(vote('a'));
    c.step(vote('b'));
    const responses = c.msgsAfterPersist.filter((m) => m.type === 'voteResp');
    assert.deepEqual(
      responses.map((m) => [m.to, m.reject]),
      [
        ['a', false],
        ['b', true],
      ],
    );
    assert.equal(c.vote, 'a');
  });

  test('a candidate whose log is behind is refused (§5.4.1)', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    net.propose('a', 'x');
    net.heal();
    // c missed entry "x": its campaign fails, a's log is more up to date.
    net.raft('a').becomeFollower(net.raft('a').term, null);
    net.raft('b').becomeFollower(net.raft('b').term, null);
    const c = net.raft('c');
    c.electionElapsed = c.randomizedElectionTimeout - 1;
    c.tick();
    net.stabilize();
    assert.notEqual(net.raft('c').role, 'leader');
  });

  test('pre-vote: a partitioned node does not raise its term, and rejoins without deposing the leader', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    const term = net.raft('a').term;
    net.isolate('c');
    for (let i = 0; i < 5; i++) net.campaign('c');
    assert.equal(net.raft('c').term, term, 'pre-votes never raise the term');
    assert.equal(net.raft('c').role, 'preCandidate');
    net.heal();
    net.campaign('c');
    net.tickAll(3);
    assert.equal(net.leader(), 'a');
    assert.equal(net.raft('a').term, term);
    assert.equal(net.raft('c').lead, 'a');
  });

  test('without pre-vote a partitioned node inflates its term and disrupts the leader on return', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { preVote: false, checkQuorum: false });
    net.campaign('a');
    const term = net.raft('a').term;
    net.isolate('c');
    for (let i = 0; i < 3; i++) net.campaign('c');
    assert.equal(net.raft('c').term, term + 3);
    net.heal();
    net.campaign('c');
    assert.ok(net.raft('a').term > term, 'the leader was deposed by the higher term');
  });

  test('check-quorum: a leader that hears from no quorum within an election timeout steps down', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('a');
    const a = net.raft('a');
    for (let i = 0; i < a.opts.electionTicks * 2; i++) {
      a.tick();
      net.stabilize();
    }
    assert.equal(a.role, 'follower');
  });

  test('check-quorum: followers that hear from a leader ignore a disruptive candidate', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { preVote: false });
    net.campaign('a');
    const term = net.raft('a').term;
    const b = net.raft('b');
    // A stray vote request with a higher term, while b hears from its leader.
    b.step(raftMessage(0, 'c', 'b', 'vote', { term: term + 5, index: 100, logTerm: 100 }));
    assert.equal(b.term, term, 'a vote request inside the leader lease is ignored');
    assert.equal(b.msgsAfterPersist.length, 0);
  });

  test('a restarted node refuses votes for an election timeout (it may have acknowledged a lease)', () => {
    const storage = MemoryLogStorage.withConfState({
      voters: ['a', 'b', 'c'],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    });
    const r = new Raft({ id: 'b', storage, random: new SeededRandom(1), electionTicks: 10 });
    r.step(raftMessage(0, 'c', 'b', 'vote', { term: 3, index: 0, logTerm: 0 }));
    assert.equal(r.term, 0, 'ignored during the boot lease');
    for (let i = 0; i < 10; i++) r.tick();
    r.step(raftMessage(0, 'c', 'b', 'vote', { term: 3, index: 0, logTerm: 0 }));
    assert.equal(r.term, 3);
    assert.equal(r.vote, 'c');
  });

  test('a single voter elects itself and commits alone', () => {
    const net = new TestNetwork(['solo']);
    net.campaign('solo');
    assert.equal(net.leader(), 'solo');
    net.propose('solo', 'x');
    assert.deepEqual(net.appliedTexts('solo'), ['x']);
  });

  test('a learner never campaigns', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'l' }] });
    net.addEngine('l');
    net.stabilize();
    net.tickAll(3);
    const l = net.raft('l');
    assert.deepEqual(l.tracker.confState().learners, ['l']);
    l.electionElapsed = 1000;
    l.tick();
    assert.equal(l.role, 'follower');
    assert.equal(l.msgsAfterPersist.length, 0);
  });
});
