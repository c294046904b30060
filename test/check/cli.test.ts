import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EXIT_LINEARIZABLE, EXIT_NOT_LINEARIZABLE, EXIT_UNKNOWN, EXIT_USAGE, runCli } from '../../src/check/cli.js';
import type { HistoryOp } from '../../src/check/history.js';
import { get, put } from './ops.js';

const dir = mkdtempSync(join(tmpdir(), 'cairn-check-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, ops: HistoryOp[] | string): string {
  const path = join(dir, name);
  writeFileSync(path, typeof ops === 'string' ? ops : ops.map((op) => JSON.stringify(op)).join('\n'));
  return path;
}

function run(args: string[]): { code: number; out: string; err: string } {
  const out: string[] = [];
  const err: string[] = [];
  const code = runCli(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

const good = file('good.jsonl', [put('c1', 'a', [0, 1], 1), get('c2', [2, 3], 'a', 1)]);
const bad = file('bad.jsonl', [put('c1', 'a', [0, 1], 1), put('c1', 'b', [2, 3], 2), get('c2', [4, 5], 'a', 1)]);

test('a linearizable history exits 0 and says so', () => {
  const r = run([good]);
  assert.equal(r.code, EXIT_LINEARIZABLE);
  assert.match(r.out, /key "x": linearizable, 2 operations/);
  assert.match(r.out, /\nlinearizable: 2 operations on 1 key in \d+ ms$/);
});

test('a violation exits 1, prints the failing operation, and writes the HTML report when asked', () => {
  const report = join(dir, 'report.html');
  const r = run([bad, '--html', report]);
  assert.equal(r.code, EXIT_NOT_LINEARIZABLE);
  assert.match(r.out, /could not linearize op "c2:4"/);
  assert.match(readFileSync(report, 'utf8'), /not-linearizable/);
});

test('an exhausted budget exits 2', () => {
  assert.equal(run([bad, '--budget-ms', '0']).code, EXIT_UNKNOWN);
});

test('bad usage and bad input exit 64 with a message', () => {
  assert.equal(run([]).code, EXIT_USAGE);
  assert.equal(run([good, good]).code, EXIT_USAGE);
  assert.equal(run([good, '--frobnicate']).code, EXIT_USAGE);
  assert.match(run([good, '--budget-ms', 'soon']).err, /--budget-ms must be a number/);
  assert.match(run([join(dir, 'missing.jsonl')]).err, /cannot read/);
  const broken = run([file('broken.jsonl', '{"id":1}\n')]);
  assert.equal(broken.code, EXIT_USAGE);
  assert.match(broken.err, /invalid history: operation #0 \(id 1\): clientId/);
  assert.equal(run(['--help']).code, 0);
});

test('the compiled command runs as a program with the same exit status', () => {
  const cli = fileURLToPath(new URL('../../src/check/cli.js', import.meta.url));
  const child = spawnSync(process.execPath, [cli, bad], { encoding: 'utf8' });
  assert.equal(child.status, EXIT_NOT_LINEARIZABLE);
  assert.match(child.stdout, /not-linearizable/);
});
