import type { ChildProcess } from 'node:child_process';

/**
 * Every child process the harness started and has not seen exit, process-wide. Whatever happens to the harness
 * (an uncaught error, SIGINT, `process.exit`), `killAllSync` runs on exit and leaves no node process behind.
 */
const live = new Set<ChildProcess>();
let hooked = false;

export function trackChild(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (!hooked) {
    hooked = true;
    process.on('exit', killAllSync);
  }
}

/** SIGKILL (which also ends a SIGSTOPped process) every child still alive. Synchronous: safe in an exit hook. */
export function killAllSync(): number {
  let killed = 0;
  for (const child of live) {
    try {
      if (child.exitCode === null && child.signalCode === null && child.kill('SIGKILL')) killed++;
    } catch {
      // already gone
    }
  }
  live.clear();
  return killed;
}

/** How many started children have not exited yet (tests assert 0 after a run). */
export function liveChildCount(): number {
  let n = 0;
  for (const child of live) if (child.exitCode === null && child.signalCode === null) n++;
  return n;
}
