/**
 * Apply throughput of the key-value state machine: puts/s through KvStore.applyBatch with 256-byte values,
 * for batches of 1 and of 100 entries (what a node applies per Ready), plus the cost of flush(); then the same
 * with one watcher on the keys, and with syncCommits (an fsync per applyBatch); last, one key in batches of 35
 * (what `npm run bench` makes a node apply at 256 requests in flight).
 *
 *   npm run bench:kv            (or: npx tsc -p . && node dist/bench/kv-apply.js [--entries N])
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeCommand } from '../src/kv/command-codec.js';
import { KvStore } from '../src/kv/store.js';
import type { ApplyItem } from '../src/kv/types.js';

const VALUE_BYTES = 256;
const DISTINCT_KEYS = 100_000;

function argument(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

function commands(count: number, seed: number, keys: number): Uint8Array[] {
  const value = new Uint8Array(VALUE_BYTES).fill(seed & 0xff);
  const out: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    // Spread keys over the key space like hashed ids, so inserts are not all appends.
    const id = (i * 2_654_435_761) % keys;
    out.push(encodeCommand({ type: 'put', key: `user/${id.toString(16).padStart(8, '0')}`, value }));
  }
  return out;
}

async function run(
  batchSize: number,
  entries: number,
  withWatcher: boolean,
  syncCommits = false,
  keys = DISTINCT_KEYS,
): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cairn-kv-bench-'));
  const store = await KvStore.open({ path: dir, syncCommits });
  try {
    let delivered = 0;
    if (withWatcher) {
      store.watch({ prefix: 'user/' }, undefined, (r) => {
        delivered += r.events.length;
      });
    }
    const data = commands(entries, batchSize, keys);
    let index = 0;
    const started = process.hrtime.bigint();
    for (let i = 0; i < data.length; i += batchSize) {
      const batch: ApplyItem[] = data.slice(i, i + batchSize).map((d) => ({ index: ++index, data: d }));
      store.applyBatch(batch);
      if (withWatcher && i % (batchSize * 50) === 0) await new Promise<void>((resolve) => setImmediate(resolve));
    }
    const applySeconds = Number(process.hrtime.bigint() - started) / 1e9;
    const flushStarted = process.hrtime.bigint();
    await store.flush();
    const flushMs = Number(process.hrtime.bigint() - flushStarted) / 1e6;
    const size = fs
      .readdirSync(path.join(dir, 'env-1'))
      .reduce((n, f) => n + fs.statSync(path.join(dir, 'env-1', f)).size, 0);
    const label = `batch ${String(batchSize).padStart(3)}${withWatcher ? ' + watcher    ' : syncCommits ? ' syncCommits  ' : keys === 1 ? ', one key    ' : '              '}`;
    console.log(
      `${label}: ${Math.round(entries / applySeconds)
        .toLocaleString('en-US')
        .padStart(9)} puts/s ` +
        `(${((applySeconds / entries) * 1e6).toFixed(1)} µs/put, ${entries} puts), ` +
        `flush ${flushMs.toFixed(1)} ms, env ${(size / 1048576).toFixed(0)} MiB` +
        (withWatcher ? `, ${delivered} events delivered so far` : ''),
    );
  } finally {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

const entries = argument('entries', 100_000);
console.log(`KvStore.applyBatch, ${VALUE_BYTES}-byte values, node ${process.version}, ${os.cpus().length} CPUs`);
await run(1, Math.min(entries, 30_000), false);
await run(100, entries, false);
await run(100, entries, true);
await run(1, Math.min(entries, 3_000), false, true);
await run(100, Math.min(entries, 30_000), false, true);
// What `npm run bench` makes a node apply at 256 requests in flight: one key, ~35 puts per Ready.
await run(35, entries * 3, false, false, 1);
