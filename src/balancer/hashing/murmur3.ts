/**
 * MurmurHash3, x86 32-bit variant (Austin Appleby's public-domain algorithm), written from its description.
 * Fast, well mixed, and stable across runs and machines, which is what consistent hashing needs. It is not
 * a cryptographic hash: a client that crafts colliding keys can only pile its own requests on one host.
 */
const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function rotl32(x: number, r: number): number {
  return (x << r) | (x >>> (32 - r));
}

function mixBlock(h: number, k: number): number {
  let block = Math.imul(k, C1);
  block = rotl32(block, 15);
  block = Math.imul(block, C2);
  let next = h ^ block;
  next = rotl32(next, 13);
  return (Math.imul(next, 5) + 0xe6546b64) | 0;
}

/** The final avalanche: every input bit affects every output bit. */
export function fmix32(h: number): number {
  let x = h ^ (h >>> 16);
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** MurmurHash3_x86_32 of a byte string. Returns an unsigned 32-bit integer. */
export function murmur3Bytes(bytes: Uint8Array, seed = 0): number {
  let h = seed | 0;
  const length = bytes.length;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    const k = bytes[i]! | (bytes[i + 1]! << 8) | (bytes[i + 2]! << 16) | (bytes[i + 3]! << 24);
    h = mixBlock(h, k);
  }
  const rest = length & 3;
  if (rest > 0) {
    let tail = 0;
    if (rest === 3) tail ^= bytes[whole + 2]! << 16;
    if (rest >= 2) tail ^= bytes[whole + 1]! << 8;
    tail ^= bytes[whole]!;
    tail = Math.imul(tail, C1);
    tail = rotl32(tail, 15);
    tail = Math.imul(tail, C2);
    h ^= tail;
  }
  return fmix32(h ^ length);
}

const encoder = new TextEncoder();

/** MurmurHash3_x86_32 of a string's UTF-8 bytes. */
export function murmur3String(text: string, seed = 0): number {
  return murmur3Bytes(encoder.encode(text), seed);
}

/** MurmurHash3_x86_32 of two 32-bit words (8 little-endian bytes): a well-mixed hash of a (key, host) pair. */
export function murmur3Pair(a: number, b: number, seed = 0): number {
  let h = mixBlock(seed | 0, a | 0);
  h = mixBlock(h, b | 0);
  return fmix32(h ^ 8);
}
