import { readFileSync, writeFileSync } from 'node:fs';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { checkHistory, formatViolation, parseHistoryText, renderHtmlReport, type Verdict } from '../check/index.js';

/** What the check of a run's history found (small enough to post between threads). */
export interface CheckSummary {
  readonly verdict: Verdict;
  readonly ops: number;
  readonly keys: number;
  readonly elapsedMs: number;
  /** Keys that are not linearizable, or undecided, with why. */
  readonly problemKeys: readonly { key: string; verdict: Verdict; ops: number; reason?: string }[];
  /** Text reports of the violations (formatViolation), the first few. */
  readonly violations: readonly string[];
  /** The key with the most work, for the numbers in the report. */
  readonly slowestKeyMs: number;
}

interface Job {
  readonly historyPath: string;
  readonly reportPath: string;
  readonly budgetMsPerKey: number;
  /** Inserted at the top of the HTML report: the run's own summary. */
  readonly headerHtml: string;
}

const MAX_VIOLATION_TEXTS = 5;

/** Runs in the worker: check, write the HTML report, answer with the summary. */
function runJob(job: Job): CheckSummary {
  const history = parseHistoryText(readFileSync(job.historyPath, 'utf8'));
  const result = checkHistory(history, { timeBudgetMsPerKey: job.budgetMsPerKey });
  const html = renderHtmlReport(result).replace('<body>', `<body>\n${job.headerHtml}`);
  writeFileSync(job.reportPath, html);
  const problemKeys = result.keys
    .filter((k) => k.verdict !== 'linearizable')
    .map((k) => ({
      key: k.key,
      verdict: k.verdict,
      ops: k.ops,
      ...(k.unknownReason !== undefined ? { reason: k.unknownReason } : {}),
    }));
  const violations = result.keys
    .filter((k) => k.violation !== undefined)
    .slice(0, MAX_VIOLATION_TEXTS)
    .map((k) => formatViolation(k.violation!));
  return {
    verdict: result.verdict,
    ops: result.ops,
    keys: result.keys.length,
    elapsedMs: result.elapsedMs,
    problemKeys,
    violations,
    slowestKeyMs: Math.max(0, ...result.keys.map((k) => k.elapsedMs)),
  };
}

if (!isMainThread && parentPort && (workerData as { cairnTortureCheck?: Job })?.cairnTortureCheck) {
  const job = (workerData as { cairnTortureCheck: Job }).cairnTortureCheck;
  try {
    parentPort.postMessage({ ok: true, summary: runJob(job) });
  } catch (error) {
    parentPort.postMessage({
      ok: false,
      error: error instanceof Error ? (error.stack ?? error.message) : String(error),
    });
  }
}

/**
 * Checks the history file for linearizability in a worker thread (the search is synchronous and may take long:
 * the harness stays responsive, and a check past `totalTimeoutMs` is stopped and counted as undecided).
 */
export function checkInWorker(job: Job, totalTimeoutMs: number): Promise<CheckSummary> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL(import.meta.url), { workerData: { cairnTortureCheck: job } });
    let settled = false;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      void worker.terminate();
      resolve({
        verdict: 'unknown',
        ops: 0,
        keys: 0,
        elapsedMs: totalTimeoutMs,
        problemKeys: [
          { key: '*', verdict: 'unknown', ops: 0, reason: `the whole check exceeded ${totalTimeoutMs} ms` },
        ],
        violations: [],
        slowestKeyMs: 0,
      });
    }, totalTimeoutMs);
    worker.once('message', (m: { ok: true; summary: CheckSummary } | { ok: false; error: string }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void worker.terminate();
      if (m.ok) resolve(m.summary);
      else reject(new Error(`the check failed: ${m.error}`));
    });
    worker.once('error', (error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(error);
    });
    worker.once('exit', (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      reject(new Error(`the check worker exited with code ${code}`));
    });
  });
}
