/** The torture harness: public API. See docs/testing.md. */
export { parseTortureArgs } from './cli.js';
export { TortureError, type TortureErrorCode } from './errors.js';
export { FAULT_FAMILIES, FAULT_KINDS, type FaultKind, parseFaultKinds } from './fault-kinds.js';
export { type FaultPlanOptions, holdFor, type PlannedFault, planFaults } from './fault-plan.js';
export type { FaultRecord } from './fault-runner.js';
export {
  replayCommand,
  runTorture,
  type TortureIo,
  type TortureResult,
  type TortureVerdict,
  type WatcherResult,
} from './harness.js';
export {
  electionTimeoutMs,
  resolveTortureOptions,
  TORTURE_DEFAULTS,
  type TortureOptions,
  type TortureOptionsInput,
} from './options.js';
export { killAllSync, liveChildCount } from './process-registry.js';
export { compareChecksums, type ReplicaCheck } from './replica-check.js';
export {
  type AcknowledgedWrite,
  checkAcknowledgedWrites,
  checkWatch,
  stateFromLog,
  type WatchCheckResult,
  type WatchedBatch,
  type WatchedChange,
} from './watch-check.js';
