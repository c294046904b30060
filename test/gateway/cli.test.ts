import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { gatewayOptionsFromFlags, parseListen } from '../../src/cli/gateway-command.js';
import { GatewayConfigError, resolveGatewayOptions } from '../../src/gateway/options.js';

const flags = {
  listen: '127.0.0.1:7300',
  strategy: 'least-time',
  discovery: true,
  leaderWrites: true,
  healthChecks: true,
  logLevel: 'info',
};

describe('cairn gateway flags', () => {
  test('--listen takes host:port, IPv6 in brackets', () => {
    assert.deepEqual(parseListen('127.0.0.1:7300'), { host: '127.0.0.1', port: 7300 });
    assert.deepEqual(parseListen('[::1]:80'), { host: '::1', port: 80 });
    for (const bad of ['7300', 'host:', 'host:99999', ':80']) assert.throws(() => parseListen(bad), GatewayConfigError);
  });

  test('flags become options, with every default filled in by resolveGatewayOptions', () => {
    const options = gatewayOptionsFromFlags({ ...flags, endpoints: '10.0.0.1:7201, http://10.0.0.2:7201' });
    const resolved = resolveGatewayOptions(options);
    assert.deepEqual(
      resolved.backends.map((b) => b.address),
      ['http://10.0.0.1:7201', 'http://10.0.0.2:7201'],
    );
    assert.equal(resolved.strategy, 'least-time');
    assert.equal(resolved.health?.intervalMs, 2_000);
    assert.equal(resolved.maxRequestBodyBytes, 8 * 1024 * 1024 + 64 * 1024);
    assert.equal(resolved.maxReplayableBodyBytes, 64 * 1024);
    assert.equal(resolved.trustForwardedFor, false);

    const custom = resolveGatewayOptions(
      gatewayOptionsFromFlags({
        ...flags,
        endpoints: '10.0.0.1:7201',
        strategy: 'zone',
        zone: 'eu-1a',
        discovery: false,
        healthChecks: false,
        maxBodyBytes: '1000',
        trustForwardedFor: true,
      }),
    );
    assert.equal(custom.health, null);
    assert.equal(custom.discovery, false);
    assert.equal(custom.zone, 'eu-1a');
    assert.equal(custom.maxRequestBodyBytes, 1000);
    assert.equal(custom.maxReplayableBodyBytes, 1000, 'never more than the body limit');
  });

  test('bad flags are clear errors', () => {
    assert.throws(() => gatewayOptionsFromFlags({ ...flags, strategy: 'fastest' }), /--strategy must be one of/);
    assert.throws(() => gatewayOptionsFromFlags({ ...flags, maxBodyBytes: '-1' }), /--max-body-bytes/);
    assert.throws(() => gatewayOptionsFromFlags({ ...flags, endpoints: 'https://x:1' }), /only http/);
    assert.throws(() => resolveGatewayOptions({ endpoints: [] }), /at least one endpoint/);
    assert.throws(() => resolveGatewayOptions({ endpoints: ['a:1'], health: { intervalMs: 0 } }), /intervalMs/);
    assert.throws(
      () => resolveGatewayOptions({ endpoints: [{ url: 'a:1', weight: 0 }] }),
      /weight must be an integer in 1\.\.10000/,
    );
  });
});
