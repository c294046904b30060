export { formatHostPort, type HostPort, parseHostPort } from './address.js';
export {
  type Clock,
  type Logger,
  noopLogger,
  systemClock,
  systemTimers,
  type TimerHandle,
  type Timers,
  type TransportComponents,
} from './components.js';
export { type HandshakeRejectCode, TransportError, type TransportErrorCode } from './errors.js';
export { PROTOCOL_VERSION } from './frame-codec.js';
export {
  type MessageHandler,
  type PeerConnectionState,
  TRANSPORT_DEFAULTS,
  type TransportOptions,
} from './options.js';
export type { PeerCounters, PeerStats, TransportStats, UnidentifiedInboundCounters } from './stats.js';
export { TcpTransport } from './tcp-transport.js';
export type { Transport } from './transport.js';
