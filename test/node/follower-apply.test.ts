import assert from 'node:assert/strict';
import { test } from 'node:test';
import { encodeConfChange } from '../../src/consensus/conf-change-codec.js';
import type { Entry } from '../../src/consensus/types.js';
import { encodeCommand } from '../../src/kv/command-codec.js';
import type { ConsensusMessage } from '../../src/node/wire.js';
import { raftMessage } from '../../src/raft/messages.js';
import { replicaHarness, turn } from '../support/replica-harness.js';

/** The founding configuration's entries (term 1) are 1..3, applied when the harness starts. */
const FOUNDED = 3;
const LEADER_TERM = 2;

function putEntry(index: number): Entry {
  const data = encodeCommand({ type: 'put', key: `k${index}`, value: new Uint8Array([index & 0xff]) });
  return { index, term: LEADER_TERM, type: 'normal', data };
}

/**
 * Plays leader n2 to the harness's n1: appends the entry at `index` (after index - 1; a put unless `entry` is
 * given) with the given commit index, as a leader at one write in flight does (each append carries the commit of
 * the write before), and waits until n1 acknowledged it (it made it durable; on a busy machine that can take many
 * event-loop turns), then a few turns.
 */
async function append(
  h: Awaited<ReturnType<typeof replicaHarness>>,
  index: number,
  commit: number,
  entry: Entry = putEntry(index),
): Promise<void> {
  const prevTerm = index - 1 > FOUNDED ? LEADER_TERM : 1;
  const message = raftMessage(0, 'n2', 'n1', 'app', {
    term: LEADER_TERM,
    index: index - 1,
    logTerm: prevTerm,
    entries: [entry],
    commit,
  });
  h.replica.step('n2', message as ConsensusMessage);
  const deadline = performance.now() + 10_000;
  const acked = () => h.wire.some((m) => m.type === 'appResp' && !m.reject && m.index >= index);
  while (!acked() && performance.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 1));
  assert.ok(acked(), `n1 acknowledged index ${index}`);
  for (let i = 0; i < 3; i++) await turn();
}

test('a follower applies committed entries in batches of followerApplyBatchEntries, and at every tick', async () => {
  const h = await replicaHarness({ followerApplyBatchEntries: 4 });
  try {
    assert.equal(h.kv.appliedIndex, FOUNDED);
    // Entries 4..7 committed one at a time (each append carries the previous one's commit): the first three wait.
    for (let index = FOUNDED + 1; index <= FOUNDED + 4; index++) await append(h, index, index - 1);
    assert.equal(h.replica.engine.status().commit, 6);
    assert.equal(h.kv.appliedIndex, FOUNDED, 'committed 4..6 are set aside');
    await append(h, 8, 7);
    assert.equal(h.kv.appliedIndex, 7, 'the fourth committed entry completes the batch: 4..7 applied together');
    assert.equal(h.replica.engine.status().applied, 7, 'and the engine was told');
    assert.equal(h.kv.get('k7')?.value[0], 7);
    await append(h, 9, 8);
    assert.equal(h.kv.appliedIndex, 7);
    // The tick (every tickMs) bounds how far behind a follower's state is.
    h.replica.tick();
    assert.equal(h.kv.appliedIndex, 8, 'a tick applies what was set aside');
    assert.equal(h.replica.engine.status().applied, 8);
    h.replica.tick();
    assert.equal(h.kv.appliedIndex, 8, 'nothing more is known to be committed');
  } finally {
    await h.close();
  }
});

test('a follower applies at once while its state may be read: a watcher, a stale read, batches of 1', async () => {
  const h = await replicaHarness({ followerApplyBatchEntries: 16 });
  try {
    await append(h, 4, 3);
    await append(h, 5, 4);
    assert.equal(h.kv.appliedIndex, FOUNDED);
    // What the API calls before a stale read, a new watch, a status or checksum answer.
    h.replica.applyDeferred();
    assert.equal(h.kv.appliedIndex, 4);
    // With a watcher on this node, every commit is applied as it comes, so its events are not held back.
    const revisions: number[] = [];
    const watcher = h.kv.watch({ prefix: 'k' }, undefined, (r) => {
      revisions.push(r.revision);
    });
    await append(h, 6, 5);
    assert.equal(h.kv.appliedIndex, 5, 'applied at once with a watcher');
    assert.equal(revisions.length, 1, 'and the watcher heard of it');
    watcher.cancel();
    await append(h, 7, 6);
    assert.equal(h.kv.appliedIndex, 5, 'batched again once nobody watches');
  } finally {
    await h.close();
  }
  const single = await replicaHarness({ followerApplyBatchEntries: 1 });
  try {
    await append(single, 4, 3);
    await append(single, 5, 4);
    assert.equal(single.kv.appliedIndex, 4, 'followerApplyBatchEntries 1 applies every commit as it comes');
  } finally {
    await single.close();
  }
});

test("a follower applies what it set aside before a membership change, in the change's order", async () => {
  const h = await replicaHarness({ followerApplyBatchEntries: 16 });
  try {
    await append(h, 4, 3);
    await append(h, 5, 4);
    assert.equal(h.kv.appliedIndex, FOUNDED);
    // A configuration change at 6, committed with the next append: nothing may be held back past it.
    const change: Entry = {
      index: 6,
      term: LEADER_TERM,
      type: 'confChange',
      data: encodeConfChange({ changes: [{ type: 'addLearner', node: 'n4' }] }),
    };
    await append(h, 6, 5, change);
    assert.equal(h.kv.appliedIndex, FOUNDED, '4 and 5 committed, set aside');
    await append(h, 7, 6);
    assert.equal(h.kv.appliedIndex, 6, 'the change and everything before it applied at once');
    assert.ok(h.replica.engine.status().confState.learners.includes('n4'), 'the change took effect');
  } finally {
    await h.close();
  }
});
