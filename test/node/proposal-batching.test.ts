import assert from 'node:assert/strict';
import http2 from 'node:http2';
import { after, before, describe, test } from 'node:test';
import { request } from 'undici';
import { h2Call as call } from '../support/h2-call.js';
import { TestCluster } from '../support/test-cluster.js';

/** The sum of a metric's samples on one node (its labels aside). */
async function metric(cluster: TestCluster, node: string, name: string): Promise<number> {
  const text = await (await request(`http://${cluster.httpOf(node)}/metrics`)).body.text();
  let sum = 0;
  for (const line of text.split('\n')) {
    if (line.startsWith(`${name}{`) || line.startsWith(`${name} `))
      sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return sum;
}

const WRITES = 64;

for (const batchArgs of [[], ['--proposal-batch-max-bytes', '0']]) {
  const batching = batchArgs.length === 0;
  describe(`writes arriving together on a 3-node cluster of real processes: ${batching ? 'batched (the default)' : 'one entry each (--proposal-batch-max-bytes 0)'}`, () => {
    let cluster: TestCluster;
    let session: http2.ClientHttp2Session | undefined;
    before(async () => {
      cluster = await TestCluster.start({ nodes: 3, args: batchArgs });
    });
    after(async () => {
      session?.close();
      await cluster?.stop();
    });

    test('each write gets its own result and revision, followers apply them all, and entries are shared only when batching', async () => {
      const leader = await cluster.waitForLeader();
      session = http2.connect(`http://${cluster.httpOf(leader)}`);
      await call(session, 'PUT', '/v1/kv/warm-up', 'x'); // the session is up before the burst
      const proposalsBefore = await metric(cluster, leader, 'cairn_raft_proposals_total');
      const entriesBefore = await metric(cluster, leader, 'cairn_raft_proposal_entries_total');

      // One burst on one HTTP/2 session: the leader reads the requests together, in one event-loop turn or a few.
      // Among them a conditional write that must fail on its own without failing its neighbours.
      const s = session;
      const puts = Array.from({ length: WRITES }, (_, i) => call(s, 'PUT', `/v1/kv/burst/${i}`, `value-${i}`));
      const conditional = call(s, 'PUT', '/v1/kv/burst/absent?ifVersion=5', 'never');
      const replies = await Promise.all(puts);
      const refused = await conditional;

      assert.equal(refused.status, 412, refused.body);
      assert.equal((JSON.parse(refused.body) as { error: { code: string } }).error.code, 'COMPARE_FAILED');
      const revisions = replies.map((r, i) => {
        assert.equal(r.status, 200, `write ${i}: ${r.body}`);
        const body = JSON.parse(r.body) as { revision: number; version: number };
        assert.equal(body.version, 1);
        return body.revision;
      });
      // Every write has its own revision, and together they are consecutive (nothing else wrote meanwhile).
      const sorted = [...revisions].sort((a, b) => a - b);
      assert.equal(new Set(revisions).size, WRITES);
      assert.equal(sorted[WRITES - 1]! - sorted[0]!, WRITES - 1);

      const proposals = (await metric(cluster, leader, 'cairn_raft_proposals_total')) - proposalsBefore;
      const entries = (await metric(cluster, leader, 'cairn_raft_proposal_entries_total')) - entriesBefore;
      assert.equal(proposals, WRITES + 1);
      if (batching) assert.ok(entries < proposals / 2, `${proposals} writes in ${entries} entries`);
      else assert.equal(entries, proposals);

      // Every follower applied every write of every entry, with the leader's revisions.
      for (const follower of [...cluster.specs.keys()].filter((n) => n !== leader)) {
        const client = cluster.client([follower]);
        try {
          for (let i = 0; i < WRITES; i += 7) {
            const kv = await client.get(`burst/${i}`);
            assert.equal(kv?.text(), `value-${i}`);
            assert.equal(kv?.modRevision, revisions[i]);
          }
          assert.equal(await client.get('burst/absent'), null);
        } finally {
          await client.close();
        }
      }
    });
  });
}
