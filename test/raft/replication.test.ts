import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ConsensusError } from '../../src/consensus/errors.js';
import { MemoryLogStorage } from '../../src/consensus/memory-log-storage.js';
import type { Entry } from '../../src/consensus/types.js';
import { raftMessage } from '../../src/raft/messages.js';
import { TestNetwork } from './network.js';

const bytes = (n: number) => new Uint8Array(n);

describe('log replication (Raft §5.3)', () => {
  test('entries proposed on the leader are applied everywhere in order', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    for (const v of ['x', 'y', 'z']) net.propose('a', v);
    for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedTexts(id), ['x', 'y', 'z']);
  });

  test('a new leader appends an empty entry of its term', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    const a = net.raft('a');
    const last = a.log.slice(a.log.lastIndex(), a.log.lastIndex() + 1, 1000)[0]!;
    assert.equal(last.term, a.term);
    assert.equal(last.data.length, 0);
    assert.equal(a.log.committed, a.log.lastIndex(), 'committed once a quorum persisted it');
  });

  test('proposals of one turn travel together: one append per follower, not one per proposal', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.clearSent();
    const e = net.engine('a');
    for (let i = 0; i < 50; i++) e.propose(bytes(10));
    const rd = e.ready();
    const apps = rd.sendNow.filter((m) => m.type === 'app');
    assert.equal(apps.length, 2);
    assert.ok(apps.every((m) => m.entries.length === 50));
    net.storages.get('a')!.persistReady(rd);
    e.advance(rd);
  });

  test('the leader sends entries before persisting them, and counts itself only once persisted', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    const e = net.engine('a');
    const { index } = e.propose(bytes(1)) as { index: number };
    const rd = e.ready();
    assert.ok(rd.sendNow.some((m) => m.type === 'app' && m.entries.some((x) => x.index === index)));
    assert.equal(net.raft('a').tracker.progress.get('a')!.match, index - 1);
    net.storages.get('a')!.persistReady(rd);
    e.advance(rd);
    assert.equal(net.raft('a').tracker.progress.get('a')!.match, index);
  });

  test('a follower acknowledges an append only after persisting it', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    const b = net.engine('b');
    const a = net.raft('a');
    const next = a.log.lastIndex() + 1;
    const entry: Entry = { term: a.term, index: next, type: 'normal', data: bytes(3) };
    b.step(
      raftMessage(0, 'a', 'b', 'app', {
        term: a.term,
        index: next - 1,
        logTerm: a.term,
        entries: [entry],
        commit: a.log.committed,
      }),
    );
    const rd = b.ready();
    assert.equal(rd.sendNow.filter((m) => m.type === 'appResp').length, 0);
    assert.deepEqual(
      rd.sendAfterPersist.map((m) => [m.type, m.index]),
      [['appResp', next]],
    );
    assert.deepEqual(
      rd.entries.map((x) => x.index),
      [next],
    );
    assert.ok(rd.mustSync);
  });

  test('a divergent follower log is repaired with few round trips (fast backtracking)', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('b');
    // b leads term 2 but is cut off: its 100 new entries reach nobody.
    net.isolate('b');
    for (let i = 0; i < 100; i++) net.engine('b').propose(bytes(1));
    net.stabilize();
    // a and c stop hearing from b, elect a, and commit entries of the new term.
    net.tickNodes(['a', 'c'], net.raft('a').opts.electionTicks);
    net.campaign('a');
    assert.equal(net.leader(), 'a');
    const texts: string[] = [];
    for (let i = 0; i < 100; i++) {
      texts.push(`v${i}`);
      net.engine('a').propose(new TextEncoder().encode(`v${i}`));
    }
    net.stabilize();
    // a is elected again: a new term's leader probes b at its own (long) last index.
    net.tickNodes(['c'], net.raft('c').opts.electionTicks);
    net.raft('a').becomeFollower(net.raft('a').term, null);
    net.campaign('a');
    assert.equal(net.leader(), 'a');
    net.heal();
    net.clearSent();
    net.tickNodes(['a'], 2);
    // Without hints the leader would step back one entry per rejection: about 100 round trips.
    const rejects = net.sent.filter((m) => m.type === 'appResp' && m.reject && m.from === 'b');
    assert.ok(rejects.length >= 1 && rejects.length <= 2, `${rejects.length} rejections: whole terms are skipped`);
    assert.deepEqual(net.appliedTexts('b'), texts);
    assert.equal(net.raft('b').log.lastIndex(), net.raft('a').log.lastIndex());
    assert.equal(net.raft('b').log.lastTerm(), net.raft('a').term);
  });

  test('flow control: appends respect maxMessageBytes and the in-flight window', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { maxMessageBytes: 1000, maxInflightMessages: 4 });
    net.campaign('a');
    net.isolate('b');
    net.isolate('c');
    const e = net.engine('a');
    for (let i = 0; i < 40; i++) e.propose(bytes(200));
    const rd = e.ready();
    const toB = rd.sendNow.filter((m) => m.type === 'app' && m.to === 'b');
    assert.equal(toB.length, 4, 'at most maxInflightMessages appends in flight');
    for (const m of toB) {
      const size = m.entries.reduce((n, x) => n + x.data.length + 24, 0);
      assert.ok(m.entries.length === 1 || size <= 1000, `message of ${size} bytes`);
    }
    net.storages.get('a')!.persistReady(rd);
    e.advance(rd);
  });

  test('a follower in probe state gets one append per heartbeat until it answers', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    const a = net.raft('a');
    a.tracker.progress.get('b')!.becomeProbe();
    net.dropType('appResp');
    net.clearSent();
    for (let i = 0; i < 5; i++) net.propose('a', `p${i}`);
    const toB = net.sent.filter((m) => m.type === 'app' && m.to === 'b');
    assert.equal(toB.length, 1);
    net.heal();
    net.tickAll(1);
    assert.equal(a.tracker.progress.get('b')!.state, 'replicate');
    assert.deepEqual(net.appliedTexts('b'), ['p0', 'p1', 'p2', 'p3', 'p4']);
  });

  test('proposals on a follower are forwarded to the leader', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    assert.deepEqual(net.engine('c').propose(new TextEncoder().encode('via-c')), { forwarded: true });
    net.stabilize();
    for (const id of ['a', 'b', 'c']) assert.deepEqual(net.appliedTexts(id), ['via-c']);
  });

  test('proposals without a leader, or with forwarding disabled, fail with a clear code', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { disableProposalForwarding: true });
    assert.throws(
      () => net.engine('b').propose(bytes(1)),
      (e: ConsensusError) => e.code === 'NO_LEADER',
    );
    net.campaign('a');
    assert.throws(
      () => net.engine('b').propose(bytes(1)),
      (e: ConsensusError) => e.code === 'NOT_LEADER',
    );
  });

  test('the uncommitted log is bounded: proposals past maxUncommittedBytes are refused until entries commit', () => {
    const net = new TestNetwork(['a', 'b', 'c'], { maxUncommittedBytes: 1000 });
    net.campaign('a');
    net.isolate('a');
    const e = net.engine('a');
    e.propose(bytes(600));
    e.propose(bytes(300));
    assert.throws(
      () => e.propose(bytes(200)),
      (err: ConsensusError) => err.code === 'PROPOSALS_OVER_LIMIT',
    );
    net.heal();
    net.stabilize();
    net.tickAll(1);
    e.propose(bytes(200));
  });

  test('a stale leader learns the new term from a follower and steps down', () => {
    const net = new TestNetwork(['a', 'b', 'c']);
    net.campaign('a');
    net.isolate('a');
    // b and c stop hearing from a (which is frozen and still believes it leads) and elect b.
    net.tickNodes(['b', 'c'], net.raft('b').opts.electionTicks);
    net.campaign('b');
    assert.equal(net.raft('b').role, 'leader');
    assert.equal(net.raft('a').role, 'leader');
    net.heal();
    net.propose('a', 'lost?');
    assert.equal(net.raft('a').role, 'follower');
    assert.equal(net.raft('a').term, net.raft('b').term);
    net.tickAll(2);
    assert.deepEqual(net.appliedTexts('b'), [], 'the stale leader proposal never commits');
  });

  test('malformed or misaddressed peer messages are dropped and counted, never thrown', () => {
    const storage = MemoryLogStorage.withConfState({
      voters: ['a', 'b'],
      votersOutgoing: [],
      learners: [],
      learnersNext: [],
      autoLeave: false,
    });
    const net = new TestNetwork(['a', 'b', 'c']);
    const r = net.raft('a');
    const before = r.counters.malformedMessages;
    const garbage: unknown[] = [
      null,
      42,
      { type: 'app' },
      { ...raftMessage(0, 'b', 'a', 'app', {}), entries: [{ term: 1, index: 'x' }] },
      { ...raftMessage(0, 'b', 'a', 'app', {}), term: -1 },
      { ...raftMessage(0, 'b', 'a', 'nope' as 'app', {}) },
      raftMessage(7, 'b', 'a', 'heartbeat', { term: 1 }),
      raftMessage(0, 'b', 'zz', 'heartbeat', { term: 1 }),
      { ...raftMessage(0, 'b', 'a', 'snap', {}), snapshot: { meta: {} } },
    ];
    for (const g of garbage) r.step(g as never);
    assert.equal(r.counters.malformedMessages - before, garbage.length);
    void storage;
  });
});
