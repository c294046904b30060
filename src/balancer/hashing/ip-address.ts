/**
 * Parses a client address into its canonical bytes, so that every spelling of one address hashes alike:
 * IPv4 → 4 bytes; IPv6 → 16 bytes; an IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack Node
 * socket reports for an IPv4 client) → the 4 bytes of the IPv4 address. Accepted decorations: `[v6]`,
 * `[v6]:port`, `v4:port` and a `%zone` suffix, all dropped. Returns null when the text is no IP address.
 */
export function parseIpAddress(text: string): Uint8Array | null {
  let s = text.trim();
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) return null;
    const rest = s.slice(close + 1);
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return null;
    s = s.slice(1, close);
  } else if (/^[\d.]+:\d{1,5}$/.test(s)) {
    s = s.slice(0, s.indexOf(':'));
  }
  const percent = s.indexOf('%');
  if (percent >= 0) s = s.slice(0, percent);
  if (s.includes(':')) {
    const v6 = parseIpv6(s);
    if (!v6) return null;
    const mapped = v6.slice(0, 10).every((b) => b === 0) && v6[10] === 0xff && v6[11] === 0xff;
    return mapped ? v6.slice(12) : v6;
  }
  return parseIpv4(s);
}

function parseIpv4(s: string): Uint8Array | null {
  const parts = s.split('.');
  if (parts.length !== 4) return null;
  const bytes = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const part = parts[i]!;
    if (!/^\d{1,3}$/.test(part)) return null;
    const value = Number(part);
    if (value > 255) return null;
    bytes[i] = value;
  }
  return bytes;
}

function parseIpv6(s: string): Uint8Array | null {
  const halves = s.split('::');
  if (halves.length > 2) return null;
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (!head || !tail) return null;
  const words = head.length + tail.length;
  if (halves.length === 1 ? words !== 8 : words > 7) return null;
  const all = [...head, ...new Array<number>(8 - words).fill(0), ...tail];
  const bytes = new Uint8Array(16);
  all.forEach((word, i) => {
    bytes[2 * i] = word >>> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

/** Splits colon-separated hex groups; a trailing dotted IPv4 counts as two groups. */
function groups(part: string): number[] | null {
  if (part === '') return [];
  const pieces = part.split(':');
  const words: number[] = [];
  for (let i = 0; i < pieces.length; i++) {
    const piece = pieces[i]!;
    if (i === pieces.length - 1 && piece.includes('.')) {
      const v4 = parseIpv4(piece);
      if (!v4) return null;
      words.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
    } else {
      if (!/^[0-9a-fA-F]{1,4}$/.test(piece)) return null;
      words.push(Number.parseInt(piece, 16));
    }
  }
  return words;
}
