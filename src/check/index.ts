/** Cairn's linearizability checker: public API. See docs/checker.md. */
export {
  type CheckOptions,
  type CheckResult,
  checkHistory,
  DEFAULT_MAX_CONFIGURATIONS_PER_KEY,
  DEFAULT_TIME_BUDGET_MS_PER_KEY,
  type KeyResult,
  type Verdict,
} from './check-history.js';
export { InvalidHistoryError } from './errors.js';
export {
  type CompareFailedOutput,
  DEFAULT_MAX_OPS,
  type DeleteOutput,
  type GetOutput,
  type HistoryOp,
  type OpInput,
  type OpKind,
  type OpOutput,
  type PutOutput,
  parseHistoryText,
  type UnavailableOutput,
  validateHistory,
} from './history.js';
export { renderHtmlReport } from './html-report.js';
export { applyKvOp, type KvState } from './kv-register.js';
export { formatOp, formatOpCall, formatViolation, MAX_CONTEXT, type Violation } from './violation.js';
