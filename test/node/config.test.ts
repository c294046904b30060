import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startConfigFromOptions } from '../../src/cli/start-command.js';
import { ConfigError, resolveNodeConfig } from '../../src/node/config.js';

const base = {
  name: 'n1',
  dataDir: '/tmp/cairn-config-test',
  peerListen: '127.0.0.1:7401',
  httpListen: '127.0.0.1:7301',
  initialCluster: [{ name: 'n1', peer: '127.0.0.1:7401' }],
};

test('the CPU health threshold defaults to 90 % and accepts 1..100 (100: the rule never fires)', () => {
  assert.equal(resolveNodeConfig(base).cpuSaturatedPercent, 90);
  assert.equal(resolveNodeConfig({ ...base, cpuSaturatedPercent: 100 }).cpuSaturatedPercent, 100);
  assert.throws(() => resolveNodeConfig({ ...base, cpuSaturatedPercent: 0 }), ConfigError);
  assert.throws(() => resolveNodeConfig({ ...base, cpuSaturatedPercent: 150 }), /cpuSaturatedPercent/);
});

/** The least `cairn start` needs, for the flag tests. */
const startFlags = {
  name: 'n1',
  peerListen: '127.0.0.1:7101',
  httpListen: '127.0.0.1:7201',
  initialCluster: 'n1=127.0.0.1:7101',
  initialClusterState: 'new',
};

test('the HTTP/2 implementation defaults to the lean server; --http2-implementation accepts cairn or node only', () => {
  assert.equal(resolveNodeConfig(base).http2Implementation, 'cairn');
  const node = resolveNodeConfig(startConfigFromOptions({ ...startFlags, http2Implementation: 'node' }));
  assert.equal(node.http2Implementation, 'node');
  assert.throws(
    () => startConfigFromOptions({ ...startFlags, http2Implementation: 'nghttp2' }),
    /--http2-implementation must be cairn or node/,
  );
});

test('the commit announcement delay defaults to 10 ms, accepts 0 (at once) and is set by --commit-announce-delay-ms', () => {
  assert.equal(resolveNodeConfig(base).commitAnnounceDelayMs, 10);
  assert.equal(resolveNodeConfig({ ...base, commitAnnounceDelayMs: 0 }).commitAnnounceDelayMs, 0);
  assert.throws(() => resolveNodeConfig({ ...base, commitAnnounceDelayMs: -1 }), /commitAnnounceDelayMs/);
  assert.equal(
    resolveNodeConfig(startConfigFromOptions({ ...startFlags, commitAnnounceDelayMs: '10' })).commitAnnounceDelayMs,
    10,
  );
  assert.throws(
    () => startConfigFromOptions({ ...startFlags, commitAnnounceDelayMs: 'soon' }),
    /--commit-announce-delay-ms/,
  );
});

test('proposal batches default to 256 KiB, 0 switches batching off, at most 1 MiB; set by --proposal-batch-max-bytes', () => {
  assert.equal(resolveNodeConfig(base).proposalBatchMaxBytes, 256 * 1024);
  assert.equal(resolveNodeConfig({ ...base, proposalBatchMaxBytes: 0 }).proposalBatchMaxBytes, 0);
  assert.throws(() => resolveNodeConfig({ ...base, proposalBatchMaxBytes: 1024 * 1024 + 1 }), /proposalBatchMaxBytes/);
  assert.throws(() => resolveNodeConfig({ ...base, proposalBatchMaxBytes: -1 }), /proposalBatchMaxBytes/);
  assert.equal(
    resolveNodeConfig(startConfigFromOptions({ ...startFlags, proposalBatchMaxBytes: '4096' })).proposalBatchMaxBytes,
    4096,
  );
  assert.throws(
    () => startConfigFromOptions({ ...startFlags, proposalBatchMaxBytes: 'lots' }),
    /--proposal-batch-max-bytes/,
  );
});

test('followers apply in batches of 16 (1..1024, --follower-apply-batch-entries); small syncs inline up to 4 KiB', () => {
  assert.equal(resolveNodeConfig(base).followerApplyBatchEntries, 16);
  assert.equal(resolveNodeConfig({ ...base, followerApplyBatchEntries: 1 }).followerApplyBatchEntries, 1);
  assert.throws(() => resolveNodeConfig({ ...base, followerApplyBatchEntries: 0 }), /followerApplyBatchEntries/);
  assert.throws(() => resolveNodeConfig({ ...base, followerApplyBatchEntries: 1025 }), /followerApplyBatchEntries/);
  assert.equal(
    resolveNodeConfig(startConfigFromOptions({ ...startFlags, followerApplyBatchEntries: '64' }))
      .followerApplyBatchEntries,
    64,
  );
  assert.throws(
    () => startConfigFromOptions({ ...startFlags, followerApplyBatchEntries: 'many' }),
    /--follower-apply-batch-entries/,
  );
  assert.equal(resolveNodeConfig(base).syncInlineMaxBytes, 4096);
  assert.equal(resolveNodeConfig({ ...base, syncInlineMaxBytes: 0 }).syncInlineMaxBytes, 0);
  assert.throws(() => resolveNodeConfig({ ...base, syncInlineMaxBytes: -1 }), /syncInlineMaxBytes/);
  assert.equal(
    resolveNodeConfig(startConfigFromOptions({ ...startFlags, syncInlineMaxBytes: '0' })).syncInlineMaxBytes,
    0,
  );
  assert.throws(() => startConfigFromOptions({ ...startFlags, syncInlineMaxBytes: '4k' }), /--sync-inline-max-bytes/);
});

test('the watch history kept defaults to 100,000 revisions and is set by --history-retention-revisions', () => {
  assert.equal(resolveNodeConfig(base).historyRetentionRevisions, 100_000);
  assert.equal(
    resolveNodeConfig(startConfigFromOptions({ ...startFlags, historyRetentionRevisions: '5000000' }))
      .historyRetentionRevisions,
    5_000_000,
  );
  assert.throws(() => resolveNodeConfig({ ...base, historyRetentionRevisions: 0 }), /historyRetentionRevisions/);
  assert.throws(
    () => startConfigFromOptions({ ...startFlags, historyRetentionRevisions: 'all' }),
    /--history-retention-revisions/,
  );
});
