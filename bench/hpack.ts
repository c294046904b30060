/**
 * HPACK decode cost per request header block, as the HTTP/2 server sees it from an h2load-like client once the
 * dynamic table is warm: every field is an indexed reference. A second case has the :path as a fresh Huffman
 * literal (as nghttp2 sends it when paths differ per request), the common case for a key-value API.
 *
 *   npx tsc -p . && node dist/bench/hpack.js [--iterations N]
 */
import { HpackDecoder } from '../src/api/h2/hpack.js';

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function literalWithIndexing(nameIndex: number, value: string): Buffer {
  return Buffer.concat([Buffer.from([0x40 | nameIndex, value.length]), Buffer.from(value, 'latin1')]);
}

// The first request of a connection: :method GET, :scheme http, :path, :authority, user-agent, accept, the last
// four added to the dynamic table (newest first afterwards: accept 62, user-agent 63, :authority 64, :path 65).
const warmup = Buffer.concat([
  Buffer.from([0x82, 0x86]),
  literalWithIndexing(4, '/v1/kv/bench'),
  literalWithIndexing(1, '127.0.0.1:8080'),
  literalWithIndexing(58, 'h2load nghttp2/1.59.0'),
  literalWithIndexing(19, '*/*'),
]);
const indexed = Buffer.from([0x82, 0x86, 0xc1, 0xc0, 0xbf, 0xbe]);
// :path "/v1/kv/users/profile-1/settings?consistency=linearizable", Huffman-coded by nghttp2, without indexing.
const huffmanPath = Buffer.concat([
  Buffer.from([0x82, 0x86, 0x04, 0xa8]),
  Buffer.from('63b858ebdd8b505b10c5761e53505582c20a949aa991fe10f520c8496a27a82835451d86f638e82f', 'hex'),
  Buffer.from([0xc0, 0xbf, 0xbe]),
]);

function run(label: string, block: Buffer, iterations: number, rounds: number): void {
  const decoder = new HpackDecoder();
  decoder.decode(warmup);
  let fields = 0;
  for (let i = 0; i < 100_000; i++) fields += decoder.decode(block).length;
  const perRound: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < iterations; i++) fields += decoder.decode(block).length;
    perRound.push(Number(process.hrtime.bigint() - start) / iterations);
  }
  // The best round is the least disturbed by other load on the machine; the median shows the spread.
  perRound.sort((a, b) => a - b);
  const best = perRound[0]!.toFixed(1);
  const median = perRound[Math.floor(rounds / 2)]!.toFixed(1);
  const example = decoder.decode(block);
  console.log(
    `${label}: ${best} ns per decode (median of ${rounds} rounds of ${iterations}: ${median} ns; ` +
      `${example.length / 2} fields, ${block.length} octets)`,
  );
  if (fields === 0) console.log(example);
}

const iterations = argument('iterations', 1_000_000);
const rounds = argument('rounds', 5);
run('indexed block (warm dynamic table)', indexed, iterations, rounds);
run('Huffman :path literal + indexed', huffmanPath, iterations, rounds);
