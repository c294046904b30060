#!/usr/bin/env node
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type CheckResult, checkHistory, DEFAULT_TIME_BUDGET_MS_PER_KEY, type KeyResult } from './check-history.js';
import { InvalidHistoryError } from './errors.js';
import { parseHistoryText } from './history.js';
import { renderHtmlReport } from './html-report.js';
import { formatViolation, plural } from './violation.js';

/**
 * `node dist/src/check/cli.js HISTORY [--html REPORT.html] [--budget-ms N]`: checks a history file and prints the
 * verdict. Exit status: 0 linearizable, 1 not linearizable, 2 undecided, 64 bad usage or input (EX_USAGE).
 */

export const EXIT_LINEARIZABLE = 0;
export const EXIT_NOT_LINEARIZABLE = 1;
export const EXIT_UNKNOWN = 2;
export const EXIT_USAGE = 64;

/** Histories larger than this are refused rather than read into memory. */
const MAX_HISTORY_BYTES = 512 * 1024 * 1024;

const USAGE = `usage: node dist/src/check/cli.js HISTORY [--html REPORT.html] [--budget-ms N]

Checks a history of key-value operations (JSON lines, or one JSON array; see docs/checker.md)
for linearizability, key by key.

  --html FILE      also write a self-contained HTML report to FILE
  --budget-ms N    search time budget per key, in ms (default ${DEFAULT_TIME_BUDGET_MS_PER_KEY})
  -h, --help       show this help

exit status: 0 linearizable, 1 not linearizable, 2 undecided (a key's budget ran out),
             64 bad usage or input`;

export interface CliIo {
  readonly out: (line: string) => void;
  readonly err: (line: string) => void;
}

export function runCli(args: readonly string[], io: CliIo): number {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(args);
  } catch (err) {
    io.err(`${(err as Error).message}\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  if (parsed.values.help === true) {
    io.out(USAGE);
    return EXIT_LINEARIZABLE;
  }
  const [file, ...extra] = parsed.positionals;
  if (file === undefined || extra.length > 0) {
    io.err(`expected exactly one history file\n\n${USAGE}`);
    return EXIT_USAGE;
  }
  const budgetText = parsed.values['budget-ms'];
  const budget = budgetText === undefined ? DEFAULT_TIME_BUDGET_MS_PER_KEY : Number(budgetText);
  if (!(Number.isFinite(budget) && budget >= 0)) {
    io.err(`--budget-ms must be a number of ms >= 0, got ${JSON.stringify(budgetText)}`);
    return EXIT_USAGE;
  }

  let result: CheckResult;
  try {
    const size = statSync(file).size;
    if (size > MAX_HISTORY_BYTES) {
      io.err(`${file}: ${size} bytes is more than the ${MAX_HISTORY_BYTES}-byte limit`);
      return EXIT_USAGE;
    }
    const history = parseHistoryText(readFileSync(file, 'utf8'));
    io.out(`checking ${plural(history.length, 'operation')} from ${file}`);
    result = checkHistory(history, { timeBudgetMsPerKey: budget, onKeyChecked: (k) => io.out(keyLine(k)) });
  } catch (err) {
    if (err instanceof InvalidHistoryError) {
      io.err(`${file}: invalid history: ${err.message}`);
      return EXIT_USAGE;
    }
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') {
      io.err(`${file}: cannot read: ${(err as Error).message}`);
      return EXIT_USAGE;
    }
    throw err;
  }

  printResult(result, io);
  const html = parsed.values.html;
  if (html !== undefined) {
    try {
      writeFileSync(html, renderHtmlReport(result));
      io.out(`report written to ${html}`);
    } catch (err) {
      io.err(`${html}: cannot write the report: ${(err as Error).message}`);
      return EXIT_USAGE;
    }
  }
  return result.verdict === 'linearizable'
    ? EXIT_LINEARIZABLE
    : result.verdict === 'not-linearizable'
      ? EXIT_NOT_LINEARIZABLE
      : EXIT_UNKNOWN;
}

function parse(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    strict: true,
    options: {
      html: { type: 'string' },
      'budget-ms': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

/** One line per key, printed as soon as the key is decided (progress on long checks). */
function keyLine(k: KeyResult): string {
  const note =
    k.verdict === 'unknown'
      ? ` (gave up: ${k.unknownReason === 'time-budget' ? 'time budget exhausted, raise --budget-ms' : 'configuration limit reached'})`
      : '';
  return `  key ${JSON.stringify(k.key)}: ${k.verdict}, ${plural(k.ops, 'operation')}, ${Math.round(k.elapsedMs)} ms${note}`;
}

function printResult(result: CheckResult, io: CliIo): void {
  for (const k of result.keys) if (k.violation !== undefined) io.out(`\n${formatViolation(k.violation)}`);
  io.out(
    `\n${result.verdict}: ${plural(result.ops, 'operation')} on ${plural(result.keys.length, 'key')} in ${Math.round(result.elapsedMs)} ms`,
  );
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.exitCode = runCli(process.argv.slice(2), {
    out: (line) => process.stdout.write(`${line}\n`),
    err: (line) => process.stderr.write(`${line}\n`),
  });
}
