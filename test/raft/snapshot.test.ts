import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TestNetwork } from './network.js';

describe('log compaction and snapshots (Raft §7)', () => {
  test('a follower behind the compacted log is caught up with a snapshot, then by the log', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    for (let i = 0; i < 30; i++) net.propose('a', `v${i}`);
    const a = net.raft('a');
    const storage = net.storages.get('a')!;
    const snapIndex = a.log.applied;
    storage.createSnapshot(snapIndex, a.tracker.confState(), new TextEncoder().encode('state@' + snapIndex));
    storage.compact(snapIndex);
    assert.equal(a.log.firstIndex(), snapIndex + 1);
    net.propose('a', 'after');

    net.heal();
    net.clearSent();
    net.tickAll(3);
    assert.equal(net.sentOfType('snap').length, 1, 'exactly one snapshot sent');
    const c = net.raft('c');
    const cStorage = net.storages.get('c')!;
    assert.equal(cStorage.snapshot().meta.index, snapIndex);
    assert.equal(new TextDecoder().decode(cStorage.snapshot().data), 'state@' + snapIndex);
    assert.equal(c.log.lastIndex(), a.log.lastIndex());
    assert.equal(c.log.applied, a.log.applied);
    assert.deepEqual(net.appliedTexts('c'), ['after'], 'entries after the snapshot are applied from the log');
    assert.equal(a.tracker.progress.get('c')!.state, 'replicate');
    assert.deepEqual(c.tracker.confState().voters, ['a', 'b', 'c']);
  });

  test('a failed snapshot send is retried after the follower answers again', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('c');
    for (let i = 0; i < 10; i++) net.propose('a', `v${i}`);
    const a = net.raft('a');
    const storage = net.storages.get('a')!;
    storage.createSnapshot(a.log.applied, a.tracker.confState(), new Uint8Array([1]));
    storage.compact(a.log.applied);
    net.heal();
    net.dropType('snap');
    net.clearSent();
    net.tickAll(2);
    assert.ok(net.sentOfType('snap').length >= 1);
    assert.notEqual(a.tracker.progress.get('c')!.state, 'replicate');
    net.heal();
    net.tickAll(3);
    assert.equal(a.tracker.progress.get('c')!.state, 'replicate');
    assert.equal(net.raft('c').log.lastIndex(), a.log.lastIndex());
  });

  test('a restarted node resumes from its snapshot and replays membership changes after it', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (let i = 0; i < 5; i++) net.propose('a', `v${i}`);
    const b = net.raft('b');
    const bStorage = net.storages.get('b')!;
    bStorage.createSnapshot(b.log.applied, b.tracker.confState(), new Uint8Array([7]));
    net.engine('a').proposeConfChange({ changes: [{ type: 'addLearner', node: 'd' }] });
    net.stabilize();
    net.tickAll(1);
    const applied = net.raft('b').log.applied;
    net.crash('b');
    const restarted = net.addEngine('b', bStorage, { applied });
    assert.deepEqual(restarted.raft.tracker.confState().learners, ['d'], 'change after the snapshot replayed');
    assert.equal(restarted.raft.log.applied, applied);
  });
});
