import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { ephemeralRangeStart, reservePort } from '../../src/torture/ports.js';

// Regression (torture seed 2017, 5 nodes): ports taken with listen(0) lie in the ephemeral range, and a spare that
// joined minutes later found its port handed to an outgoing connection (EADDRINUSE, the node "crashed").
test('node ports are free and below the ephemeral range, and a taken port is skipped', async () => {
  const end = ephemeralRangeStart();
  assert.ok(end > 10_000);
  const seen = new Set<number>();
  for (let i = 0; i < 20; i++) {
    const port = await reservePort('127.0.0.1', Math.random);
    assert.ok(port >= 10_000 && port < end, `port ${port} outside [10000, ${end})`);
    seen.add(port);
  }
  assert.ok(seen.size > 1, 'ports are spread, not one fixed number');
  // A port in use is never returned: the first candidate is occupied, the second is taken by the caller.
  const busyPort = await reservePort('127.0.0.1', Math.random, new Set([20_001, 20_002, 20_003]));
  const busy = createServer();
  busy.listen(busyPort, '127.0.0.1');
  await once(busy, 'listening');
  try {
    const picks = [busyPort, 20_001, 20_002, 20_003].map((p) => (p - 10_000 + 0.5) / (end - 10_000));
    let call = 0;
    const random = () => picks[Math.min(call++, picks.length - 1)]!;
    const port = await reservePort('127.0.0.1', random, new Set([20_001]));
    assert.notEqual(port, busyPort);
    assert.notEqual(port, 20_001);
  } finally {
    busy.close();
  }
});
