import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConsensusError } from '../../src/consensus/errors.js';
import { TestNetwork } from './network.js';

describe('linearizable reads without writing the log (Raft thesis §6.4)', () => {
  test('ReadIndex on the leader is answered after a quorum acknowledges a heartbeat round', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    const a = net.engine('a');
    a.readIndex(1);
    const rd = a.ready();
    assert.equal(rd.readStates.length, 0, 'not before leadership is confirmed');
    assert.ok(rd.sendNow.some((m) => m.type === 'heartbeat' && m.context > 0));
    net.storages.get('a')!.persistReady(rd);
    a.advance(rd);
    for (const m of rd.sendNow) net.engine(m.to).step(m);
    net.stabilize();
    assert.deepEqual(net.readStates.get('a'), [{ index: net.raft('a').log.committed, context: 1 }]);
  });

  test('reads of one turn share one heartbeat round', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.clearSent();
    for (let i = 1; i <= 100; i++) net.engine('a').readIndex(i);
    net.stabilize();
    assert.equal(net.sentOfType('heartbeat').length, 2, 'one heartbeat per follower');
    assert.equal(net.readStates.get('a')!.length, 100);
  });

  test('an isolated leader answers no ReadIndex', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('a');
    net.engine('a').readIndex(9);
    net.stabilize();
    net.tick('a', 3);
    net.stabilize();
    assert.deepEqual(net.readStates.get('a'), []);
  });

  test('a follower read goes through the leader and comes back with the leader commit index', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.propose('a', 'x');
    net.engine('c').readIndex(5);
    net.stabilize();
    assert.deepEqual(net.readStates.get('c'), [{ index: net.raft('a').log.committed, context: 5 }]);
    assert.throws(
      () => new TestNetwork(['p', 'q', 'r']).engine('q').readIndex(1),
      (e: ConsensusError) => e.code === 'NO_LEADER',
    );
  });

  test('a new leader serves reads only after committing an entry of its own term', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.dropType('appResp');
    net.propose('a', 'x');
    net.heal();
    net.tickNodes(['b', 'c'], net.raft('b').opts.electionTicks);
    net.isolate('a');
    net.dropType('app');
    net.campaign('b');
    const b = net.engine('b');
    assert.equal(b.raft.role, 'leader');
    b.readIndex(1);
    net.stabilize();
    assert.deepEqual(net.readStates.get('b'), [], 'the read waits for the first commit of the term');
    net.heal();
    net.isolate('a');
    net.tickNodes(['b', 'c'], 2);
    const states = net.readStates.get('b')!;
    assert.equal(states.length, 1);
    assert.ok(states[0]!.index >= b.raft.log.committed - 0 && b.raft.committedEntryInCurrentTerm());
  });

  test('lease reads are answered at once while a quorum acknowledged a recent heartbeat', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.tickAll(1);
    const a = net.engine('a');
    net.clearSent();
    a.readIndex(1, { mode: 'lease' });
    const rd = a.ready();
    assert.deepEqual(rd.readStates, [{ index: a.raft.log.committed, context: 1 }]);
    assert.equal(rd.sendNow.filter((m) => m.type === 'heartbeat').length, 0, 'no round trip');
    net.storages.get('a')!.persistReady(rd);
    a.advance(rd);
  });

  test('a lease expires leaseTicks after the last acknowledged round; the read then needs a round trip', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.tickAll(1);
    net.isolate('a');
    const a = net.engine('a');
    const lease = a.raft.opts.leaseTicks;
    assert.equal(lease, a.raft.opts.electionTicks - 2);
    net.tick('a', lease);
    net.stabilize();
    a.readIndex(2, { mode: 'lease' });
    net.stabilize();
    assert.deepEqual(net.readStates.get('a'), [], 'lease expired: falls back to ReadIndex, which cannot finish');
  });

  test('no lease reads once a leadership transfer was attempted in the term', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.tickAll(1);
    net.dropType('timeoutNow');
    net.engine('a').transferLeadership('b');
    net.stabilize();
    net.tickAll(net.raft('a').opts.electionTicks + 1); // the transfer is abandoned
    assert.equal(net.raft('a').leadTransferee, null);
    net.isolate('a');
    net.engine('a').readIndex(3, { mode: 'lease' });
    net.stabilize();
    assert.deepEqual(net.readStates.get('a'), []);
  });

  test('without check-quorum lease reads are disabled (they fall back to ReadIndex)', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { checkQuorum: false });
    assert.equal(net.raft('a').opts.leaseTicks, 0);
    net.campaign('a');
    net.tickAll(1);
    net.isolate('a');
    net.engine('a').readIndex(4, { mode: 'lease' });
    net.stabilize();
    assert.deepEqual(net.readStates.get('a'), []);
  });

  test('a single voter answers reads at once', () => {
    const net = new TestNetwork(['solo']);
    net.campaign('solo');
    net.engine('solo').readIndex(1);
    net.stabilize();
    assert.equal(net.readStates.get('solo')!.length, 1);
  });
});
