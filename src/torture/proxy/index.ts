export { FaultProxyError, type FaultProxyErrorCode } from './errors.js';
export { FaultProxy, type FaultProxyStats, type ProxyNodeConfig } from './fault-proxy.js';
export {
  type FaultMode,
  type LinkFault,
  type LinkFaultInput,
  MAX_DELAY_MS,
  type ResolvedLinkFault,
} from './link-fault.js';
export type { LinkCounters, LinkStats } from './link-state.js';
export {
  FAULT_PROXY_DEFAULTS,
  type FaultProxyComponents,
  type FaultProxyOptions,
  type ResolvedFaultProxyOptions,
} from './options.js';
