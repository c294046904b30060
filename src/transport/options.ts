import { isIP } from 'node:net';
import { type HostPort, isWildcardHost, parseHostPort } from './address.js';
import { TransportError } from './errors.js';

const MiB = 1024 * 1024;

/** What a peer's outbound connection is doing. */
export type PeerConnectionState = 'connecting' | 'connected' | 'backoff';

/** Called for every decoded message, in order per connection. Exceptions are caught, logged and counted. */
export type MessageHandler = (from: string, message: unknown) => void;

export interface TransportOptions {
  /** This node's name, sent in the hello. Required; 1..255 bytes of UTF-8. */
  nodeName: string;
  /** Every node of one cluster has the same id; a hello with another is refused. Required; 1..255 bytes. */
  clusterId: string;
  /** `host:port` to accept peer connections on (port 0 = any free port, see `listenAddress()`). Required. */
  listen: string;
  /** Peer name → `host:port` to dial. Default: none (add them later with `setPeers`). */
  peers?: Readonly<Record<string, string>>;
  /**
   * Local address outgoing connections bind to, so a receiver (or proxy, or firewall) sees which node dials.
   * Must be an IP address. Default: the host of `listen` when it is an IP address other than a wildcard
   * (0.0.0.0, ::); otherwise the OS chooses. `null`: let the OS choose.
   */
  localAddress?: string | null;
  /** Called for every received message. Required. */
  onMessage: MessageHandler;
  /**
   * Decides whether an inbound hello's node name is accepted. Default: the name is one of the configured peers
   * (as last set by `setPeers`).
   */
  isKnownPeer?: (name: string) => boolean;
  /** Told whenever a peer's outbound connection changes state. Default: nothing. */
  onPeerStateChange?: (peer: string, state: PeerConnectionState) => void;
  /**
   * Told when an attempt to connect to a peer fails, with the reason (e.g. "ECONNREFUSED: ..." when nothing
   * listens on its port: its process is gone). Default: nothing.
   */
  onConnectFailed?: (peer: string, reason: string) => void;

  /** Largest frame accepted or sent, length prefix excluded. Default 16 MiB. A single message may be this big. */
  maxFrameBytes?: number;
  /**
   * A frame is closed once its messages reach this many bytes (one bigger message still goes alone).
   * Default 1 MiB, or maxFrameBytes if smaller.
   */
  batchMaxBytes?: number;
  /** Per-peer send queue limit in messages; past it new messages are dropped. Default 8192. */
  maxQueueMessages?: number;
  /** Per-peer send queue limit in encoded bytes; past it new messages are dropped. Default 32 MiB. */
  maxQueueBytes?: number;
  /** A queued message older than this is dropped instead of sent (sendAsync: MESSAGE_EXPIRED). Default 5000 ms. */
  maxQueueAgeMs?: number;
  /** Backoff base: the n-th consecutive retry waits random × min(max, min × 2^n). Default 50 ms. */
  reconnectMinMs?: number;
  /** Backoff cap; a refused handshake waits between ½ and 1 × this. Default 2000 ms. */
  reconnectMaxMs?: number;
  /** Dialing: TCP connect plus the hello/welcome exchange must finish within this. Default 3000 ms. */
  connectTimeoutMs?: number;
  /** Accepting: the dialer's hello must arrive within this. Default 5000 ms. */
  handshakeTimeoutMs?: number;
  /** An outbound socket whose written bytes have not drained for this long is considered dead. Default 30000 ms. */
  writeStallTimeoutMs?: number;
  /** TCP keepalive initial delay. Default 10000 ms. */
  keepAliveInitialDelayMs?: number;
  /** Inbound connections held at once (including ones still in handshake); more are closed. Default 256. */
  maxInboundConnections?: number;
}

export interface ResolvedTransportOptions {
  readonly nodeName: string;
  readonly clusterId: string;
  readonly listen: HostPort;
  readonly peers: ReadonlyMap<string, HostPort>;
  readonly localAddress: string | undefined;
  readonly onMessage: MessageHandler;
  readonly isKnownPeer: ((name: string) => boolean) | undefined;
  readonly onPeerStateChange: ((peer: string, state: PeerConnectionState) => void) | undefined;
  readonly onConnectFailed: ((peer: string, reason: string) => void) | undefined;
  readonly maxFrameBytes: number;
  readonly batchMaxBytes: number;
  readonly maxQueueMessages: number;
  readonly maxQueueBytes: number;
  readonly maxQueueAgeMs: number;
  readonly reconnectMinMs: number;
  readonly reconnectMaxMs: number;
  readonly connectTimeoutMs: number;
  readonly handshakeTimeoutMs: number;
  readonly writeStallTimeoutMs: number;
  readonly keepAliveInitialDelayMs: number;
  readonly maxInboundConnections: number;
}

export const TRANSPORT_DEFAULTS = {
  maxFrameBytes: 16 * MiB,
  batchMaxBytes: 1 * MiB,
  maxQueueMessages: 8192,
  maxQueueBytes: 32 * MiB,
  maxQueueAgeMs: 5000,
  reconnectMinMs: 50,
  reconnectMaxMs: 2000,
  connectTimeoutMs: 3000,
  handshakeTimeoutMs: 5000,
  writeStallTimeoutMs: 30_000,
  keepAliveInitialDelayMs: 10_000,
  maxInboundConnections: 256,
} as const;

/** Node names and cluster ids travel in the hello, which is capped small (see HANDSHAKE_MAX_FRAME_BYTES). */
export const MAX_NAME_BYTES = 255;

export function validateName(what: string, name: unknown): string {
  if (typeof name !== 'string' || name.length === 0 || Buffer.byteLength(name) > MAX_NAME_BYTES) {
    throw new TransportError('INVALID_OPTION', `${what} must be a string of 1..${MAX_NAME_BYTES} bytes`);
  }
  return name;
}

export function parsePeers(peers: Readonly<Record<string, string>>, selfName: string): Map<string, HostPort> {
  if (peers === null || typeof peers !== 'object') {
    throw new TransportError('INVALID_OPTION', 'peers must be an object of name → host:port');
  }
  const parsed = new Map<string, HostPort>();
  for (const [name, address] of Object.entries(peers)) {
    validateName(`peer name "${name}"`, name);
    if (name === selfName) throw new TransportError('INVALID_OPTION', `peers must not include this node ("${name}")`);
    const hostPort = parseHostPort(address);
    if (hostPort.port === 0) throw new TransportError('INVALID_ADDRESS', `peer "${name}" has port 0 ("${address}")`);
    parsed.set(name, hostPort);
  }
  return parsed;
}

function integerOption(options: TransportOptions, key: keyof typeof TRANSPORT_DEFAULTS, min: number, max: number) {
  const value = options[key] ?? TRANSPORT_DEFAULTS[key];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TransportError('INVALID_OPTION', `${key} must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}

/** Applies defaults and checks every option; throws INVALID_OPTION / INVALID_ADDRESS naming the culprit. */
export function resolveTransportOptions(options: TransportOptions): ResolvedTransportOptions {
  if (options === null || typeof options !== 'object') throw new TransportError('INVALID_OPTION', 'options missing');
  const nodeName = validateName('nodeName', options.nodeName);
  const clusterId = validateName('clusterId', options.clusterId);
  const listen = parseHostPort(options.listen);
  if (typeof options.onMessage !== 'function') throw new TransportError('INVALID_OPTION', 'onMessage is required');
  // Sockets can only bind to an IP literal: a listen host name (or a wildcard) leaves the choice to the OS.
  let localAddress: string | undefined;
  if (options.localAddress === undefined) {
    localAddress = isIP(listen.host) === 0 || isWildcardHost(listen.host) ? undefined : listen.host;
  } else if (options.localAddress === null) localAddress = undefined;
  else if (typeof options.localAddress === 'string' && isIP(options.localAddress) !== 0) {
    localAddress = options.localAddress;
  } else throw new TransportError('INVALID_OPTION', 'localAddress must be an IP address or null');

  const maxFrameBytes = integerOption(options, 'maxFrameBytes', 1024, 2 ** 31 - 1);
  // The default never exceeds a smaller maxFrameBytes; an explicit value must fit.
  const batchMaxBytes = integerOption(
    { ...options, batchMaxBytes: options.batchMaxBytes ?? Math.min(TRANSPORT_DEFAULTS.batchMaxBytes, maxFrameBytes) },
    'batchMaxBytes',
    1,
    maxFrameBytes,
  );
  const reconnectMinMs = integerOption(options, 'reconnectMinMs', 1, 3_600_000);
  const reconnectMaxMs = integerOption(options, 'reconnectMaxMs', reconnectMinMs, 3_600_000);
  return {
    nodeName,
    clusterId,
    listen,
    peers: parsePeers(options.peers ?? {}, nodeName),
    localAddress,
    onMessage: options.onMessage,
    isKnownPeer: options.isKnownPeer,
    onPeerStateChange: options.onPeerStateChange,
    onConnectFailed: options.onConnectFailed,
    maxFrameBytes,
    batchMaxBytes,
    maxQueueMessages: integerOption(options, 'maxQueueMessages', 1, 10_000_000),
    maxQueueBytes: integerOption(options, 'maxQueueBytes', 1, 2 ** 40),
    maxQueueAgeMs: integerOption(options, 'maxQueueAgeMs', 1, 86_400_000),
    reconnectMinMs,
    reconnectMaxMs,
    connectTimeoutMs: integerOption(options, 'connectTimeoutMs', 1, 3_600_000),
    handshakeTimeoutMs: integerOption(options, 'handshakeTimeoutMs', 1, 3_600_000),
    writeStallTimeoutMs: integerOption(options, 'writeStallTimeoutMs', 1, 3_600_000),
    keepAliveInitialDelayMs: integerOption(options, 'keepAliveInitialDelayMs', 0, 3_600_000),
    maxInboundConnections: integerOption(options, 'maxInboundConnections', 1, 1_000_000),
  };
}
