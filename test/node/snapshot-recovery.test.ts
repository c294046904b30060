import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createEngine } from '../../src/consensus/create-engine.js';
import { EMPTY_CONF_STATE } from '../../src/consensus/log-storage.js';
import type { Snapshot } from '../../src/consensus/types.js';
import { KvStore } from '../../src/kv/store.js';
import { encodePendingSnapshot, pendingSnapshotKey, recoverSnapshotInstall } from '../../src/node/replica.js';
import { bootstrapLog } from '../../src/raft/bootstrap.js';
import { LogStore } from '../../src/storage/log-store.js';
import { SeededRandom } from '../../src/util/random.js';

const VOTERS = ['n1', 'n2', 'n3'];

for (const engine of ['raft', 'paxos'] as const) {
  test(`${engine}: a node killed between a snapshot's state-machine install and its log record starts again`, async () => {
    // Torture, Raft seed 1805: the node had switched its state machine to a snapshot at 2651 when it was killed;
    // its log still held the hard state of before (commit 1403). The restart completed the log's side of the
    // install but kept that commit, and the engine refused to start: "stored commit 1403 outside [2651, 2651]".
    const dir = mkdtempSync(join(tmpdir(), 'cairn-snapshot-recovery-'));
    try {
      const logStore = await LogStore.open({ dir: join(dir, 'raft') });
      const { entries, hardState } = bootstrapLog(VOTERS);
      await logStore.bootstrap(0, EMPTY_CONF_STATE);
      await logStore.persist([{ group: 0, entries, hardState }]);
      const kv = await KvStore.open({ path: join(dir, 'kv') });
      // The state machine is at the snapshot's index (its install completed); the log is still at the bootstrap.
      const index = 40;
      kv.applyBatch(Array.from({ length: index }, (_, i) => ({ index: i + 1, data: null })));
      const snapshot: Snapshot = {
        meta: { index, term: 3, confState: { ...EMPTY_CONF_STATE, voters: VOTERS } },
        data: new Uint8Array([1, 2, 3]),
      };
      await logStore.setMeta(pendingSnapshotKey(0), encodePendingSnapshot(snapshot));
      assert.equal(logStore.group(0).initialState().hardState.commit, entries.length);

      assert.equal(await recoverSnapshotInstall(logStore, kv, 0), true);
      const view = logStore.group(0);
      assert.equal(view.snapshotMeta().index, index, "the log's side of the install is complete");
      const recovered = view.initialState().hardState;
      assert.equal(recovered.commit, index, 'a snapshot holds committed entries only: the commit index follows it');
      assert.equal(recovered.term, 3, 'and the term its term');
      assert.equal(recovered.vote, null, 'no vote was cast in that term');
      // The engine starts over this log (it threw before the fix).
      const started = createEngine(engine, {
        id: 'n1',
        group: 0,
        storage: view,
        random: new SeededRandom(1),
        electionTicks: 10,
        heartbeatTicks: 1,
        applied: kv.appliedIndex,
      });
      assert.equal(started.status().commit, index);
      assert.equal(await recoverSnapshotInstall(logStore, kv, 0), false, 'nothing left to complete');
      await kv.close();
      await logStore.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}
