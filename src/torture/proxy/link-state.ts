import { PASS, type ResolvedLinkFault } from './link-fault.js';

/**
 * Counters of one directed link (from → to). Byte counters count the bytes flowing from `from` to `to`, on
 * connections opened by either side; connection counters count the connections `from` opened to `to`.
 */
export interface LinkCounters {
  /** Bytes written on towards `to`. */
  bytesPassed: number;
  /** Bytes discarded by a blackhole (including bytes that were queued when the blackhole began). */
  bytesDiscarded: number;
  /** Connections `from` opened to `to`'s front door that were proxied (upstream dial attempted). */
  connectionsOpened: number;
  /** Connections refused at once (reset) because of a `reject` fault or the connection limit. */
  connectionsRejected: number;
  /** Proxied connections the proxy reset on purpose: a `reject` fault began, or a blackhole that lost bytes ended. */
  connectionsReset: number;
  /** Proxied connections that ended because of a socket error or a failed upstream dial. */
  connectionErrors: number;
  /** Upstream dials (proxy → real `to`) that failed or timed out. Included in connectionErrors. */
  upstreamConnectFailures: number;
  /** How often a connection's source socket was paused because its backlog towards `to` reached the cap. */
  backpressurePauses: number;
  /** The largest backlog (bytes) one connection ever held towards `to`: delay queue + destination write buffer. */
  peakBufferedBytes: number;
}

export interface LinkStats extends LinkCounters {
  readonly from: string;
  readonly to: string;
  readonly fault: ResolvedLinkFault;
  /** Open proxied connections `from` opened to `to`. */
  readonly connectionsActive: number;
  /** Bytes held right now towards `to`, over all connections. */
  readonly bufferedBytes: number;
}

export function linkKey(from: string, to: string): string {
  return `${from}->${to}`;
}

/** The fault and counters of one directed link, shared by every connection that carries it. */
export class LinkState {
  fault: ResolvedLinkFault = PASS;
  readonly counters: LinkCounters = {
    bytesPassed: 0,
    bytesDiscarded: 0,
    connectionsOpened: 0,
    connectionsRejected: 0,
    connectionsReset: 0,
    connectionErrors: 0,
    upstreamConnectFailures: 0,
    backpressurePauses: 0,
    peakBufferedBytes: 0,
  };

  constructor(
    readonly from: string,
    readonly to: string,
  ) {}

  get key(): string {
    return linkKey(this.from, this.to);
  }
}
