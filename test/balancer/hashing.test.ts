import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { parseIpAddress } from '../../src/balancer/hashing/ip-address.js';
import { isPrime, MaglevTable } from '../../src/balancer/hashing/maglev.js';
import { murmur3Pair, murmur3String } from '../../src/balancer/hashing/murmur3.js';
import { rendezvousNode, rendezvousPick } from '../../src/balancer/hashing/rendezvous.js';

test('murmur3 x86_32 matches the reference vectors', () => {
  const vectors: Array<[string, number, number]> = [
    ['', 0, 0],
    ['', 1, 0x514e28b7],
    ['', 0xffffffff, 0x81f16f39],
    ['test', 0, 0xba6bd213],
    ['Hello, world!', 0, 0xc0363e43],
    ['The quick brown fox jumps over the lazy dog', 0, 0x2e4ff723],
  ];
  for (const [text, seed, expected] of vectors) assert.equal(murmur3String(text, seed), expected, text);
  assert.notEqual(murmur3Pair(1, 2), murmur3Pair(2, 1));
});

test('IP addresses parse to canonical bytes: every spelling of one address is equal', () => {
  const same = (a: string, b: string) => assert.deepEqual(parseIpAddress(a), parseIpAddress(b), `${a} vs ${b}`);
  assert.deepEqual([...parseIpAddress('10.1.2.3')!], [10, 1, 2, 3]);
  same('10.1.2.3', '::ffff:10.1.2.3');
  same('10.1.2.3', '::FFFF:0a01:0203');
  same('10.1.2.3', '10.1.2.3:5555');
  same('2001:db8::1', '2001:0DB8:0000:0000:0000:0000:0000:0001');
  same('2001:db8::1', '[2001:db8::1]:443');
  same('fe80::1%eth0', 'fe80::1');
  assert.equal(parseIpAddress('::')!.length, 16);
  assert.equal(parseIpAddress('2001:db8::1')!.length, 16);
  for (const bad of ['', '1.2.3', '1.2.3.256', '1::2::3', '12345::', 'host.example', '[::1', '1:2:3:4:5:6:7:8:9']) {
    assert.equal(parseIpAddress(bad), null, bad);
  }
});

test('Maglev gives every host ⌊M/N⌋ or ⌈M/N⌉ slots, and weighted hosts slots in proportion', () => {
  const nodes = Array.from({ length: 13 }, (_, i) => ({ id: `n${i}`, weight: 1 }));
  const counts = new MaglevTable(nodes, 65_537).slotCounts(13);
  for (const c of counts) assert.ok(c === Math.floor(65_537 / 13) || c === Math.ceil(65_537 / 13), String(c));
  const weighted = new MaglevTable(
    [
      { id: 'a', weight: 3 },
      { id: 'b', weight: 1 },
      { id: 'c', weight: 2 },
    ],
    10_007,
  ).slotCounts(3);
  const total = 10_007;
  [3, 1, 2].forEach((w, i) => {
    assert.ok(Math.abs(weighted[i]! / total - w / 6) < 0.01, String(weighted));
  });
});

test('Maglev rejects a non-prime table and one too small for the hosts', () => {
  assert.equal(isPrime(65_537), true);
  assert.equal(isPrime(65_536), false);
  assert.throws(() => new MaglevTable([{ id: 'a', weight: 1 }], 1000));
  assert.throws(
    () =>
      new MaglevTable(
        [
          { id: 'a', weight: 1 },
          { id: 'b', weight: 1 },
        ],
        2,
      ),
  );
  assert.equal(new MaglevTable([], 7).lookup(5), -1);
});

test('rendezvous: removing a node moves exactly its keys; adding one moves keys only to it', () => {
  fc.assert(
    fc.property(fc.integer({ min: 2, max: 8 }), fc.integer({ min: 0, max: 1000 }), (n, salt) => {
      const ids = Array.from({ length: n }, (_, i) => `host-${salt}-${i}`);
      const before = ids.map((id) => rendezvousNode(id, 1));
      const removedIndex = salt % n;
      const after = before.filter((_, i) => i !== removedIndex);
      const afterIds = ids.filter((_, i) => i !== removedIndex);
      const grown = [...before, rendezvousNode(`new-${salt}`, 1)];
      for (let k = 0; k < 500; k++) {
        const h = murmur3String(`key-${k}`);
        const owner = ids[rendezvousPick(h, before)]!;
        const newOwner = afterIds[rendezvousPick(h, after)]!;
        if (owner !== ids[removedIndex]) assert.equal(newOwner, owner);
        const grownIndex = rendezvousPick(h, grown);
        if (grownIndex < n) assert.equal(ids[grownIndex], owner);
      }
    }),
  );
});
