import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { TORTURE_HISTORY_RETENTION_REVISIONS } from '../../src/torture/torture-cluster.js';
import { TestCluster } from '../support/test-cluster.js';

/**
 * `--history-retention-revisions` reaches the state machine of a real node: a watch from a revision older than
 * the kept history is refused with 410 COMPACTED. (The torture harness relies on the flag: its reference watch
 * replays the whole run after it, and a run of over 100,000 revisions failed with the default.)
 */
describe('history retention set by --history-retention-revisions on a real node', () => {
  let cluster: TestCluster;
  before(async () => {
    cluster = await TestCluster.start({ nodes: 1, args: ['--history-retention-revisions', '5'] });
  });
  after(async () => {
    await cluster?.stop();
  });

  test('a watch from before the last 5 revisions gets 410 COMPACTED; one from within them replays', async () => {
    await cluster.waitForLeader();
    const client = cluster.client();
    try {
      for (let i = 0; i < 12; i++) await client.put(`retained/${i}`, `v${i}`); // revisions 2..13
    } finally {
      await client.close();
    }
    const base = `http://${cluster.httpOf('n1')}/v1/watch?prefix=retained/`;
    const old = await request(`${base}&fromRevision=2`);
    assert.equal(old.statusCode, 410);
    const body = (await old.body.json()) as { error: { code: string; oldestRevision?: number } };
    assert.equal(body.error.code, 'COMPACTED');
    assert.ok((body.error.oldestRevision ?? 0) > 2, JSON.stringify(body));

    const recent = await request(`${base}&fromRevision=13`, { headersTimeout: 5000 });
    assert.equal(recent.statusCode, 200);
    let text = '';
    for await (const chunk of recent.body) {
      text += String(chunk);
      if (text.includes('"revision":13') || text.length > 100_000) break;
    }
    assert.match(text, /"revision":13/);
  });

  test('torture nodes keep far more history than the default 100,000 revisions', () => {
    assert.ok(TORTURE_HISTORY_RETENTION_REVISIONS >= 1_000_000);
  });
});
