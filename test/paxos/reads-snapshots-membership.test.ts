import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConsensusError } from '../../src/consensus/errors.js';
import { MemoryLogStorage } from '../../src/consensus/memory-log-storage.js';
import { encode, PaxosNetwork } from './network.js';

const isCode = (code: string) => (e: unknown) => e instanceof ConsensusError && e.code === code;

/** Snapshots every engine at its applied index and compacts its log up to there. */
function compactAll(net: PaxosNetwork, ids: readonly string[]): void {
  for (const id of ids) {
    const s = net.storages.get(id)!;
    const applied = net.paxos(id).log.applied;
    s.createSnapshot(applied, net.engine(id).status().confState, new Uint8Array([applied]));
    s.compact(applied);
  }
}

describe('linearizable reads', () => {
  test('a read round: the read is released once a quorum answers a heartbeat sent after it arrived', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.hold('heartbeatResp');
    net.engine('a').readIndex(7);
    net.stabilize();
    assert.deepEqual(net.readStates.get('a'), [], 'not before the quorum answered');
    net.release();
    const commit = net.paxos('a').log.committed;
    assert.deepEqual(net.readStates.get('a'), [{ context: 7, index: commit }]);
  });

  test('followers ask the leader and get its commit index', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.engine('b').readIndex(3);
    net.stabilize();
    assert.deepEqual(net.readStates.get('b'), [{ context: 3, index: net.paxos('a').log.committed }]);
  });

  test('a new leader serves no read until its own no-op is chosen', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.hold('accepted');
    net.campaign('b');
    assert.equal(net.leader(), 'b');
    const b = net.paxos('b');
    assert.ok(b.log.committed < b.readBarrier);
    net.engine('b').readIndex(1);
    net.stabilize();
    assert.deepEqual(net.readStates.get('b'), []);
    net.release((m) => m.to === 'b');
    net.tickAll(1);
    assert.equal(net.readStates.get('b')!.length, 1);
    assert.ok(net.readStates.get('b')![0]!.index >= b.readBarrier);
  });

  test('lease reads are served at once while a quorum answered a recent heartbeat, else they take a round', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.tickAll(1); // a heartbeat round answered by everyone
    net.clearSent();
    net.engine('a').readIndex(1, { mode: 'lease' });
    assert.equal(net.readStates.get('a')!.length, 0);
    net.stabilize();
    assert.equal(net.readStates.get('a')!.length, 1);
    assert.equal(net.sent.filter((m) => m.type === 'heartbeat').length, 0, 'no round trip');
    // Cut off: after the lease runs out, a lease read needs a round that cannot complete.
    net.isolate('a');
    net.tickNodes(['a'], net.paxos('a').opts.leaseTicks);
    net.engine('a').readIndex(2, { mode: 'lease' });
    net.stabilize();
    assert.equal(net.readStates.get('a')!.length, 1);
  });

  test('lease reads are off without leader stickiness (checkQuorum: false)', () => {
    const net = new PaxosNetwork(['a', 'b', 'c'], { checkQuorum: false });
    assert.equal(net.paxos('a').opts.leaseTicks, 0);
  });

  test('a leader that hears from no quorum for an election timeout steps down', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('a');
    net.tickNodes(['a'], 2 * net.paxos('a').opts.electionTicks); // one period to clear, one to notice
    assert.equal(net.paxos('a').role, 'follower');
  });
});

describe('compaction and catch-up by snapshot', () => {
  test('an acceptor behind the compacted log gets a snapshot, then the log', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    for (const v of ['p', 'q', 'r']) net.propose('a', v);
    compactAll(net, ['a', 'b']);
    net.heal();
    net.propose('a', 's');
    net.tickAll(2);
    const c = net.paxos('c');
    assert.equal(c.log.committed, net.paxos('a').log.committed);
    assert.equal(net.storages.get('c')!.snapshot().meta.index > 0, true, 'installed a snapshot');
    assert.deepEqual(net.appliedTexts('c'), ['s'], 'the rest came by the log');
    assert.ok(net.sent.some((m) => m.type === 'snap' && m.to === 'c'));
  });

  test('installing a snapshot keeps the values accepted after it', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    const b = net.paxos('b');
    const snapIndex = b.log.committed;
    const ballot = b.promised;
    // b holds an accepted, unchosen value after the snapshot point.
    const storage = net.storages.get('b')!;
    storage.append([{ index: snapIndex + 1, term: ballot, type: 'normal', data: encode('kept') }]);
    const restarted = net.addEngine('b', storage);
    const snapshot = {
      meta: { index: snapIndex, term: 999, confState: restarted.status().confState },
      data: new Uint8Array([1]),
    };
    restarted.paxos.log.committed = snapIndex - 1;
    restarted.step({
      group: 0,
      from: 'a',
      to: 'b',
      type: 'snap',
      ballot,
      index: 0,
      commit: 0,
      entries: [],
      reject: false,
      hint: 0,
      snapshot,
      context: 0,
      force: false,
      lease: false,
    });
    const rd = restarted.ready();
    assert.ok(rd.snapshot);
    assert.deepEqual(
      rd.entries.map((e) => e.index),
      [snapIndex + 1],
    );
    storage.persistReady(rd);
    restarted.advance(rd);
    assert.equal(new TextDecoder().decode(storage.entries(snapIndex + 1, snapIndex + 2, 1000)[0]!.data), 'kept');
  });
});

describe('membership', () => {
  test('add a learner, promote it, remove a voter: each takes effect when applied', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'before');
    net.addEngine('d', new MemoryLogStorage());
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'd' }] });
    net.stabilize();
    net.tickAll(2);
    assert.deepEqual(net.engine('a').status().confState.learners, ['d']);
    assert.deepEqual(net.appliedTexts('d'), ['before'], 'the learner caught up');
    net.engine('a').proposeConfChange({ changes: [{ type: 'addVoter', node: 'd' }] });
    net.stabilize();
    assert.deepEqual(net.engine('a').status().confState.voters, ['a', 'b', 'c', 'd']);
    net.engine('a').proposeConfChange({ changes: [{ type: 'removeVoter', node: 'b' }] });
    net.stabilize();
    assert.deepEqual(net.engine('a').status().confState.voters, ['a', 'c', 'd']);
    net.propose('a', 'after');
    assert.deepEqual(net.appliedTexts('d'), ['before', 'after']);
  });

  test('several voters change in one step (no joint configuration); explicit joint transitions are refused', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (const id of ['d', 'e']) net.addEngine(id, new MemoryLogStorage());
    net.engine('a').proposeConfChange({
      changes: [
        { type: 'addLearner', node: 'd' },
        { type: 'addLearner', node: 'e' },
      ],
    });
    net.stabilize();
    net.tickAll(2);
    assert.throws(
      () => net.engine('a').proposeConfChange({ changes: [{ type: 'addVoter', node: 'd' }], transition: 'explicit' }),
      isCode('INVALID_CONF_CHANGE'),
    );
    net.engine('a').proposeConfChange({
      changes: [
        { type: 'addVoter', node: 'd' },
        { type: 'addVoter', node: 'e' },
        { type: 'removeVoter', node: 'b' },
        { type: 'removeVoter', node: 'c' },
      ],
    });
    // Until applied, the window holds both configurations: with d and e cut off, nothing can be chosen.
    net.isolate('d');
    net.isolate('e');
    net.stabilize();
    assert.deepEqual(net.engine('a').status().confState.voters, ['a', 'b', 'c']);
    net.heal();
    net.tickAll(2);
    assert.deepEqual(net.engine('a').status().confState.voters, ['a', 'd', 'e']);
    assert.equal(net.engine('a').status().confState.votersOutgoing.length, 0);
  });

  test('one membership change at a time', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.hold('accepted');
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'd' }] });
    assert.throws(
      () => net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'e' }] }),
      isCode('CONF_CHANGE_PENDING'),
    );
  });

  test('a leader that removes itself steps down and hands over', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.engine('a').proposeConfChange({ changes: [{ type: 'removeVoter', node: 'a' }] });
    net.stabilize();
    assert.equal(net.paxos('a').role, 'follower');
    const leader = net.leader();
    assert.ok(leader === 'b' || leader === 'c');
    net.propose(leader, 'next');
    assert.deepEqual(net.appliedTexts(leader === 'b' ? 'c' : 'b'), ['next']);
  });

  test('a node that lags behind a change needs the new configuration’s majority too', () => {
    // a, b, c → add d, e and remove b, c while c is cut off; c then cannot win with its old majority {b, c}.
    const net = new PaxosNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (const id of ['d', 'e']) net.addEngine(id, new MemoryLogStorage());
    net.engine('a').proposeConfChange({
      changes: [
        { type: 'addLearner', node: 'd' },
        { type: 'addLearner', node: 'e' },
      ],
    });
    net.stabilize();
    net.tickAll(2);
    net.isolate('c');
    net.engine('a').proposeConfChange({
      changes: [
        { type: 'addVoter', node: 'd' },
        { type: 'addVoter', node: 'e' },
        { type: 'removeVoter', node: 'b' },
        { type: 'removeVoter', node: 'c' },
      ],
    });
    net.stabilize();
    net.tickNodes(['a', 'b', 'd', 'e'], 2);
    net.propose('a', 'new config');
    net.crash('a');
    net.heal();
    net.isolate('d');
    net.isolate('e');
    net.campaign('c');
    assert.notEqual(net.paxos('c').role, 'leader', 'b and c are no majority of {a, d, e}');
    assert.ok(net.sent.some((m) => m.type === 'prePrepare' && m.from === 'c'));
  });

  test('proposals are refused without a leader and while a transfer is under way', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    assert.throws(() => net.engine('b').propose(encode('x')), isCode('NO_LEADER'));
    net.campaign('a');
    net.hold('accepted');
    net.engine('a').propose(encode('y'));
    net.stabilize();
    net.engine('a').transferLeadership('b');
    assert.throws(() => net.engine('a').propose(encode('z')), isCode('TRANSFER_IN_PROGRESS'));
    assert.throws(() => net.engine('a').transferLeadership('zz'), isCode('INVALID_ARGUMENT'));
  });

  test('malformed peer messages are dropped and counted, never thrown', () => {
    const net = new PaxosNetwork(['a', 'b', 'c']);
    const a = net.paxos('a');
    a.step({ type: 'accept' } as never);
    a.step({ ...({} as object), group: 0, from: 'b', to: 'a', type: 'nonsense' } as never);
    assert.equal(a.counters.malformedMessages, 2);
  });
});
