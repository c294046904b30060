export {
  BALANCER_DEFAULTS,
  type Balancer,
  type BalancerOptions,
  type BalancerStats,
  createBalancer,
  type HostStats,
  type PickOptions,
  type SendAttempt,
} from './balancer.js';
export { DecayingCounter } from './decaying-counter.js';
export { BalancerError, type BalancerErrorCode } from './errors.js';
export { parseIpAddress } from './hashing/ip-address.js';
export { DEFAULT_MAGLEV_TABLE_SIZE, MaglevTable, type WeightedNode } from './hashing/maglev.js';
export { murmur3Bytes, murmur3String } from './hashing/murmur3.js';
export { type RendezvousNode, rendezvousNode, rendezvousPick } from './hashing/rendezvous.js';
export {
  ActiveHealthChecker,
  type ActiveHealthCheckOptions,
  HEALTH_CHECK_DEFAULTS,
  type HealthProbe,
  type TimerApi,
} from './health-checker.js';
export { type CandidateSet, HealthView, isHealthy } from './health-view.js';
export {
  HOST_TRACKER_DEFAULTS,
  HostRecord,
  HostTracker,
  type HostTrackerOptions,
  RequestHandle,
} from './host-tracker.js';
export {
  OUTLIER_DEFAULTS,
  type OutlierDetectionOptions,
  OutlierDetector,
  type OutlierStats,
} from './outlier-detector.js';
export { PeakEwma } from './peak-ewma.js';
export {
  CONSISTENT_HASH_DEFAULTS,
  type ConsistentHashOptions,
  ConsistentHashPicker,
} from './pickers/consistent-hash-picker.js';
export { createPicker, type StrategyOptions, ZONE_DEFAULTS, type ZoneAwareOptions } from './pickers/create-picker.js';
export { createIpHashPicker, ipHash } from './pickers/ip-hash.js';
export { LEAST_TIME_DEFAULTS, type LeastTimeOptions, LeastTimePicker } from './pickers/least-time.js';
export type { Picker, PickerContext } from './pickers/picker.js';
export { RoundRobinPicker } from './pickers/round-robin.js';
export {
  type SmoothWeightedRoundRobinOptions,
  SmoothWeightedRoundRobinPicker,
  WRR_DEFAULTS,
} from './pickers/smooth-weighted-round-robin.js';
export { createUrlHashPicker, urlHash } from './pickers/url-hash.js';
export { ZoneAwarePicker } from './pickers/zone-aware.js';
export { RETRY_BUDGET_DEFAULTS, RetryBudget, type RetryBudgetOptions } from './retry-budget.js';
export { RETRY_DEFAULTS, type RetryOptions, RetryPolicy, type RetryRefusal, type RetryStats } from './retry-policy.js';
export {
  type BalanceRequest,
  type HealthState,
  type Host,
  type HostSpec,
  type RequestOutcome,
  STRATEGY_NAMES,
  type StrategyName,
} from './types.js';
export { type ZoneCapacity, type ZoneRouting, zoneRouting } from './zone-spill.js';
