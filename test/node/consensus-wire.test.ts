import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Packr, Unpackr } from 'msgpackr';
import type { Entry, Snapshot } from '../../src/consensus/types.js';
import {
  decodeEntries,
  decodePaxosMessage,
  decodeRaftMessage,
  encodePaxosMessage,
  encodeRaftMessage,
  PAXOS_WIRE_LENGTH,
  PAXOS_WIRE_TYPES,
  RAFT_WIRE_LENGTH,
  RAFT_WIRE_TYPES,
} from '../../src/node/consensus-wire.js';
import { decodeWireMessage, encodeWireMessage } from '../../src/node/wire.js';
import { PAXOS_MESSAGE_TYPES, type PaxosMessage, malformedReason as paxosMalformed } from '../../src/paxos/messages.js';
import { RAFT_MESSAGE_TYPES, type RaftMessage, malformedReason as raftMalformed } from '../../src/raft/messages.js';

// The transport's own msgpack settings (src/transport/frame-codec.ts): what a peer sends is what arrives.
const packr = new Packr({ useRecords: false });
const unpackr = new Unpackr({ useRecords: false, mapsAsObjects: true, structuredClone: false });
const overTheWire = (value: unknown): unknown => unpackr.unpack(packr.pack(value));

const count = fc.nat({ max: Number.MAX_SAFE_INTEGER });
const entry: fc.Arbitrary<Entry> = fc.record({
  term: count,
  index: count,
  type: fc.constantFrom('normal' as const, 'confChange' as const),
  data: fc.uint8Array({ maxLength: 64 }),
});
const snapshot: fc.Arbitrary<Snapshot | null> = fc.option(
  fc.record({
    meta: fc.record({
      index: count,
      term: count,
      confState: fc.record({
        voters: fc.array(fc.constantFrom('n1', 'n2', 'n3')),
        votersOutgoing: fc.constant([]),
        learners: fc.constant([]),
        learnersNext: fc.constant([]),
        autoLeave: fc.boolean(),
      }),
    }),
    data: fc.uint8Array({ maxLength: 32 }),
  }) as fc.Arbitrary<Snapshot>,
);

const raftMessage: fc.Arbitrary<RaftMessage> = fc.record({
  group: count,
  from: fc.constant('n2'),
  to: fc.constant('n1'),
  type: fc.constantFrom(...RAFT_WIRE_TYPES),
  term: count,
  logTerm: count,
  index: count,
  commit: count,
  entries: fc.array(entry, { maxLength: 5 }),
  reject: fc.boolean(),
  rejectHint: count,
  snapshot,
  context: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  transfer: fc.boolean(),
  lease: fc.boolean(),
});

const paxosMessage: fc.Arbitrary<PaxosMessage> = fc.record({
  group: count,
  from: fc.constant('n2'),
  to: fc.constant('n1'),
  type: fc.constantFrom(...PAXOS_WIRE_TYPES),
  ballot: count,
  index: count,
  commit: count,
  entries: fc.array(entry, { maxLength: 5 }),
  reject: fc.boolean(),
  hint: count,
  snapshot,
  context: fc.integer({ min: Number.MIN_SAFE_INTEGER, max: Number.MAX_SAFE_INTEGER }),
  force: fc.boolean(),
  lease: fc.boolean(),
});

/** Buffers from msgpackr compare equal to the Uint8Arrays they were made from. */
const plain = (value: unknown): unknown =>
  JSON.parse(
    JSON.stringify(value, (_k, v) => (v instanceof Uint8Array || v?.type === 'Buffer' ? [...(v.data ?? v)] : v)),
  );

test('every Raft and Paxos message type has a wire code', () => {
  assert.deepEqual(new Set(RAFT_WIRE_TYPES), RAFT_MESSAGE_TYPES);
  assert.deepEqual(new Set(PAXOS_WIRE_TYPES), PAXOS_MESSAGE_TYPES);
  // Codes are positions: the first ones must never move (a peer of the same protocol version relies on them).
  assert.equal(RAFT_WIRE_TYPES[0], 'app');
  assert.equal(RAFT_WIRE_TYPES[1], 'appResp');
  assert.equal(PAXOS_WIRE_TYPES[4], 'accept');
});

/** Every message of `arbitrary` crosses the wire as an array of `length` and arrives equal, from the sender. */
function checkRoundTrip<M>(
  arbitrary: fc.Arbitrary<M>,
  encode: (m: M) => unknown[],
  decode: (a: readonly unknown[], from: string, to: string) => M | null,
  length: number,
): void {
  fc.assert(
    fc.property(arbitrary, (m) => {
      const wire = overTheWire(encode(m));
      assert.ok(Array.isArray(wire) && wire.length === length);
      const back = decode(wire, 'n2', 'n1');
      assert.deepEqual(plain(back), plain(m));
    }),
    { numRuns: 300 },
  );
}

test('a Raft message crosses the wire as an array and arrives equal, from the authenticated sender', () => {
  checkRoundTrip(raftMessage, encodeRaftMessage, decodeRaftMessage, RAFT_WIRE_LENGTH);
});

test('a Paxos message crosses the wire as an array and arrives equal, from the authenticated sender', () => {
  checkRoundTrip(paxosMessage, encodePaxosMessage, decodePaxosMessage, PAXOS_WIRE_LENGTH);
});

test('an append is several times smaller than as a map', () => {
  const m: RaftMessage = {
    group: 0,
    from: 'n1',
    to: 'n2',
    type: 'app',
    term: 3,
    logTerm: 3,
    index: 1041,
    commit: 1040,
    entries: [{ term: 3, index: 1042, type: 'normal', data: new Uint8Array(20) }],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: 0,
    transfer: false,
    lease: false,
  };
  const asArray = packr.pack(encodeRaftMessage(m)).length;
  const asMap = packr.pack({ t: 'consensus', m }).length;
  assert.ok(asArray * 3 < asMap, `array ${asArray} bytes, map ${asMap} bytes`);
});

test('decodeWireMessage: consensus arrays by engine, other kinds as maps, a consensus map refused', () => {
  const m = { group: 0, from: 'n2', to: 'n1', type: 'heartbeat', term: 1 } as const;
  const raft = encodeWireMessage({ t: 'consensus', m: { ...emptyRaft(), ...m } }, 'raft');
  const decoded = decodeWireMessage(overTheWire(raft), 'raft', 'n2', 'n1');
  assert.ok(typeof decoded !== 'string' && decoded.t === 'consensus');
  assert.equal(decoded.m.type, 'heartbeat');
  assert.equal(raftMalformed(decoded.m), null);
  // `from` is the authenticated peer, whatever the sender built the message with.
  const spoofed = encodeWireMessage({ t: 'consensus', m: { ...emptyRaft(), ...m, from: 'n3' } }, 'raft');
  const fromPeer = decodeWireMessage(overTheWire(spoofed), 'raft', 'n2', 'n1');
  assert.ok(typeof fromPeer !== 'string' && fromPeer.t === 'consensus' && fromPeer.m.from === 'n2');
  // The old map form of a consensus message (which carried a `from` of its own) is not accepted.
  assert.match(
    String(decodeWireMessage({ t: 'consensus', m: { ...emptyRaft(), ...m } }, 'raft', 'n2', 'n1')),
    /unknown kind/,
  );
  const health = { t: 'health', hb: { v: 1 } };
  assert.equal(encodeWireMessage(health as never, 'raft'), health);
  assert.deepEqual(decodeWireMessage(overTheWire(health), 'raft', 'n2', 'n1'), health);
});

test('malformed arrays decode to null or to a message the engine refuses, and never throw', () => {
  const element = fc.oneof(
    fc.integer(),
    fc.double(),
    fc.string({ maxLength: 10 }),
    fc.boolean(),
    fc.constant(null),
    fc.constantFrom('__proto__', 'length', 'constructor'),
    fc.uint8Array({ maxLength: 4 }),
    fc.array(fc.oneof(fc.integer({ min: -1, max: 3 }), fc.uint8Array({ maxLength: 2 }), fc.string()), {
      maxLength: 9,
    }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.integer()),
  );
  fc.assert(
    fc.property(fc.array(element, { maxLength: 16 }), (raw) => {
      const wire = overTheWire(raw) as unknown[];
      const raft = decodeRaftMessage(wire, 'n2', 'n1');
      if (raft !== null) assert.doesNotThrow(() => raftMalformed(raft));
      const paxos = decodePaxosMessage(wire, 'n2', 'n1');
      if (paxos !== null) assert.doesNotThrow(() => paxosMalformed(paxos));
      assert.doesNotThrow(() => decodeWireMessage(wire, 'raft', 'n2', 'n1'));
    }),
    { numRuns: 2000 },
  );
  // Specific shapes.
  const good = encodeRaftMessage({ ...emptyRaft(), type: 'app' });
  assert.equal(decodeRaftMessage(good.slice(0, RAFT_WIRE_LENGTH - 1), 'n2', 'n1'), null, 'too short');
  assert.equal(decodeRaftMessage(['__proto__', ...good.slice(1)], 'n2', 'n1'), null, 'type not a code');
  assert.equal(decodeRaftMessage([RAFT_WIRE_TYPES.length, ...good.slice(1)], 'n2', 'n1'), null, 'unknown code');
  assert.equal(decodeEntries([1, 2, 0]), null, 'entries not in fours');
  assert.equal(decodeEntries([1, 2, 2, new Uint8Array(0)]), null, 'unknown entry type');
  assert.equal(decodeEntries([1, 2, 0, 'data']), null, 'data not bytes');
  assert.ok(
    decodeRaftMessage([...good, 'a field from a later version'], 'n2', 'n1') !== null,
    'extra elements ignored',
  );
  const wrongCounter = decodeRaftMessage(overTheWire([0, 0, -1, ...good.slice(3)]) as unknown[], 'n2', 'n1');
  assert.match(String(raftMalformed(wrongCounter)), /bad counters/);
});

function emptyRaft(): RaftMessage {
  return {
    group: 0,
    from: 'n2',
    to: 'n1',
    type: 'heartbeat',
    term: 0,
    logTerm: 0,
    index: 0,
    commit: 0,
    entries: [],
    reject: false,
    rejectHint: 0,
    snapshot: null,
    context: 0,
    transfer: false,
    lease: false,
  };
}
