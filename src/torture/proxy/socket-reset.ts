import type { Socket } from 'node:net';

/**
 * Ends a socket abruptly with a TCP RST (the peer sees ECONNRESET), as a broken network path or a firewall's
 * reject would. A socket still connecting, or one that cannot send an RST any more, is simply destroyed.
 */
export function resetSocket(socket: Socket): void {
  if (socket.destroyed) return;
  if (socket.connecting) {
    socket.destroy();
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy();
  }
}
