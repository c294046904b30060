export { type BackendInfo, BackendSet, type BackendSetStats } from './backends.js';
export { BACKEND_HEADER, GATEWAY_HEADER, Gateway } from './gateway.js';
export { clientAddress, downstreamHeaders, upstreamHeaders } from './headers.js';
export {
  type BackendSpec,
  GATEWAY_DEFAULTS,
  GatewayConfigError,
  type GatewayHealthOptions,
  type GatewayLogger,
  type GatewayOptions,
  type ResolvedGatewayOptions,
  resolveGatewayOptions,
} from './options.js';
export type { BackendStatus, GatewayStatus } from './status.js';
