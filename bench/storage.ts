/**
 * Durable log store benchmark: the write-ahead log (src/storage) against an lmdb-js prototype.
 *
 *   npx tsc -p . && node dist/bench/storage.js [--seconds 3] [--dir /path/on/the/disk/to/test]
 *
 * For each contender: sequential durable batches of 1, 16 and 256 entries of 256 bytes (one persist in flight,
 * the latency-bound case a single Raft group sees), group commit (64 groups persisting one entry each in the
 * same event-loop turn), and the cost of term() and entries() reads. Every write is awaited until durable. The
 * WAL runs twice: as configured by default (segments preallocated with zeros) and appending (preallocateBytes 0).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Entry, GroupId, HardState } from '../src/consensus/types.js';
import { LogStore } from '../src/storage/log-store.js';
import { LmdbLogPrototype } from './storage-lmdb-prototype.js';

const ENTRY_BYTES = 256;
const CONF = { voters: ['n1'], votersOutgoing: [], learners: [], learnersNext: [], autoLeave: false };

interface Write {
  group: GroupId;
  entries: Entry[];
  hardState?: HardState;
}

interface Handle {
  persist(writes: Write[]): Promise<void>;
  term(group: GroupId, index: number): number;
  entries(group: GroupId, lo: number, hi: number): Entry[];
  close(): Promise<void>;
  /** Sync latencies reported by the store itself (WAL only). */
  readonly syncMs: number[];
}

interface Contender {
  readonly name: string;
  open(dir: string, groups: number): Promise<Handle>;
}

function walContender(name: string, cacheMaxBytes: number | undefined, preallocateBytes?: number): Contender {
  return {
    name,
    async open(dir, groups) {
      const syncMs: number[] = [];
      const store = await LogStore.open({
        dir,
        ...(cacheMaxBytes === undefined ? {} : { cacheMaxBytes }),
        ...(preallocateBytes === undefined ? {} : { preallocateBytes }),
        onSync: (ms) => syncMs.push(ms),
      });
      for (let g = 0; g < groups; g++) await store.bootstrap(g, CONF);
      syncMs.length = 0;
      return {
        syncMs,
        persist: (writes) => store.persist(writes),
        term: (group, index) => store.group(group).term(index),
        entries: (group, lo, hi) => store.group(group).entries(lo, hi, Number.MAX_SAFE_INTEGER),
        close: () => store.close(),
      };
    },
  };
}

function lmdbContender(name: string, overlappingSync: boolean): Contender {
  return {
    name,
    async open(dir) {
      const db = LmdbLogPrototype.open(dir, overlappingSync);
      return {
        syncMs: [],
        persist: (writes) => db.persist(writes),
        term: (group, index) => db.term(group, index),
        entries: (group, lo, hi) => db.entries(group, lo, hi),
        close: () => db.close(),
      };
    },
  };
}

function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return Number.NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;
}

/** Payloads are made once: the benchmark measures the stores, not the allocation of test data. */
const PAYLOADS = Array.from({ length: 256 }, (_, i) => Buffer.alloc(ENTRY_BYTES, i));

function makeEntries(first: number, count: number, term: number): Entry[] {
  const out: Entry[] = [];
  for (let i = 0; i < count; i++)
    out.push({ index: first + i, term, type: 'normal', data: PAYLOADS[(first + i) & 0xff]! });
  return out;
}

interface Row {
  contender: string;
  test: string;
  batchesPerS: number;
  entriesPerS: number;
  p50Ms: number;
  p99Ms: number;
  syncP50Ms: number;
  syncP99Ms: number;
}

/** One kind of write load: `step` issues one batch (or round) and resolves when durable; returns entries written. */
interface Workload {
  readonly name: string;
  readonly groups: number;
  step(h: Handle, round: number): Promise<number>;
}

function sequentialWorkload(perBatch: number): Workload {
  return {
    name: `sequential ${perBatch} x ${ENTRY_BYTES} B`,
    groups: 1,
    async step(h, round) {
      const first = round * perBatch + 1;
      const hardState = { term: 1, vote: 'n1', commit: first };
      await h.persist([{ group: 0, entries: makeEntries(first, perBatch, 1), hardState }]);
      return perBatch;
    },
  };
}

/** `groups` groups each persist one entry in the same turn, every round: one commit per round is the goal. */
function groupCommitWorkload(groups: number): Workload {
  return {
    name: `group commit ${groups} groups x 1`,
    groups,
    async step(h, round) {
      const writes: Promise<void>[] = [];
      for (let g = 0; g < groups; g++) writes.push(h.persist([{ group: g, entries: makeEntries(round + 1, 1, 1) }]));
      await Promise.all(writes);
      return groups;
    },
  };
}

/**
 * Runs `workload` on every contender in interleaved slices (the machine is shared: disk latency drifts, and
 * interleaving spreads the drift evenly instead of penalising whoever ran during a busy spell).
 */
async function compare(contenders: readonly Contender[], workload: Workload, seconds: number, fresh: () => string) {
  const slices = 6;
  const state = await Promise.all(
    contenders.map(async (c) => ({
      c,
      h: await c.open(fresh(), workload.groups),
      latencies: [] as number[],
      entries: 0,
      elapsedMs: 0,
      round: 0,
    })),
  );
  for (let slice = 0; slice < slices; slice++) {
    for (const s of state) {
      const start = performance.now();
      const deadline = start + (seconds * 1000) / slices;
      while (performance.now() < deadline) {
        const t0 = performance.now();
        s.entries += await workload.step(s.h, s.round++);
        s.latencies.push(performance.now() - t0);
      }
      s.elapsedMs += performance.now() - start;
    }
  }
  const rows: Row[] = [];
  for (const s of state) {
    await s.h.close();
    rows.push({
      contender: s.c.name,
      test: workload.name,
      batchesPerS: s.latencies.length / (s.elapsedMs / 1000),
      entriesPerS: s.entries / (s.elapsedMs / 1000),
      p50Ms: percentile(s.latencies, 0.5),
      p99Ms: percentile(s.latencies, 0.99),
      syncP50Ms: percentile(s.h.syncMs, 0.5),
      syncP99Ms: percentile(s.h.syncMs, 0.99),
    });
  }
  return rows;
}

interface ReadRow {
  contender: string;
  termNs: number;
  entries16Us: number;
}

async function reads(contender: Contender, dir: string): Promise<ReadRow> {
  const total = 10_240;
  const h = await contender.open(dir, 1);
  for (let first = 1; first <= total; first += 256)
    await h.persist([{ group: 0, entries: makeEntries(first, 256, 1) }]);
  // A fixed pseudo-random walk so every contender reads the same indexes.
  let x = 12345;
  const nextIndex = (): number => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return 1 + (x % (total - 16));
  };
  const termOps = 1_000_000;
  let sink = 0;
  let t0 = performance.now();
  for (let i = 0; i < termOps; i++) sink += h.term(0, nextIndex());
  const termNs = ((performance.now() - t0) * 1e6) / termOps;
  const entryOps = 20_000;
  t0 = performance.now();
  for (let i = 0; i < entryOps; i++) {
    const lo = nextIndex();
    sink += h.entries(0, lo, lo + 16).length;
  }
  const entries16Us = ((performance.now() - t0) * 1e3) / entryOps;
  await h.close();
  if (sink === 0) throw new Error('reads returned nothing');
  return { contender: contender.name, termNs, entries16Us };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { seconds: { type: 'string' }, dir: { type: 'string' } } });
  const seconds = Number(values.seconds ?? '3');
  const root = mkdtempSync(join(values.dir ?? tmpdir(), 'cairn-storage-bench-'));
  const writers = [
    walContender('wal', undefined),
    walContender('wal (preallocateBytes 0: appends)', undefined, 0),
    lmdbContender('lmdb (overlappingSync=false)', false),
    lmdbContender('lmdb (overlappingSync, await flushed)', true),
  ];
  const rows: Row[] = [];
  let run = 0;
  const fresh = (): string => join(root, String(run++));
  try {
    for (const perBatch of [1, 16, 256])
      rows.push(...(await compare(writers, sequentialWorkload(perBatch), seconds, fresh)));
    rows.push(...(await compare(writers, groupCommitWorkload(64), seconds, fresh)));
    const fmt = (n: number, digits = 0): string => (Number.isNaN(n) ? '-' : n.toFixed(digits));
    console.log('contender | test | batches/s | entries/s | persist p50 ms | p99 ms | sync p50 ms | sync p99 ms');
    for (const r of rows) {
      console.log(
        [
          r.contender,
          r.test,
          fmt(r.batchesPerS),
          fmt(r.entriesPerS),
          fmt(r.p50Ms, 3),
          fmt(r.p99Ms, 3),
          fmt(r.syncP50Ms, 3),
          fmt(r.syncP99Ms, 3),
        ].join(' | '),
      );
    }
    const readers = [
      walContender('wal (entries cached)', undefined),
      walContender('wal (cache off: entries read from file)', 0),
      lmdbContender('lmdb', false),
    ];
    console.log('\ncontender | term() ns/op | entries(16) us/op');
    for (const c of readers) {
      const r = await reads(c, fresh());
      console.log(`${r.contender} | ${fmt(r.termNs, 0)} | ${fmt(r.entries16Us, 2)}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
