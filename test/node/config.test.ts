import assert from 'node:assert/strict';
import { test } from 'node:test';
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
