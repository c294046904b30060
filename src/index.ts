/** Cairn's public entry point: the client SDK, the gateway, and the pieces people embed. */

export { createBalancer, STRATEGY_NAMES, type StrategyName } from './balancer/index.js';
export { checkHistory, renderHtmlReport } from './check/index.js';
export * from './client/index.js';
export {
  type BackendSpec,
  type BackendStatus,
  GATEWAY_DEFAULTS,
  Gateway,
  GatewayConfigError,
  type GatewayOptions,
  type GatewayStatus,
} from './gateway/index.js';
