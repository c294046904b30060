import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatHostPort, parseHostPort } from '../../src/transport/address.js';
import { backoffDelayMs, rejectedDelayMs } from '../../src/transport/backoff.js';
import { TransportError } from '../../src/transport/errors.js';
import { resolveTransportOptions, TRANSPORT_DEFAULTS } from '../../src/transport/options.js';
import { SeededRandom } from '../../src/util/random.js';
import { ConstantRandom } from './harness.js';

const code = (expected: string) => (error: unknown) => error instanceof TransportError && error.code === expected;

test('addresses parse as host:port, IPv6 in brackets; bad ones throw INVALID_ADDRESS', () => {
  assert.deepEqual(parseHostPort('127.0.0.2:7101'), { host: '127.0.0.2', port: 7101 });
  assert.deepEqual(parseHostPort('node-a.local:0'), { host: 'node-a.local', port: 0 });
  assert.deepEqual(parseHostPort('[::1]:7101'), { host: '::1', port: 7101 });
  assert.equal(formatHostPort({ host: '::1', port: 1 }), '[::1]:1');
  assert.equal(formatHostPort({ host: '127.0.0.1', port: 1 }), '127.0.0.1:1');
  for (const bad of [
    '',
    '7101',
    ':7101',
    'host:',
    'host:port',
    'host:70000',
    '::1:7101',
    '[::1]7101',
    '[nope]:1',
    'a b:1',
  ]) {
    assert.throws(() => parseHostPort(bad), code('INVALID_ADDRESS'), bad);
  }
});

test('options get documented defaults; localAddress follows the listen host unless it is a wildcard', () => {
  const base = { nodeName: 'n1', clusterId: 'c', onMessage: () => {} };
  const resolved = resolveTransportOptions({ ...base, listen: '127.0.0.3:7103', peers: { n2: '127.0.0.2:7102' } });
  assert.equal(resolved.localAddress, '127.0.0.3');
  assert.equal(resolved.maxFrameBytes, 16 * 1024 * 1024);
  assert.equal(resolved.reconnectMinMs, 50);
  assert.equal(resolved.reconnectMaxMs, 2000);
  assert.deepEqual(resolved.peers.get('n2'), { host: '127.0.0.2', port: 7102 });
  for (const [key, value] of Object.entries(TRANSPORT_DEFAULTS))
    assert.equal(resolved[key as keyof typeof resolved], value);
  assert.equal(resolveTransportOptions({ ...base, listen: '0.0.0.0:1' }).localAddress, undefined);
  assert.equal(resolveTransportOptions({ ...base, listen: '127.0.0.1:1', localAddress: null }).localAddress, undefined);
  assert.equal(
    resolveTransportOptions({ ...base, listen: '0.0.0.0:1', localAddress: '10.1.1.1' }).localAddress,
    '10.1.1.1',
  );
});

test('bad options throw INVALID_OPTION naming the option', () => {
  const base = { nodeName: 'n1', clusterId: 'c', listen: '127.0.0.1:0', onMessage: () => {} };
  assert.throws(() => resolveTransportOptions({ ...base, nodeName: '' }), /nodeName/);
  assert.throws(() => resolveTransportOptions({ ...base, clusterId: 'x'.repeat(300) }), /clusterId/);
  assert.throws(() => resolveTransportOptions({ ...base, maxQueueMessages: 0 }), /maxQueueMessages/);
  assert.throws(() => resolveTransportOptions({ ...base, reconnectMinMs: 100, reconnectMaxMs: 50 }), /reconnectMaxMs/);
  assert.throws(
    () => resolveTransportOptions({ ...base, batchMaxBytes: 2 ** 30, maxFrameBytes: 2 ** 20 }),
    /batchMaxBytes/,
  );
  assert.throws(() => resolveTransportOptions({ ...base, maxQueueAgeMs: 1.5 }), code('INVALID_OPTION'));
  assert.throws(() => resolveTransportOptions({ ...base, peers: { n1: '127.0.0.1:1' } }), /must not include this node/);
  assert.throws(() => resolveTransportOptions({ ...base, peers: { n2: 'nowhere' } }), code('INVALID_ADDRESS'));
  assert.throws(() => resolveTransportOptions({ ...base, peers: { n2: '127.0.0.1:0' } }), code('INVALID_ADDRESS'));
  assert.throws(() => resolveTransportOptions({ ...base, localAddress: 'localhost' }), /localAddress/);
  assert.throws(() => resolveTransportOptions({ ...base, onMessage: undefined as never }), /onMessage/);
});

test('backoff is full jitter under a doubling cap', () => {
  const upper = new ConstantRandom(0.999_999);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 50].map((attempt) => backoffDelayMs(attempt, 50, 2000, upper)),
    [49, 99, 199, 399, 799, 1599, 1999, 1999, 1999],
  );
  assert.equal(backoffDelayMs(3, 50, 2000, new ConstantRandom(0)), 0);
  const random = new SeededRandom(3);
  for (let i = 0; i < 1000; i++) {
    const attempt = i % 10;
    const delay = backoffDelayMs(attempt, 50, 2000, random);
    assert.ok(delay >= 0 && delay < Math.min(2000, 50 * 2 ** attempt));
  }
});

test('after a refusal the delay is between half and all of the cap', () => {
  assert.equal(rejectedDelayMs(2000, new ConstantRandom(0)), 1000);
  assert.equal(rejectedDelayMs(2000, new ConstantRandom(0.999_999)), 1999);
});
