import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Entry } from '../../src/consensus/types.js';
import { encodeCommand } from '../../src/kv/command-codec.js';
import type { ApplyResult } from '../../src/kv/types.js';
import { PendingProposals, type ProposalOutcome, type ProposalWaiter } from '../../src/node/pending-proposals.js';
import {
  MAX_BATCH_COMMANDS,
  ProposalIds,
  unwrapProposal,
  wrapBatch,
  wrapProposal,
} from '../../src/node/proposal-envelope.js';

const put = encodeCommand({ type: 'put', key: 'k', value: Buffer.from('v') });
const put2 = encodeCommand({ type: 'put', key: 'key-2', value: Buffer.from('value 2') });
const result = { ok: true, type: 'put', revision: 7 } as unknown as ApplyResult;
const entry = (index: number, term: number, data: Uint8Array): Entry => ({ index, term, type: 'normal', data });
const byId = (want: number) => (_e: Entry, id: number | null) => id === want;
const idOf = (e: Entry) => unwrapProposal(e.data).id;

/** Applies `e` with one result per command (as the replica does). */
function applyEntry(pending: PendingProposals, e: Entry, results: ApplyResult[]): void {
  pending.applied(e, idOf(e), results, 0, results.length);
}

function waiters(n: number): { waiters: ProposalWaiter[]; outcomes: Promise<ProposalOutcome>[] } {
  const ws: ProposalWaiter[] = [];
  const outcomes = Array.from(
    { length: n },
    () => new Promise<ProposalOutcome>((resolve, reject) => ws.push({ resolve, reject })),
  );
  return { waiters: ws, outcomes };
}

describe('proposal envelope', () => {
  test('wraps a command with its id and unwraps it; bare commands and empty entries have no id', () => {
    const wrapped = wrapProposal(2 ** 48 - 1, put);
    assert.deepEqual(unwrapProposal(wrapped), { id: 2 ** 48 - 1, command: put, commands: null });
    assert.equal(wrapped.length, put.length + 7);
    assert.deepEqual(unwrapProposal(put), { id: null, command: put, commands: null });
    assert.deepEqual(unwrapProposal(new Uint8Array(0)).id, null);
  });

  test('a batch keeps its commands in order, with the first id', () => {
    const empty = new Uint8Array(0);
    const wrapped = wrapBatch(12345, [put, put2, empty, put]);
    const u = unwrapProposal(wrapped);
    assert.equal(u.id, 12345);
    assert.equal(u.command, null);
    assert.deepEqual(
      u.commands?.map((c) => Buffer.from(c).toString('hex')),
      [put, put2, empty, put].map((c) => Buffer.from(c).toString('hex')),
    );
    assert.equal(wrapped.length, 9 + 4 * 4 + 2 * put.length + put2.length);
    assert.throws(() => wrapBatch(1, [put]), RangeError);
    assert.throws(() => wrapBatch(1, new Array(MAX_BATCH_COMMANDS + 1).fill(put)), RangeError);
  });

  test('a batch that does not parse exactly is one command without an id (it then fails to decode, deterministically)', () => {
    const wrapped = Buffer.from(wrapBatch(7, [put, put2]));
    const truncated = wrapped.subarray(0, wrapped.length - 1);
    const trailing = Buffer.concat([wrapped, Buffer.from([0])]);
    const countOne = Buffer.from(wrapped);
    countOne.writeUInt16BE(1, 7);
    const hugeLength = Buffer.from(wrapped);
    hugeLength.writeUInt32BE(0xffffffff, 9);
    for (const bad of [truncated, trailing, countOne, hugeLength, wrapped.subarray(0, 8)]) {
      assert.deepEqual(unwrapProposal(bad), { id: null, command: bad, commands: null });
    }
  });

  test('ids are distinct and wrap around in 48 bits; takeMany hands out consecutive ids', () => {
    const ids = new ProposalIds(() => 1 - 2 ** -53);
    const a = ids.take();
    const b = ids.take();
    assert.equal(a, 2 ** 48 - 1);
    assert.equal(b, 0);
    const fresh = new ProposalIds(() => 0.5);
    const seen = new Set(Array.from({ length: 1000 }, () => fresh.take()));
    assert.equal(seen.size, 1000);
    const many = new ProposalIds(() => 1 - 2 ** -53);
    assert.equal(many.takeMany(3), 2 ** 48 - 1);
    assert.equal(many.take(), 2);
  });
});

describe('pending proposals', () => {
  test('applied under another term (Multi-Paxos re-proposed it under a new ballot): still the write, answered', async () => {
    const pending = new PendingProposals(10_000);
    const outcome = pending.waitOne(5, 2, 'quorum', byId(42));
    applyEntry(pending, entry(5, 3, wrapProposal(42, put)), [result]);
    assert.deepEqual(await outcome, { kind: 'applied', result });
    assert.equal(pending.size, 0);
  });

  test('another entry at the index (same term or not): the write surely did not take effect', async () => {
    const pending = new PendingProposals(10_000);
    const sameTerm = pending.waitOne(5, 2, 'quorum', byId(42));
    const otherTerm = pending.waitOne(6, 2, 'quorum', byId(43));
    const noop = pending.waitOne(7, 2, 'quorum', byId(44));
    applyEntry(pending, entry(5, 2, wrapProposal(99, put)), [result]);
    applyEntry(pending, entry(6, 3, wrapProposal(99, put)), [result]);
    applyEntry(pending, entry(7, 3, new Uint8Array(0)), [result]);
    for (const p of [sameTerm, otherTerm, noop]) {
      await assert.rejects(p, (e: { code: string }) => e.code === 'UNAVAILABLE');
    }
  });

  test('a new proposal at the same index (the log was rewritten there): the earlier one is answered at once', async () => {
    const pending = new PendingProposals(10_000);
    const earlier = pending.waitOne(5, 2, 'quorum', byId(1));
    const later = pending.waitOne(5, 4, 'quorum', byId(2));
    await assert.rejects(earlier, (e: { code: string }) => e.code === 'UNAVAILABLE');
    applyEntry(pending, entry(5, 4, wrapProposal(2, put)), [result]);
    assert.deepEqual(await later, { kind: 'applied', result });
  });

  test('no answer in time: TIMEOUT (the outcome is unknown)', async () => {
    const pending = new PendingProposals(20);
    await assert.rejects(pending.waitOne(1, 1, 'quorum', byId(1)), (e: { code: string }) => e.code === 'TIMEOUT');
  });

  test('one timer serves every deadline: each proposal times out at its own, an answered one never', async () => {
    const pending = new PendingProposals(40);
    const start = performance.now();
    const rejectedAt = (p: Promise<ProposalOutcome>) =>
      p.then(
        () => assert.fail('answered'),
        (e: { code: string }) => {
          assert.equal(e.code, 'TIMEOUT');
          return performance.now() - start;
        },
      );
    const first = rejectedAt(pending.waitOne(1, 1, 'quorum', byId(1)));
    const answered = pending.waitOne(2, 1, 'quorum', byId(2));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const second = rejectedAt(pending.waitOne(3, 1, 'quorum', byId(3)));
    applyEntry(pending, entry(2, 1, wrapProposal(2, put)), [result]);
    assert.deepEqual(await answered, { kind: 'applied', result });
    const firstMs = await first;
    assert.ok(firstMs >= 40, `the first timed out at ${firstMs} ms, not before its deadline`);
    assert.equal(pending.size, 1, 'the second is still waiting');
    const secondMs = await second;
    assert.ok(secondMs >= 60, `the second timed out at ${secondMs} ms, not at the first's deadline`);
    assert.equal(pending.size, 0);

    // The timer was set for a proposal answered since: it fires for nothing, then waits for the next deadline.
    const again = new PendingProposals(40);
    const restart = performance.now();
    const early = again.waitOne(1, 1, 'quorum', byId(1));
    await new Promise((resolve) => setTimeout(resolve, 20));
    const late = again.waitOne(2, 1, 'quorum', byId(2));
    applyEntry(again, entry(1, 1, wrapProposal(1, put)), [result]);
    assert.deepEqual(await early, { kind: 'applied', result });
    await assert.rejects(late, (e: { code: string }) => e.code === 'TIMEOUT');
    const lateMs = performance.now() - restart;
    assert.ok(lateMs >= 60, `timed out at ${lateMs} ms, not at the answered proposal's deadline`);
  });

  test('a batch entry: each write gets its own command result, in order', async () => {
    const pending = new PendingProposals(10_000);
    const { waiters: ws, outcomes } = waiters(3);
    pending.wait(9, 2, 'quorum', byId(100), ws);
    assert.equal(pending.size, 1);
    const e = entry(9, 2, wrapBatch(100, [put, put2, put]));
    const r = (revision: number) => ({ ok: true, type: 'put', index: 9, revision }) as unknown as ApplyResult;
    // The flat result array of a Ready: another entry's result first, then this entry's three.
    pending.applied(e, idOf(e), [r(1), r(2), r(3), r(4)], 1, 3);
    assert.deepEqual(
      (await Promise.all(outcomes)).map((o) => (o.kind === 'applied' ? o.result.revision : -1)),
      [2, 3, 4],
    );
    assert.equal(pending.size, 0);
  });

  test('a batch entry replaced by another entry, or by a batch of another size: every write is answered UNAVAILABLE', async () => {
    const pending = new PendingProposals(10_000);
    const a = waiters(2);
    const b = waiters(2);
    pending.wait(3, 1, 'quorum', byId(50), a.waiters);
    pending.wait(4, 1, 'quorum', byId(60), b.waiters);
    applyEntry(pending, entry(3, 2, wrapProposal(77, put)), [result]);
    const otherSize = entry(4, 2, wrapBatch(60, [put, put, put]));
    applyEntry(pending, otherSize, [result, result, result]);
    for (const p of [...a.outcomes, ...b.outcomes]) {
      await assert.rejects(p, (e: { code: string }) => e.code === 'UNAVAILABLE');
    }
  });

  test('a batch entry shares one timeout, and ack=leader and ack=all answer every write of it', async () => {
    const timed = new PendingProposals(20);
    const t = waiters(2);
    timed.wait(1, 1, 'quorum', byId(1), t.waiters);
    for (const p of t.outcomes) await assert.rejects(p, (e: { code: string }) => e.code === 'TIMEOUT');

    const pending = new PendingProposals(10_000);
    const leader = waiters(2);
    pending.wait(5, 3, 'leader', byId(5), leader.waiters);
    pending.persistedLocally(5, () => 3);
    for (const o of await Promise.all(leader.outcomes))
      assert.deepEqual(o, { kind: 'durableOnLeader', index: 5, term: 3 });

    const all = waiters(2);
    pending.wait(6, 3, 'all', byId(6), all.waiters);
    assert.equal(pending.hasAckAll, true);
    const e = entry(6, 3, wrapBatch(6, [put, put2]));
    const r1 = { ...result, revision: 11 } as ApplyResult;
    const r2 = { ...result, revision: 12 } as ApplyResult;
    applyEntry(pending, e, [r1, r2]);
    pending.allVotersHold(5);
    assert.equal(pending.size, 1, 'not every voter holds index 6 yet');
    pending.allVotersHold(6);
    assert.deepEqual(await Promise.all(all.outcomes), [
      { kind: 'applied', result: r1 },
      { kind: 'applied', result: r2 },
    ]);
    assert.equal(pending.hasAckAll, false);
  });
});
