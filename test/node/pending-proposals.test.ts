import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Entry } from '../../src/consensus/types.js';
import { encodeCommand } from '../../src/kv/command-codec.js';
import type { ApplyResult } from '../../src/kv/types.js';
import { PendingProposals } from '../../src/node/pending-proposals.js';
import { ProposalIds, unwrapProposal, wrapProposal } from '../../src/node/proposal-envelope.js';

const put = encodeCommand({ type: 'put', key: 'k', value: Buffer.from('v') });
const result = { ok: true, type: 'put', revision: 7 } as unknown as ApplyResult;
const entry = (index: number, term: number, data: Uint8Array): Entry => ({ index, term, type: 'normal', data });
const byId = (id: number) => (e: Entry) => unwrapProposal(e.data).id === id;

describe('proposal envelope', () => {
  test('wraps a command with its id and unwraps it; bare commands and empty entries have no id', () => {
    const wrapped = wrapProposal(2 ** 48 - 1, put);
    assert.deepEqual(unwrapProposal(wrapped), { id: 2 ** 48 - 1, command: put });
    assert.equal(wrapped.length, put.length + 7);
    assert.deepEqual(unwrapProposal(put), { id: null, command: put });
    assert.deepEqual(unwrapProposal(new Uint8Array(0)).id, null);
  });

  test('ids are distinct and wrap around in 48 bits', () => {
    const ids = new ProposalIds(() => 1 - 2 ** -53);
    const a = ids.take();
    const b = ids.take();
    assert.equal(a, 2 ** 48 - 1);
    assert.equal(b, 0);
    const fresh = new ProposalIds(() => 0.5);
    const seen = new Set(Array.from({ length: 1000 }, () => fresh.take()));
    assert.equal(seen.size, 1000);
  });
});

describe('pending proposals', () => {
  test('applied under another term (Multi-Paxos re-proposed it under a new ballot): still the write, answered', async () => {
    const pending = new PendingProposals(10_000);
    const outcome = pending.wait(5, 2, 'quorum', byId(42));
    pending.applied(entry(5, 3, wrapProposal(42, put)), result);
    assert.deepEqual(await outcome, { kind: 'applied', result });
    assert.equal(pending.size, 0);
  });

  test('another entry at the index (same term or not): the write surely did not take effect', async () => {
    const pending = new PendingProposals(10_000);
    const sameTerm = pending.wait(5, 2, 'quorum', byId(42));
    const otherTerm = pending.wait(6, 2, 'quorum', byId(43));
    const noop = pending.wait(7, 2, 'quorum', byId(44));
    pending.applied(entry(5, 2, wrapProposal(99, put)), result);
    pending.applied(entry(6, 3, wrapProposal(99, put)), result);
    pending.applied(entry(7, 3, new Uint8Array(0)), result);
    for (const p of [sameTerm, otherTerm, noop]) {
      await assert.rejects(p, (e: { code: string }) => e.code === 'UNAVAILABLE');
    }
  });

  test('a new proposal at the same index (the log was rewritten there): the earlier one is answered at once', async () => {
    const pending = new PendingProposals(10_000);
    const earlier = pending.wait(5, 2, 'quorum', byId(1));
    const later = pending.wait(5, 4, 'quorum', byId(2));
    await assert.rejects(earlier, (e: { code: string }) => e.code === 'UNAVAILABLE');
    pending.applied(entry(5, 4, wrapProposal(2, put)), result);
    assert.deepEqual(await later, { kind: 'applied', result });
  });

  test('no answer in time: TIMEOUT (the outcome is unknown)', async () => {
    const pending = new PendingProposals(20);
    await assert.rejects(pending.wait(1, 1, 'quorum', byId(1)), (e: { code: string }) => e.code === 'TIMEOUT');
  });
});
