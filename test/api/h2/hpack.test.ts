import assert from 'node:assert/strict';
import http2 from 'node:http2';
import net from 'node:net';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { Flag, FrameType, frame, CLIENT_PREFACE as PREFACE } from '../../../src/api/h2/frames.js';
import { encodeResponseHeaders, HpackDecoder, HpackError, jsonResponseHeaderBlock } from '../../../src/api/h2/hpack.js';
import { HUFFMAN_CODE_LENGTHS, HUFFMAN_CODES, STATIC_TABLE } from '../../../src/api/h2/hpack-tables.js';

/** Bytes from an RFC-style hex dump ("8286 8441 0f77 ..."). */
function hex(dump: string): Buffer {
  return Buffer.from(dump.replace(/\s+/g, ''), 'hex');
}

function flat(fields: readonly (readonly [string, string])[]): string[] {
  return fields.flat();
}

function assertCompressionError(fn: () => unknown, message?: RegExp): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof HpackError, `expected HpackError, got ${String(error)}`);
    assert.equal(error.code, 'COMPRESSION_ERROR');
    if (message) assert.match(error.message, message);
    return true;
  });
}

/** A test-only Huffman encoder (the production encoder never uses Huffman). */
function huffmanEncode(bytes: Uint8Array): Buffer {
  const out: number[] = [];
  let acc = 0;
  let bits = 0;
  for (const byte of bytes) {
    const length = HUFFMAN_CODE_LENGTHS[byte]!;
    const code = HUFFMAN_CODES[byte]!;
    for (let i = length - 1; i >= 0; i--) {
      acc = (acc << 1) | ((code >>> i) & 1);
      if (++bits === 8) {
        out.push(acc);
        acc = 0;
        bits = 0;
      }
    }
  }
  if (bits > 0) out.push((acc << (8 - bits)) | (0xff >> bits));
  return Buffer.from(out);
}

/** An HPACK integer (RFC 7541 §5.1) with an N-bit prefix, the first octet's other bits set to `flags`. */
function integer(prefixBits: number, flags: number, value: number): Buffer {
  const max = (1 << prefixBits) - 1;
  if (value < max) return Buffer.from([flags | value]);
  const octets = [flags | max];
  let rest = value - max;
  for (; rest >= 0x80; rest >>>= 7) octets.push((rest & 0x7f) | 0x80);
  octets.push(rest);
  return Buffer.from(octets);
}

/** A string literal: H flag, length as a 7-bit-prefix integer, then the octets. */
function stringLiteral(octets: Uint8Array, huffman: boolean): Buffer {
  return Buffer.concat([integer(7, huffman ? 0x80 : 0x00, octets.length), octets]);
}

/** A literal-without-indexing field with a literal name and a Huffman-coded value. */
function literalWithHuffmanValue(name: string, value: Uint8Array): Buffer {
  return Buffer.concat([
    Buffer.from([0x00]),
    stringLiteral(Buffer.from(name, 'latin1'), false),
    stringLiteral(huffmanEncode(value), true),
  ]);
}

describe('HPACK tables', () => {
  test('the static table has the 61 entries of Appendix A', () => {
    assert.equal(STATIC_TABLE.length, 61);
    assert.deepEqual(STATIC_TABLE[0], [':authority', '']);
    assert.deepEqual(STATIC_TABLE[15], ['accept-encoding', 'gzip, deflate']);
    assert.deepEqual(STATIC_TABLE[27], ['content-length', '']);
    assert.deepEqual(STATIC_TABLE[30], ['content-type', '']);
    assert.deepEqual(STATIC_TABLE[60], ['www-authenticate', '']);
  });

  test('codes derived from the lengths match Appendix B, and the code is complete', () => {
    // [symbol, code as hex, length] rows copied from RFC 7541 Appendix B, covering every code length.
    const rows: [number, number, number][] = [
      [0, 0x1ff8, 13],
      [1, 0x7fffd8, 23],
      [9, 0xffffea, 24],
      [10, 0x3ffffffc, 30],
      [32, 0x14, 6],
      [33, 0x3f8, 10],
      [35, 0xffa, 12],
      [39, 0x7fa, 11],
      [47, 0x18, 6],
      [48, 0x0, 5],
      [58, 0x5c, 7],
      [60, 0x7ffc, 15],
      [88, 0xfc, 8],
      [92, 0x7fff0, 19],
      [94, 0x3ffc, 14],
      [116, 0x9, 5],
      [122, 0x7b, 7],
      [127, 0xffffffc, 28],
      [128, 0xfffe6, 20],
      [129, 0x3fffd2, 22],
      [153, 0x1fffdc, 21],
      [192, 0x3ffffe0, 26],
      [199, 0x1ffffec, 25],
      [203, 0x7ffffde, 27],
      [249, 0xffffffe, 28],
      [254, 0x7fffff0, 27],
      [255, 0x3ffffee, 26],
      [256, 0x3fffffff, 30],
    ];
    for (const [symbol, code, length] of rows) {
      assert.equal(HUFFMAN_CODE_LENGTHS[symbol], length, `length of symbol ${symbol}`);
      assert.equal(HUFFMAN_CODES[symbol], code, `code of symbol ${symbol}`);
    }
    assert.equal(HUFFMAN_CODE_LENGTHS.length, 257);
    // Kraft sum exactly 1: a complete prefix code (scaled by 2^30 to stay in integers).
    let kraft = 0;
    for (const length of HUFFMAN_CODE_LENGTHS) kraft += 2 ** (30 - length);
    assert.equal(kraft, 2 ** 30);
  });
});

describe('RFC 7541 Appendix C.2: header field representations', () => {
  test('C.2.1 literal with indexing', () => {
    const decoder = new HpackDecoder();
    const block = hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572');
    assert.deepEqual(decoder.decode(block), ['custom-key', 'custom-header']);
    assert.equal(decoder.tableLength, 1);
    assert.equal(decoder.tableBytes, 55);
  });

  test('C.2.2 literal without indexing', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('040c 2f73 616d 706c 652f 7061 7468')), [':path', '/sample/path']);
    assert.equal(decoder.tableLength, 0);
  });

  test('C.2.3 literal never indexed', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('1008 7061 7373 776f 7264 0673 6563 7265 74')), ['password', 'secret']);
    assert.equal(decoder.tableLength, 0);
  });

  test('C.2.4 indexed field', () => {
    const decoder = new HpackDecoder();
    assert.deepEqual(decoder.decode(hex('82')), [':method', 'GET']);
    assert.equal(decoder.tableLength, 0);
  });

  test('a plain Uint8Array (not a Buffer) decodes the same', () => {
    // C.3.1 behind one leading junk octet, so the view has a non-zero byteOffset.
    const bytes = hex('00 8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d');
    const view = new Uint8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length), 1);
    assert.deepEqual(new HpackDecoder().decode(view), [
      ':method',
      'GET',
      ':scheme',
      'http',
      ':path',
      '/',
      ':authority',
      'www.example.com',
    ]);
  });
});

const C3_C4_EXPECTED = [
  flat([
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
  ]),
  flat([
    [':method', 'GET'],
    [':scheme', 'http'],
    [':path', '/'],
    [':authority', 'www.example.com'],
    ['cache-control', 'no-cache'],
  ]),
  flat([
    [':method', 'GET'],
    [':scheme', 'https'],
    [':path', '/index.html'],
    [':authority', 'www.example.com'],
    ['custom-key', 'custom-value'],
  ]),
];
const C3_C4_TABLE_BYTES = [57, 110, 164];

function checkSequence(
  decoder: HpackDecoder,
  blocks: string[],
  expected: string[][],
  tableBytes: number[],
  tableLengths?: number[],
): void {
  for (let i = 0; i < blocks.length; i++) {
    assert.deepEqual(decoder.decode(hex(blocks[i]!)), expected[i], `block ${i + 1}`);
    assert.equal(decoder.tableBytes, tableBytes[i], `table size after block ${i + 1}`);
    if (tableLengths) assert.equal(decoder.tableLength, tableLengths[i], `table entries after block ${i + 1}`);
  }
}

describe('RFC 7541 Appendix C.3/C.4: requests on one connection', () => {
  test('C.3 without Huffman', () => {
    checkSequence(
      new HpackDecoder(),
      [
        '8286 8441 0f77 7777 2e65 7861 6d70 6c65 2e63 6f6d',
        '8286 84be 5808 6e6f 2d63 6163 6865',
        '8287 85bf 400a 6375 7374 6f6d 2d6b 6579 0c63 7573 746f 6d2d 7661 6c75 65',
      ],
      C3_C4_EXPECTED,
      C3_C4_TABLE_BYTES,
      [1, 2, 3],
    );
  });

  test('C.4 with Huffman', () => {
    checkSequence(
      new HpackDecoder(),
      [
        '8286 8441 8cf1 e3c2 e5f2 3a6b a0ab 90f4 ff',
        '8286 84be 5886 a8eb 1064 9cbf',
        '8287 85bf 4088 25a8 49e9 5ba9 7d7f 8925 a849 e95b b8e8 b4bf',
      ],
      C3_C4_EXPECTED,
      C3_C4_TABLE_BYTES,
      [1, 2, 3],
    );
  });
});

const C5_C6_EXPECTED = [
  flat([
    [':status', '302'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['location', 'https://www.example.com'],
  ]),
  flat([
    [':status', '307'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:21 GMT'],
    ['location', 'https://www.example.com'],
  ]),
  flat([
    [':status', '200'],
    ['cache-control', 'private'],
    ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ['location', 'https://www.example.com'],
    ['content-encoding', 'gzip'],
    ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
  ]),
];

/** After C.5.3/C.6.3 the table holds exactly set-cookie (62), content-encoding (63), date (64). */
function checkEvictedState(decoder: HpackDecoder): void {
  assert.deepEqual(
    decoder.decode(hex('be bf c0')),
    flat([
      ['set-cookie', 'foo=ASDJKHQKBZXOQWEOPIUAXQWEOIU; max-age=3600; version=1'],
      ['content-encoding', 'gzip'],
      ['date', 'Mon, 21 Oct 2013 20:13:22 GMT'],
    ]),
  );
  assertCompressionError(() => decoder.decode(hex('c1')), /index 65/);
}

describe('RFC 7541 Appendix C.5/C.6: responses with a 256-octet table', () => {
  test('C.5 without Huffman, with evictions', () => {
    const decoder = new HpackDecoder({ maxTableBytes: 256 });
    checkSequence(
      decoder,
      [
        `4803 3330 3258 0770 7269 7661 7465 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133
         2032 303a 3133 3a32 3120 474d 546e 1768 7474 7073 3a2f 2f77 7777 2e65 7861 6d70
         6c65 2e63 6f6d`,
        '4803 3330 37c1 c0bf',
        `88c1 611d 4d6f 6e2c 2032 3120 4f63 7420 3230 3133 2032 303a 3133 3a32 3220 474d
         54c0 5a04 677a 6970 7738 666f 6f3d 4153 444a 4b48 514b 425a 584f 5157 454f 5049
         5541 5851 5745 4f49 553b 206d 6178 2d61 6765 3d33 3630 303b 2076 6572 7369 6f6e
         3d31`,
      ],
      C5_C6_EXPECTED,
      [222, 222, 215],
      [4, 4, 3],
    );
    checkEvictedState(decoder);
  });

  test('C.6 with Huffman, with evictions', () => {
    const decoder = new HpackDecoder({ maxTableBytes: 256 });
    checkSequence(
      decoder,
      [
        `4882 6402 5885 aec3 771a 4b61 96d0 7abe 9410 54d4 44a8 2005 9504 0b81 66e0 82a6
         2d1b ff6e 919d 29ad 1718 63c7 8f0b 97c8 e9ae 82ae 43d3`,
        '4883 640e ffc1 c0bf',
        `88c1 6196 d07a be94 1054 d444 a820 0595 040b 8166 e084 a62d 1bff c05a 839b d9ab
         77ad 94e7 821d d7f2 e6c7 b335 dfdf cd5b 3960 d5af 2708 7f36 72c1 ab27 0fb5 291f
         9587 3160 65c0 03ed 4ee5 b106 3d50 07`,
      ],
      C5_C6_EXPECTED,
      [222, 222, 215],
      [4, 4, 3],
    );
    checkEvictedState(decoder);
  });
});

describe('HPACK decoder: dynamic table behaviour', () => {
  test('a size update at the block start shrinks the table and evicts; later inserts obey the new size', () => {
    const decoder = new HpackDecoder();
    decoder.decode(hex('400a 6375 7374 6f6d 2d6b 6579 0d63 7573 746f 6d2d 6865 6164 6572')); // 55 octets
    decoder.decode(hex('4003 6162 6303 6465 66')); // abc: def, 38 octets
    assert.equal(decoder.tableBytes, 93);
    // Two updates at the start (as after two SETTINGS changes): to 40 (31 + 9), evicting custom-key, then to 58.
    assert.deepEqual(decoder.decode(hex('3f09 3f1b be')), ['abc', 'def']);
    assert.equal(decoder.tableLength, 1);
    assert.equal(decoder.tableBytes, 38);
    // An entry larger than the whole table empties it and is not added.
    decoder.decode(hex('4003 6162 6318 313233343536373839303132333435363738393031323334'));
    assert.equal(decoder.tableLength, 0);
    assert.equal(decoder.tableBytes, 0);
  });

  test('entries are found by index through ring wrap-around', () => {
    // Room for two 33-octet entries (one-letter name, empty value), so the ring of two slots wraps constantly.
    const decoder = new HpackDecoder({ maxTableBytes: 70 });
    decoder.decode(hex('4001 6100'));
    for (let i = 1; i < 10; i++) {
      const name = String.fromCharCode(0x61 + i);
      const previous = String.fromCharCode(0x61 + i - 1);
      const block = Buffer.from([0x40, 0x01, name.charCodeAt(0), 0x00, 0xbe, 0xbf]);
      assert.deepEqual(decoder.decode(block), [name, '', name, '', previous, '']);
      assert.equal(decoder.tableLength, 2);
      assert.equal(decoder.tableBytes, 66);
    }
    assertCompressionError(() => decoder.decode(hex('c0')), /index 64/);
  });

  test('the decoder keeps the table across many inserts and evictions', () => {
    const decoder = new HpackDecoder({ maxTableBytes: 100 });
    for (let i = 0; i < 50; i++) {
      const value = `v${i}`;
      const block = Buffer.concat([Buffer.from([0x40, 0x01, 0x6b, value.length]), Buffer.from(value), hex('be')]);
      assert.deepEqual(decoder.decode(block), ['k', value, 'k', value]);
      assert.ok(decoder.tableBytes <= 100);
    }
    // 'k' + 'vNN' + 32 = 36 octets: two fit in 100.
    assert.equal(decoder.tableLength, 2);
    assert.deepEqual(decoder.decode(hex('bf')), ['k', 'v48']);
  });

  test('multi-octet integers: a dynamic index past 127 and a long string length', () => {
    const decoder = new HpackDecoder({ maxTableBytes: 65536 });
    for (let i = 0; i < 100; i++) decoder.decode(Buffer.from([0x40, 0x01, 0x6b, 0x02, 0x30 + (i % 10), 0x30]));
    // Index 61 + 100 = 161 (the oldest entry): 0xff then 161 - 127 = 34.
    assert.deepEqual(decoder.decode(Buffer.from([0xff, 34])), ['k', '00']);
    // A raw 300-octet value: 0x7f then 300 - 127 = 173 = 0xad 0x01.
    const value = 'x'.repeat(300);
    const block = Buffer.concat([Buffer.from([0x00, 0x01, 0x6b, 0x7f, 0xad, 0x01]), Buffer.from(value)]);
    assert.deepEqual(decoder.decode(block), ['k', value]);
  });

  test('the table matches a reference model through inserts, evictions, size updates and growth (property)', () => {
    const MAX = 1024;
    // Largest table seen over all runs: it must exceed the ring's initial 16 slots for growth to be tested.
    let largest = 0;
    const op = fc.oneof(
      {
        weight: 5,
        arbitrary: fc.tuple(
          fc.string({ maxLength: 6 }),
          fc.string({ maxLength: 60 }).map((v) => (v.length > 50 ? v : v.slice(0, 4))),
        ),
      },
      { weight: 1, arbitrary: fc.oneof(fc.constant(MAX), fc.integer({ min: 0, max: MAX })) },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 120, size: 'max' }), (ops) => {
        const decoder = new HpackDecoder({ maxTableBytes: MAX });
        let model: [string, string][] = [];
        let limit = MAX;
        const size = ([n, v]: [string, string]) => n.length + v.length + 32;
        const total = () => model.reduce((sum, e) => sum + size(e), 0);
        for (const o of ops) {
          if (typeof o === 'number') {
            limit = o;
            while (total() > limit) model.pop();
            assert.deepEqual(decoder.decode(integer(5, 0x20, o)), []);
          } else {
            const [name, value] = o;
            const block = Buffer.concat([
              Buffer.from([0x40]),
              stringLiteral(Buffer.from(name, 'latin1'), false),
              stringLiteral(Buffer.from(value, 'latin1'), false),
            ]);
            assert.deepEqual(decoder.decode(block), [name, value]);
            if (size(o) > limit) model = [];
            else {
              model.unshift([name, value]);
              while (total() > limit) model.pop();
            }
          }
          largest = Math.max(largest, model.length);
          assert.equal(decoder.tableLength, model.length);
          assert.equal(decoder.tableBytes, total());
          const references = Buffer.concat(model.map((_, i) => integer(7, 0x80, 62 + i)));
          assert.deepEqual(decoder.decode(references), model.flat());
        }
      }),
      { numRuns: 300 },
    );
    assert.ok(largest > 16, `largest table had ${largest} entries`);
  });

  test('an empty block decodes to no fields', () => {
    assert.deepEqual(new HpackDecoder().decode(Buffer.alloc(0)), []);
  });
});

describe('HPACK decoder: Huffman strings', () => {
  test('every octet value round-trips through the Huffman code', () => {
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    assert.deepEqual(new HpackDecoder().decode(literalWithHuffmanValue('x', all)), [
      'x',
      Buffer.from(all).toString('latin1'),
    ]);
  });

  test('random strings round-trip (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60, size: 'max' }), (bytes) => {
        const block = literalWithHuffmanValue('v', bytes);
        assert.deepEqual(new HpackDecoder().decode(block), ['v', Buffer.from(bytes).toString('latin1')]);
      }),
      { numRuns: 500 },
    );
  });

  test('empty Huffman string', () => {
    assert.deepEqual(new HpackDecoder().decode(hex('00 0178 80')), ['x', '']);
  });
});

describe('HPACK decoder: errors are HpackError with code COMPRESSION_ERROR', () => {
  const cases: [string, string, RegExp][] = [
    ['truncated integer', 'ff', /integer is truncated/],
    ['truncated integer after continuation octets', 'ff 80 80', /integer is truncated/],
    ['too many continuation octets', 'ff 80 80 80 80 80 00', /continuation/],
    ['integer beyond 2^31', 'ff ff ff ff ff 0f', /out of range/],
    ['index 0', '80', /index 0/],
    ['index beyond the static table with an empty dynamic table', 'be', /index 62/],
    ['literal name index beyond the tables', '7f 00 01 61', /index 63/],
    ['string longer than the block', '00 05 61 62', /runs past the end/],
    ['value string longer than the block', '00 01 61 03 62', /runs past the end/],
    ['literal missing its value', '04', /truncated/],
    ['literal name missing', '40', /truncated/],
    ['table size update above the maximum', '3f e2 1f', /exceeds the advertised 4096/],
    ['table size update after a field', '82 20', /after a header field/],
    // 'a' is 00011 (5 bits): 00011|000 pads with zeros.
    ['Huffman padding not all ones', '00 0178 81 18', /padding/],
    // 'a' + 8 one-bits: 00011111 11111111 → more than 7 bits of padding.
    ['Huffman padding longer than 7 bits', '00 0178 82 1fff', /padding/],
    // A whole string of padding: 8 one-bits encode nothing and exceed the 7-bit limit.
    ['Huffman string of only padding', '00 0178 81 ff', /padding/],
    ['EOS in a Huffman string', '00 0178 84 ffff fffc', /EOS/],
  ];
  for (const [name, block, message] of cases) {
    test(name, () => {
      assertCompressionError(() => new HpackDecoder().decode(hex(block)), message);
    });
  }

  test('a decoder refuses further blocks after a compression error', () => {
    const decoder = new HpackDecoder();
    assertCompressionError(() => decoder.decode(hex('80')));
    assertCompressionError(() => decoder.decode(hex('82')), /unusable/);
  });

  test('header list too large: the block is still applied to the table and the decoder stays usable', () => {
    const decoder = new HpackDecoder({ maxHeaderListBytes: 100 });
    const big = 'v'.repeat(60);
    // ':method: GET' (42) + 'k: <60>' (93) > 100; the second field is still inserted into the dynamic table.
    const block = Buffer.concat([Buffer.from([0x82, 0x40, 0x01, 0x6b, big.length]), Buffer.from(big)]);
    assert.throws(
      () => decoder.decode(block),
      (error: unknown) => {
        assert.ok(error instanceof HpackError);
        assert.equal(error.code, 'COMPRESSION_ERROR');
        assert.equal(error.decoderUsable, true);
        assert.match(error.message, /header list of 135 octets exceeds the limit of 100/);
        return true;
      },
    );
    assert.equal(decoder.tableLength, 1);
    assert.deepEqual(decoder.decode(hex('be')), ['k', big]);
  });

  test('header list size counts repeated references (no amplification through the table)', () => {
    const decoder = new HpackDecoder({ maxHeaderListBytes: 16384 });
    decoder.decode(Buffer.concat([Buffer.from([0x40, 0x01, 0x6b, 0x7f, 0x81, 0x07]), Buffer.alloc(1024, 0x61)]));
    // 16 references of a 1057-octet field.
    assertCompressionError(() => decoder.decode(Buffer.alloc(16, 0xbe)), /exceeds the limit of 16384/);
  });

  test('random bytes either decode or throw HpackError (property)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 48, size: 'max' }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom(0, 64, 256, 4096),
        (blocks, maxTableBytes) => {
          const decoder = new HpackDecoder({ maxTableBytes, maxHeaderListBytes: 512 });
          for (const block of blocks) {
            try {
              const fields = decoder.decode(block);
              assert.equal(fields.length % 2, 0);
              for (const field of fields) assert.equal(typeof field, 'string');
            } catch (error) {
              if (!(error instanceof HpackError)) throw error;
              if (!error.decoderUsable) break;
            }
            assert.ok(decoder.tableBytes <= maxTableBytes);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  test('structured noise (field-shaped prefixes with random tails) never escapes as another error (property)', () => {
    const literal = (first: fc.Arbitrary<number>, second: fc.Arbitrary<number>) =>
      fc.tuple(first, second, fc.uint8Array({ maxLength: 8, size: 'max' })).map(([a, b, rest]) => [a, b, ...rest]);
    const piece = fc.oneof(
      fc.integer({ min: 0x80, max: 0xff }).map((b) => [b]),
      literal(fc.integer({ min: 0x40, max: 0x7f }), fc.integer({ min: 0, max: 6 })),
      literal(fc.integer({ min: 0x00, max: 0x3f }), fc.integer({ min: 0x80, max: 0x86 })),
    );
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12, size: 'max' }), (pieces) => {
        try {
          new HpackDecoder().decode(Uint8Array.from(pieces.flat()));
        } catch (error) {
          if (!(error instanceof HpackError)) throw error;
        }
      }),
      { numRuns: 2000 },
    );
  });
});

describe('encodeResponseHeaders', () => {
  test(':status 200 alone is the single octet 0x88', () => {
    assert.deepEqual([...encodeResponseHeaders(200, [])], [0x88]);
  });

  test('static statuses are indexed; others are literals with name index 8', () => {
    for (const [status, index] of [
      [200, 8],
      [204, 9],
      [206, 10],
      [304, 11],
      [400, 12],
      [404, 13],
      [500, 14],
    ] as const) {
      assert.deepEqual([...encodeResponseHeaders(status, [])], [0x80 | index]);
    }
    assert.deepEqual([...encodeResponseHeaders(201, [])], [0x08, 0x03, 0x32, 0x30, 0x31]);
    assert.deepEqual(new HpackDecoder().decode(encodeResponseHeaders(503, [])), [':status', '503']);
  });

  test('names from the static table are indexed; others are literal', () => {
    const block = encodeResponseHeaders(200, [
      ['content-type', 'application/json'],
      ['content-length', '2'],
      ['x-cairn', 'yes'],
    ]);
    const expected = Buffer.concat([
      Buffer.from([0x88]),
      Buffer.from([0x0f, 31 - 15, 16]),
      Buffer.from('application/json'),
      Buffer.from([0x0f, 28 - 15, 1, 0x32]),
      Buffer.from([0x00, 7]),
      Buffer.from('x-cairn'),
      Buffer.from([3]),
      Buffer.from('yes'),
    ]);
    assert.deepEqual(block, expected);
    // 'age' has index 21; 'accept-charset' 15 is the first index needing a continuation octet.
    assert.deepEqual([...encodeResponseHeaders(200, [['age', '0']]).subarray(1, 3)], [0x0f, 21 - 15]);
  });

  test('round-trips through the decoder, including long and latin1 values, and leaves no table state', () => {
    const headers: [string, string][] = [
      ['content-type', 'text/plain; charset=utf-8'],
      ['cache-control', 'no-store'],
      ['x-long', 'x'.repeat(5000)],
      ['x-latin1', 'caf\u00e9 \u00ff\t'],
      ['x-empty', ''],
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
      ['x-name-that-is-fairly-long-'.repeat(6), 'v'],
    ];
    const decoder = new HpackDecoder({ maxHeaderListBytes: 1 << 20 });
    for (const status of [200, 307, 404, 999]) {
      assert.deepEqual(decoder.decode(encodeResponseHeaders(status, headers)), [
        ':status',
        String(status),
        ...flat(headers),
      ]);
    }
    assert.equal(decoder.tableLength, 0);
  });

  test('invalid names, values and statuses throw INVALID_HEADER', () => {
    const invalid = (status: number, headers: [string, string][]) =>
      assert.throws(
        () => encodeResponseHeaders(status, headers),
        (error: unknown) => {
          assert.ok(error instanceof Error);
          assert.equal((error as Error & { code?: string }).code, 'INVALID_HEADER');
          return true;
        },
      );
    invalid(200, [['Content-Type', 'text/plain']]);
    invalid(200, [['x-Custom', 'v']]);
    invalid(200, [['', 'v']]);
    invalid(200, [['x custom', 'v']]);
    invalid(200, [[':status', '200']]);
    invalid(200, [[':path', '/']]);
    invalid(200, [['x-custom', 'a\r\nb']]);
    invalid(200, [['x-custom', 'a\nb']]);
    invalid(200, [['content-type', 'a\rb']]);
    invalid(200, [['x-custom', 'a\0b']]);
    invalid(200, [['x-custom', 'snow \u2603']]);
    invalid(99, []);
    invalid(1000, []);
    invalid(200.5, []);
  });
});

// ---- interop with nghttp2 (Node's http2 client) ------------------------------------------------------------------

interface DecodedRequest {
  streamId: number;
  blockLength: number;
  fields: string[];
}

/**
 * A raw TCP server speaking just enough HTTP/2 for Node's client: SETTINGS (+ ACK), and for every request
 * HEADERS block, a decode with one shared HpackDecoder and a response built by encodeResponseHeaders.
 */
async function startRawH2Server(
  decoder: HpackDecoder,
  decoded: DecodedRequest[],
): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.write(frame(FrameType.SETTINGS, 0, 0, Buffer.alloc(0)));
    let pending = Buffer.alloc(0);
    let prefaceSeen = false;
    let block: Buffer[] = [];
    let blockStream = 0;
    let blockEndStream = false;
    socket.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      if (!prefaceSeen) {
        if (pending.length < PREFACE.length) return;
        assert.deepEqual(pending.subarray(0, PREFACE.length), PREFACE);
        pending = pending.subarray(PREFACE.length);
        prefaceSeen = true;
      }
      while (pending.length >= 9) {
        const length = pending.readUIntBE(0, 3);
        if (pending.length < 9 + length) break;
        const type = pending[3]!;
        const flags = pending[4]!;
        const streamId = pending.readUInt32BE(5) & 0x7fffffff;
        let payload = pending.subarray(9, 9 + length);
        pending = pending.subarray(9 + length);
        if (type === FrameType.SETTINGS && (flags & Flag.ACK) === 0) {
          socket.write(frame(FrameType.SETTINGS, Flag.ACK, 0, Buffer.alloc(0)));
        } else if (type === FrameType.HEADERS || type === FrameType.CONTINUATION) {
          if (type === FrameType.HEADERS) {
            let padding = 0;
            if (flags & Flag.PADDED) {
              padding = payload[0]!;
              payload = payload.subarray(1);
            }
            if (flags & Flag.PRIORITY) payload = payload.subarray(5);
            payload = payload.subarray(0, payload.length - padding);
            block = [];
            blockStream = streamId;
            blockEndStream = (flags & Flag.END_STREAM) !== 0;
          }
          block.push(payload);
          if (flags & Flag.END_HEADERS) {
            const bytes = Buffer.concat(block);
            const fields = decoder.decode(bytes);
            decoded.push({ streamId: blockStream, blockLength: bytes.length, fields });
            assert.ok(blockEndStream, 'GET requests end the stream with their HEADERS');
            const response = encodeResponseHeaders(decoded.length === 2 ? 201 : 200, [
              ['content-type', 'text/plain'],
              ['x-request-number', String(decoded.length)],
            ]);
            socket.write(frame(FrameType.HEADERS, Flag.END_HEADERS | Flag.END_STREAM, blockStream, response));
          }
        }
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  assert.ok(address !== null && typeof address === 'object');
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('interop with Node http2 (nghttp2) as the encoder', () => {
  test('three requests decode with one decoder; our responses decode in the client', async () => {
    const decoder = new HpackDecoder();
    const decoded: DecodedRequest[] = [];
    const server = await startRawH2Server(decoder, decoded);
    const session = http2.connect(`http://127.0.0.1:${server.port}`);
    session.on('error', () => {});
    try {
      const sent: [string, string][][] = [];
      const responses: http2.IncomingHttpHeaders[] = [];
      for (let i = 1; i <= 3; i++) {
        const request: [string, string][] = [
          [':method', 'GET'],
          [':path', `/v1/kv/users/profile-${i}/settings?consistency=linearizable&revision=${1000 + i}`],
          [':scheme', 'http'],
          [':authority', `127.0.0.1:${server.port}`],
          ['user-agent', 'cairn-interop-test/1.0 (node http2; long enough to make nghttp2 pick Huffman)'],
          ['accept', 'application/json'],
          ['x-request-id', `request-${i}-0123456789abcdef0123456789abcdef`],
          ['x-tenant', 'tenant-with-a-reasonably-long-name-to-be-indexed'],
          // Symbols with long codes: Huffman would be longer, so nghttp2 sends these raw.
          ['x-braces', '{}{}<>^^\\|{}'],
          ['x-secret', `secret-token-${i}`],
        ];
        sent.push(request);
        // sensitiveHeaders makes nghttp2 send x-secret as a never-indexed literal.
        const headers = Object.assign(Object.fromEntries(request.filter(([n]) => n !== ':scheme')), {
          [http2.sensitiveHeaders]: ['x-secret'],
        });
        const stream = session.request(headers, { endStream: true });
        responses.push(
          await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
            stream.on('response', resolve);
            stream.on('error', reject);
          }),
        );
        stream.resume();
        await new Promise<void>((resolve) => stream.on('close', resolve));
      }

      assert.equal(decoded.length, 3);
      for (let i = 0; i < 3; i++) {
        const got = decoded[i]!;
        assert.equal(got.streamId, 2 * i + 1);
        const pairs: [string, string][] = [];
        for (let j = 0; j < got.fields.length; j += 2) pairs.push([got.fields[j]!, got.fields[j + 1]!]);
        const sortPairs = (list: [string, string][]) => [...list].sort((a, b) => (a[0] + a[1] < b[0] + b[1] ? -1 : 1));
        assert.deepEqual(sortPairs(pairs), sortPairs(sent[i]!), `request ${i + 1}`);
      }
      // nghttp2 indexed the repeated fields, so later blocks are mostly dynamic-table references.
      assert.ok(decoder.tableLength > 0);
      assert.ok(decoded[2]!.blockLength < decoded[0]!.blockLength / 2, 'later requests reuse the dynamic table');

      assert.deepEqual(
        responses.map((h) => [h[':status'], h['content-type'], h['x-request-number']]),
        [
          [200, 'text/plain', '1'],
          [201, 'text/plain', '2'],
          [200, 'text/plain', '3'],
        ],
      );
    } finally {
      await new Promise<void>((resolve) => session.close(resolve));
      await server.close();
    }
  });
});

describe('jsonResponseHeaderBlock', () => {
  test('is the block encodeResponseHeaders makes for a JSON answer, for any status and length (property)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 100, max: 999 }), fc.nat({ max: 2 ** 31 }), (status, length) => {
        const expected = encodeResponseHeaders(status, [
          ['content-type', 'application/json'],
          ['content-length', String(length)],
        ]);
        assert.deepEqual(jsonResponseHeaderBlock(status, length), expected);
        assert.deepEqual(new HpackDecoder().decode(jsonResponseHeaderBlock(status, length)), [
          ':status',
          String(status),
          'content-type',
          'application/json',
          'content-length',
          String(length),
        ]);
      }),
      { numRuns: 500 },
    );
  });

  test('a repeated (status, length) gets the cached block; different ones never share', () => {
    const a = jsonResponseHeaderBlock(200, 29);
    assert.equal(jsonResponseHeaderBlock(200, 29), a, 'the same buffer: no encoding per response');
    assert.notDeepEqual(jsonResponseHeaderBlock(200, 30), a);
    assert.notDeepEqual(jsonResponseHeaderBlock(201, 29), a);
    // Filling the cache past its bound starts it over; the answers stay right.
    for (let length = 0; length < 5000; length++) jsonResponseHeaderBlock(404, length);
    assert.deepEqual(jsonResponseHeaderBlock(200, 29), a);
  });

  test('an invalid status is refused as by encodeResponseHeaders', () => {
    assert.throws(() => jsonResponseHeaderBlock(99, 2));
    assert.throws(() => jsonResponseHeaderBlock(1000, 2));
  });
});
