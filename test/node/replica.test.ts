import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import { EMPTY_CONF_STATE } from '../../src/consensus/log-storage.js';
import type { Snapshot } from '../../src/consensus/types.js';
import { KvStore } from '../../src/kv/store.js';
import type { ConsensusMessage } from '../../src/node/wire.js';
import { raftMessage } from '../../src/raft/messages.js';
import { electLeader, replicaHarness, turn } from '../support/replica-harness.js';

test("a leader's appends of a new write are on the sockets before its own log write starts", async () => {
  const h = await replicaHarness();
  const { replica, events } = h;
  try {
    await electLeader(h);
    events.length = 0;
    void replica.proposeCommand({ type: 'put', key: 'k', value: new Uint8Array([1, 2, 3]) }, 'quorum').catch(() => {});
    for (let i = 0; i < 3; i++) await turn();
    // The write commits when a follower has synced it: its append must not wait behind the leader's own write
    // and fdatasync hand-off (tens of microseconds at one write in flight).
    const firstWrite = events.indexOf('log write');
    assert.ok(firstWrite > 0, `events: ${events.join(', ')}`);
    assert.deepEqual(events.slice(0, firstWrite).sort(), ['sent app to n2', 'sent app to n3'], events.join(', '));
  } finally {
    await h.close();
  }
});

/** The snapshot stream of a key-value store at `index` (its entries noops), as a leader streams it. */
async function snapshotChunks(index: number): Promise<Uint8Array[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cairn-snapshot-source-'));
  const source = await KvStore.open({ path: dir });
  try {
    source.applyBatch(Array.from({ length: index }, (_, i) => ({ index: i + 1, data: null })));
    const reader = source.createSnapshotReader();
    const chunks: Uint8Array[] = [];
    for (let chunk = reader.nextChunk(); chunk !== null; chunk = reader.nextChunk()) chunks.push(chunk);
    reader.close();
    return chunks;
  } finally {
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a snapshot the consensus engine refuses does not block the next one', async () => {
  const h = await replicaHarness();
  const { replica, kv, registry } = h;
  const packr = new Packr({ useRecords: false });
  const deliver = async (id: string, index: number, term: number) => {
    const chunks = await snapshotChunks(index);
    replica.onSnapshotBegin('n2', id, index);
    for (const [seq, chunk] of chunks.entries()) replica.onSnapshotChunk('n2', id, seq, chunk);
    replica.onSnapshotEnd('n2', id, chunks.length);
    const snapshot: Snapshot = {
      meta: { index, term, confState: { ...EMPTY_CONF_STATE, voters: ['n1', 'n2', 'n3'] } },
      data: packr.pack({ members: registry.toJSON() }),
    };
    replica.step('n2', raftMessage(0, 'n2', 'n1', 'snap', { term, snapshot }) as ConsensusMessage);
    // Until installed and recorded in the log (bounded: a refused one never is).
    const deadline = performance.now() + 2000;
    while (replica.engine.status().applied < index && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  };
  try {
    assert.equal(kv.appliedIndex, 3, 'the founding configuration is applied');
    // Index 2 is below the commit index: Raft refuses the snapshot (it has those entries), no Ready carries it.
    await deliver('stale', 2, 2);
    assert.equal(kv.appliedIndex, 3);
    // The next snapshot is received and installed (before the fix its stream was ignored: the refused one was still
    // "handed to the engine", waiting to be installed).
    await deliver('fresh', 40, 2);
    assert.equal(kv.appliedIndex, 40, 'the second snapshot was installed');
    assert.equal(replica.engine.status().commit, 40);
    await new Promise((resolve) => setTimeout(resolve, 50)); // its log record's last write
  } finally {
    await h.close();
  }
});
