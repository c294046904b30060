import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { runCli, TestCluster } from '../support/test-cluster.js';

describe('backup and restore through the CLI', () => {
  const clusters: TestCluster[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'cairn-backup-'));
  after(async () => {
    await Promise.all(clusters.map((c) => c.stop()));
    rmSync(dir, { recursive: true, force: true });
  });

  test('cairn snapshot save, then restore seeds a new cluster with the same data', async () => {
    const a = await TestCluster.start({ nodes: 3 });
    clusters.push(a);
    const c = a.client();
    for (let i = 0; i < 200; i++) await c.put(`b/${i}`, `v${i}`);
    const lease = await c.grantLease(3600);
    await c.put('b/leased', 'l', { lease: lease.id });
    await c.close();
    const file = join(dir, 'cluster.backup');
    const saved = await runCli(['--endpoints', a.endpoints().join(','), 'snapshot', 'save', file]);
    assert.equal(saved.code, 0, saved.stderr);
    assert.match(saved.stdout, /saved .*applied index \d+/);

    const b = await TestCluster.start({
      nodes: 3,
      beforeStart: async (cluster) => {
        for (const name of cluster.specs.keys()) {
          const r = await runCli([
            'snapshot',
            'restore',
            file,
            '--name',
            name,
            '--data-dir',
            join(cluster.dir, name),
            '--initial-cluster',
            cluster.initialCluster(),
          ]);
          assert.equal(r.code, 0, r.stderr);
        }
      },
    });
    clusters.push(b);
    const cb = b.client();
    for (const i of [0, 57, 199]) assert.equal((await cb.get(`b/${i}`))?.text(), `v${i}`);
    assert.equal((await cb.get('b/leased'))?.lease, lease.id);
    const put = await cb.put('b/new', 'written after the restore');
    assert.ok(put.revision > 200);
    await cb.close();

    // Restoring into a directory that holds data is refused; a damaged file is refused.
    const again = await runCli([
      'snapshot',
      'restore',
      file,
      '--name',
      'n1',
      '--data-dir',
      join(b.dir, 'n1'),
      '--initial-cluster',
      b.initialCluster(),
    ]);
    assert.notEqual(again.code, 0);
    const garbage = join(dir, 'garbage.backup');
    writeFileSync(garbage, 'this is not a backup file at all, just some text');
    const bogus = await runCli([
      'snapshot',
      'restore',
      garbage,
      '--name',
      'n1',
      '--data-dir',
      join(dir, 'x'),
      '--initial-cluster',
      'n1=127.0.0.1:1',
    ]);
    assert.notEqual(bogus.code, 0);
    assert.match(bogus.stderr, /not a Cairn backup/);
  });
});
