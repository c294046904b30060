import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lessor } from '../../src/kv/lessor.js';

function fakeClock(start = 1_000_000) {
  let now = start;
  return {
    nowMs: () => now,
    advance: (ms: number) => {
      now += ms;
    },
  };
}

test('a primary expires a lease TTL after grant; keepAlive pushes the deadline back', () => {
  const clock = fakeClock();
  const lessor = new Lessor({ nowMs: clock.nowMs });
  lessor.promote([]);
  lessor.grant(1, 10);
  lessor.grant(2, 30);
  clock.advance(9_999);
  assert.deepEqual(lessor.expired(), []);
  assert.equal(lessor.keepAlive(1), 10);
  clock.advance(9_999);
  assert.deepEqual(lessor.expired(), []);
  assert.equal(lessor.remainingMs(1), 1);
  clock.advance(1);
  assert.deepEqual(lessor.expired(), [1]);
  lessor.revoke(1); // the leader's leaseRevoke was applied
  clock.advance(20_000);
  assert.deepEqual(lessor.expired(), [2]);
});

test('an expired lease cannot be kept alive; it is offered again after revokeRetryMs until revoked', () => {
  const clock = fakeClock();
  const lessor = new Lessor({ nowMs: clock.nowMs, revokeRetryMs: 3_000 });
  lessor.promote([{ id: 5, ttlSeconds: 2 }]);
  clock.advance(2_000);
  assert.throws(() => lessor.keepAlive(5), { code: 'LEASE_EXPIRED' });
  assert.deepEqual(lessor.expired(), [5]);
  assert.deepEqual(lessor.expired(), [], 'not offered twice in a row');
  assert.throws(() => lessor.keepAlive(5), { code: 'LEASE_EXPIRED' });
  clock.advance(3_000);
  assert.deepEqual(lessor.expired(), [5], 'the revoke was lost: offered again');
  lessor.revoke(5);
  clock.advance(10_000);
  assert.deepEqual(lessor.expired(), []);
  assert.throws(() => lessor.keepAlive(5), { code: 'LEASE_NOT_FOUND' });
  assert.equal(lessor.remainingMs(5), null);
});

test('expired() returns a bounded batch, soonest deadline first', () => {
  const clock = fakeClock();
  const lessor = new Lessor({ nowMs: clock.nowMs, maxExpiredPerCall: 3 });
  lessor.promote([]);
  for (let id = 10; id >= 1; id--) lessor.grant(id, 100 + id);
  clock.advance(1_000_000);
  assert.deepEqual(lessor.expired(), [1, 2, 3]);
  assert.deepEqual(lessor.expired(), [4, 5, 6]);
  assert.deepEqual(lessor.expired(), [7, 8, 9]);
  assert.deepEqual(lessor.expired(), [10]);
  assert.deepEqual(lessor.expired(clock.nowMs()), []);
});

test('promote gives every lease a full TTL from now, so a leader change kills no lease', () => {
  const clock = fakeClock();
  const oldLeader = new Lessor({ nowMs: clock.nowMs });
  oldLeader.promote([{ id: 1, ttlSeconds: 10 }]);
  clock.advance(9_000); // one second left on the old leader
  oldLeader.demote();
  assert.deepEqual(oldLeader.expired(), [], 'a demoted lessor expires nothing');
  assert.throws(() => oldLeader.keepAlive(1), { code: 'LESSOR_NOT_PRIMARY' });

  const newLeader = new Lessor({ nowMs: clock.nowMs });
  newLeader.grant(1, 10); // followers track grants without deadlines
  assert.equal(newLeader.remainingMs(1), Number.POSITIVE_INFINITY);
  clock.advance(60_000);
  assert.deepEqual(newLeader.expired(), []);
  newLeader.promote([{ id: 1, ttlSeconds: 10 }], 1_500);
  clock.advance(11_000);
  assert.deepEqual(newLeader.expired(), [], 'TTL plus the extension');
  clock.advance(500);
  assert.deepEqual(newLeader.expired(), [1]);
});

test('demote resets dying leases; a later promote starts them over', () => {
  const clock = fakeClock();
  const lessor = new Lessor({ nowMs: clock.nowMs });
  lessor.promote([{ id: 1, ttlSeconds: 5 }]);
  clock.advance(5_000);
  assert.deepEqual(lessor.expired(), [1]);
  lessor.demote();
  lessor.promote([{ id: 1, ttlSeconds: 5 }]);
  assert.equal(lessor.keepAlive(1), 5);
  assert.equal(lessor.isPrimary, true);
  assert.equal(lessor.size, 1);
});

test('many keep-alives do not grow the deadline heap without bound', () => {
  const clock = fakeClock();
  const lessor = new Lessor({ nowMs: clock.nowMs });
  lessor.promote([]);
  for (let id = 1; id <= 10; id++) lessor.grant(id, 60);
  for (let i = 0; i < 10_000; i++) {
    clock.advance(1);
    lessor.keepAlive((i % 10) + 1);
  }
  const heap = (lessor as unknown as { heap: unknown[] }).heap;
  assert.ok(heap.length <= 2 * 10 + 64 + 1, `heap holds ${heap.length} entries`);
  clock.advance(60_000);
  assert.deepEqual(
    lessor.expired().sort((a, b) => a - b),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});

test('bad options are refused', () => {
  assert.throws(() => new Lessor({} as never), { code: 'INVALID_ARGUMENT' });
  assert.throws(() => new Lessor({ nowMs: () => 0, maxExpiredPerCall: 0 }), { code: 'INVALID_ARGUMENT' });
});
