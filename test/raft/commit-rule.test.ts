import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { raftMessage } from '../../src/raft/messages.js';
import { TestNetwork } from './network.js';

describe('commitment (Raft §5.4.2)', () => {
  test('a leader never commits an entry of an earlier term by counting replicas, only through its own', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    // a (term 2) replicates x to b and c, but learns of no acknowledgement before it is cut off.
    net.dropType('appResp');
    const xIndex = net.propose('a', 'x')!;
    net.isolate('a');
    for (const id of ['b', 'c']) assert.equal(net.raft(id).log.lastIndex(), xIndex);
    assert.ok(net.raft('b').log.committed < xIndex);

    // b wins term 3; its own empty entry reaches nobody yet.
    net.tickNodes(['b', 'c'], net.raft('b').opts.electionTicks);
    net.dropType('app');
    net.campaign('b');
    const b = net.raft('b');
    assert.equal(b.role, 'leader');
    assert.equal(b.log.lastIndex(), xIndex + 1);

    // c acknowledges x (term 2) only: a majority holds x, but x is of an earlier term.
    b.step(raftMessage(0, 'c', 'b', 'appResp', { term: b.term, index: xIndex }));
    net.stabilize();
    assert.equal(b.tracker.progress.get('c')!.match, xIndex);
    assert.ok(b.log.committed < xIndex, 'x must not commit by counting replicas');

    // Once c holds b's own entry, both commit.
    b.step(raftMessage(0, 'c', 'b', 'appResp', { term: b.term, index: xIndex + 1 }));
    assert.equal(b.log.committed, xIndex + 1);
    net.heal();
    net.tickAll(2);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedTexts(id), ['x']);
  });

  test('a leader elected with unapplied entries commits them via its own empty entry', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.dropType('appResp');
    net.propose('a', 'carried');
    net.heal();
    net.isolate('a');
    net.tickNodes(['b', 'c'], net.raft('b').opts.electionTicks);
    net.campaign('c');
    assert.equal(net.leader() === 'c' || net.raft('c').role === 'leader', true);
    for (const id of ['b', 'c']) assert.deepEqual(net.appliedTexts(id), ['carried']);
  });
});
