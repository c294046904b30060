export { HealthError, type HealthErrorCode } from './errors.js';
export {
  cpuLoadPercent,
  evaluateHealthRules,
  HEALTH_REASON_CODES,
  HEALTHY,
  type HealthCondition,
  type HealthReason,
  type HealthReasonCode,
  type HealthSeverity,
  type HealthStatus,
} from './health-rules.js';
export {
  createHealthHeartbeat,
  HEALTH_HEARTBEAT_TYPE,
  HEALTH_HEARTBEAT_VERSION,
  type HealthHeartbeat,
  type HeartbeatParseResult,
  isHealthHeartbeatMessage,
  MAX_CONDITION_REASONS,
  MAX_NODE_NAME_BYTES,
  MAX_REASON_CODE_CHARS,
  MAX_REASON_MESSAGE_CHARS,
  parseHealthHeartbeat,
} from './heartbeat-message.js';
export { LatencyHistogram } from './latency-histogram.js';
export {
  HEALTH_RULES_DEFAULTS,
  type HealthRulesOptions,
  PEER_HEALTH_TRACKER_DEFAULTS,
  type PeerHealthTrackerOptions,
  PHI_ACCRUAL_DEFAULTS,
  type PhiAccrualOptions,
  type PhiDistribution,
  RESOURCE_MONITOR_DEFAULTS,
  type ResolvedHealthRulesOptions,
  type ResolvedPeerHealthTrackerOptions,
  type ResolvedPhiAccrualOptions,
  type ResolvedResourceMonitorOptions,
  type ResourceMonitorOptions,
  resolveHealthRulesOptions,
  resolvePeerHealthTrackerOptions,
  resolvePhiAccrualOptions,
  resolveResourceMonitorOptions,
} from './options.js';
export {
  type HealthEvaluation,
  type HealthTransition,
  type HeartbeatInfo,
  type HeartbeatOutcome,
  type PeerHealth,
  PeerHealthTracker,
  type PeerHealthTrackerComponents,
  type PeerState,
} from './peer-health-tracker.js';
export { phiExponential, phiNormal } from './phi.js';
export { PhiAccrualDetector, type PhiAccrualStats } from './phi-accrual-detector.js';
export { ResourceMonitor, type ResourceMonitorComponents } from './resource-monitor.js';
export {
  type CpuTimes,
  type EventLoopDelaySource,
  type FilesystemStats,
  type ResourceSources,
  type SystemCpuTimes,
  systemResourceSources,
  unrefTimers,
} from './resource-sources.js';
export { type NodeVitals, parseVitals, VITALS_FIELDS } from './vitals.js';
