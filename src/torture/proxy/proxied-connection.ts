import { connect, type Socket } from 'node:net';
import type { TimerHandle } from '../../transport/components.js';
import { LinkPipe, type PipeLimits } from './link-pipe.js';
import type { LinkState } from './link-state.js';
import type { ResolvedFaultProxyComponents } from './options.js';
import { resetSocket } from './socket-reset.js';

export interface UpstreamTarget {
  readonly host: string;
  readonly port: number;
  /** Local address the dial binds to (the source node's host), or undefined to let the OS choose. */
  readonly localAddress: string | undefined;
  readonly connectTimeoutMs: number;
}

type ConnectionState = 'connecting' | 'open' | 'closed';

/**
 * One TCP connection from node X to node Y's front door, spliced to a connection the proxy dials to the real Y.
 * Two pipes: `forward` (client → upstream, link X→Y) and `backward` (upstream → client, link Y→X).
 *
 * Endings: a FIN is passed on like data (half-close is kept: both sockets allow half-open). A socket error, or a
 * socket that closes before its incoming direction was ended by us, resets the other side (RST), as a broken
 * path would. The connection is finished once both sockets have closed.
 */
export class ProxiedConnection {
  private state: ConnectionState = 'connecting';
  private upstream: Socket | undefined;
  private forward: LinkPipe | undefined;
  private backward: LinkPipe | undefined;
  private connectTimer: TimerHandle | undefined;
  private openSockets = 1;
  private readonly finished: Promise<void>;
  private resolveFinished!: () => void;

  constructor(
    readonly id: number,
    /** Link X→Y: the direction of the dialer's bytes. */
    readonly forwardLink: LinkState,
    /** Link Y→X: the direction of the answers. */
    readonly backwardLink: LinkState,
    private readonly client: Socket,
    private readonly target: UpstreamTarget,
    private readonly limits: PipeLimits,
    private readonly components: ResolvedFaultProxyComponents,
    private readonly onFinished: (connection: ProxiedConnection) => void,
  ) {
    this.finished = new Promise((resolve) => {
      this.resolveFinished = resolve;
    });
  }

  get from(): string {
    return this.forwardLink.from;
  }

  get to(): string {
    return this.forwardLink.to;
  }

  /** The pipe carrying `link`'s bytes on this connection (both, for a node dialing its own front door). */
  pipesOn(link: LinkState): LinkPipe[] {
    const pipes: LinkPipe[] = [];
    if (this.forward !== undefined && this.forwardLink === link) pipes.push(this.forward);
    if (this.backward !== undefined && this.backwardLink === link) pipes.push(this.backward);
    return pipes;
  }

  /** Bytes held towards `link.to` on this connection. */
  bufferedBytesOn(link: LinkState): number {
    let total = 0;
    for (const pipe of this.pipesOn(link)) total += pipe.bufferedBytes;
    return total;
  }

  /** Dials the real node; bytes start flowing once that connection is up. Never throws. */
  open(): void {
    const { client, target } = this;
    client.setNoDelay(true);
    client.on('error', (error) => this.onSocketError('client', error));
    client.on('close', () => this.onSocketClose('client'));

    this.openSockets++;
    const upstream = connect({
      host: target.host,
      port: target.port,
      allowHalfOpen: true,
      noDelay: true,
      ...(target.localAddress === undefined ? {} : { localAddress: target.localAddress }),
    });
    this.upstream = upstream;
    upstream.on('error', (error) => this.onSocketError('upstream', error));
    upstream.on('close', () => this.onSocketClose('upstream'));
    upstream.once('connect', () => this.onUpstreamConnected());
    this.connectTimer = this.components.timers.setTimeout(() => {
      this.connectTimer = undefined;
      if (this.state !== 'connecting') return;
      this.forwardLink.counters.upstreamConnectFailures++;
      this.forwardLink.counters.connectionErrors++;
      this.log('warn', { timeoutMs: target.connectTimeoutMs }, 'fault proxy: upstream dial timed out');
      this.terminate(true);
    }, target.connectTimeoutMs);
  }

  /** Ends the connection with an RST on both sides (the nodes see ECONNRESET), for a `reject` or a heal. */
  reset(reason: string): void {
    if (this.state === 'closed') return;
    this.forwardLink.counters.connectionsReset++;
    this.log('info', { reason }, 'fault proxy: resetting connection');
    this.terminate(true);
  }

  /** Destroys both sockets (no RST) and resolves once both have closed. For `FaultProxy.close()`. */
  destroy(): Promise<void> {
    this.terminate(false);
    return this.finished;
  }

  private onUpstreamConnected(): void {
    this.cancelConnectTimer();
    const upstream = this.upstream;
    if (this.state !== 'connecting' || upstream === undefined) return;
    this.state = 'open';
    this.forward = new LinkPipe(this.forwardLink, this.client, upstream, this.limits, this.components);
    this.backward = new LinkPipe(this.backwardLink, upstream, this.client, this.limits, this.components);
    this.forward.start();
    this.backward.start();
    this.client.resume(); // The server accepted it paused, so nothing was read before the pipe existed.
    this.log('debug', { localAddress: upstream.localAddress }, 'fault proxy: connection open');
  }

  private onSocketError(side: 'client' | 'upstream', error: Error): void {
    if (this.state === 'closed') return;
    const code = (error as NodeJS.ErrnoException).code;
    if (side === 'upstream' && this.state === 'connecting') {
      this.forwardLink.counters.upstreamConnectFailures++;
      this.log('warn', { code, error: error.message }, 'fault proxy: upstream dial failed');
    } else {
      this.log('debug', { side, code, error: error.message }, 'fault proxy: socket error');
    }
    this.forwardLink.counters.connectionErrors++;
    this.terminate(true);
  }

  /**
   * A socket closed without an error. Fine if we had ended its outgoing direction (a graceful close after both
   * FINs): the other socket closes by itself once its own write buffer is flushed and ended, so it is left
   * alone. Otherwise the socket was torn down under us and the other side is reset.
   */
  private onSocketClose(side: 'client' | 'upstream'): void {
    this.openSockets--;
    if (this.state !== 'closed') {
      const pipeInto = side === 'client' ? this.backward : this.forward;
      if (pipeInto === undefined || !pipeInto.hasForwardedEnd) {
        this.log('debug', { side }, 'fault proxy: socket closed abruptly');
        this.terminate(true);
      }
    }
    if (this.openSockets === 0) {
      this.terminate(false); // Both closed gracefully: stop the pipes.
      this.onFinished(this);
      this.resolveFinished();
    }
  }

  private terminate(withReset: boolean): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.cancelConnectTimer();
    this.forward?.stop();
    this.backward?.stop();
    for (const socket of [this.client, this.upstream]) {
      if (socket === undefined) continue;
      if (withReset) resetSocket(socket);
      else socket.destroy();
    }
  }

  private cancelConnectTimer(): void {
    if (this.connectTimer === undefined) return;
    this.components.timers.clearTimeout(this.connectTimer);
    this.connectTimer = undefined;
  }

  private log(level: 'debug' | 'info' | 'warn', fields: object, message: string): void {
    this.components.logger[level]({ connection: this.id, from: this.from, to: this.to, ...fields }, message);
  }
}
