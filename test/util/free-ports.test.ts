import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { test } from 'node:test';
import { canListen, ephemeralRangeStart, freePortBase, NoFreePortError } from '../../src/util/free-ports.js';

test('a port base whose every offset is free and below the ephemeral range', async () => {
  const end = ephemeralRangeStart();
  const offsets = [0, 1, 2, 100, 101, 102];
  for (let i = 0; i < 5; i++) {
    const base = await freePortBase('127.0.0.1', offsets);
    assert.ok(base >= 10_000 && base + 102 < end, `ports ${base}..${base + 102} outside [10000, ${end})`);
    for (const offset of offsets) assert.ok(await canListen('127.0.0.1', base + offset));
  }
});

test('a candidate with one busy or taken port in its block is skipped; none free is NO_FREE_PORT', async () => {
  const start = ephemeralRangeStart();
  const host = '127.0.0.1';
  const busyPort = await freePortBase(host, [0]);
  const busy = createServer();
  busy.listen(busyPort, host);
  await once(busy, 'listening');
  try {
    const good = await freePortBase(host, [0, 100], Math.random, new Set([busyPort, busyPort + 100]));
    const takenBase = good + 1;
    // Candidates in order (offsets 0 and 100): one whose port is in use, one whose port the caller already
    // handed out, then a free one. `random` maps to base 10000 + floor(r * (start - 100 - 10000)).
    const toRandom = (base: number) => (base - 10_000 + 0.5) / (start - 100 - 10_000);
    const candidates = [busyPort, takenBase, good].map(toRandom);
    let call = 0;
    const random = () => candidates[Math.min(call++, candidates.length - 1)]!;
    assert.equal(await freePortBase(host, [0, 100], random, new Set([takenBase + 100])), good);
    assert.equal(call, 3);
  } finally {
    busy.close();
  }
  const only = 10_000 + Math.floor(0.5 * (start - 10_000)); // the one candidate random() = 0.5 gives
  await assert.rejects(
    freePortBase(host, [0], () => 0.5, new Set([only])),
    (error: unknown) => error instanceof NoFreePortError && error.code === 'NO_FREE_PORT',
  );
});
