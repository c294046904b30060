import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NODE_RUNTIME_FLAGS } from '../node/runtime-flags.js';
import { trackChild } from './process-registry.js';

/** `cairn start` under the harness's own script name (see node-entry.ts), next to this file in dist/. */
export const NODE_ENTRY = fileURLToPath(new URL('./node-entry.js', import.meta.url));

/** Where a node lives: its own loopback host, real ports, and (in front of the peer port) its proxy front door. */
export interface NodeSpec {
  readonly name: string;
  /** 127.0.0.N: the node's peer and API listeners, and the source address of its peer connections. */
  readonly host: string;
  readonly peerPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  readonly logFile: string;
}

export type NodeProcessState = 'stopped' | 'running' | 'paused';

/** An exit the harness did not cause: a crash (a finding), or someone else stopping the process. */
export interface UnexpectedExit {
  readonly node: string;
  readonly code: number | null;
  readonly signal: string | null;
  /**
   * `crash`: the node ended by itself (non-zero exit, or a fatal signal it raised); `outside-signal`: it was
   * stopped by SIGTERM/SIGINT/SIGHUP (or exited 0, which a node does only after such a signal) that the harness
   * did not send — interference from another program on the machine, which invalidates the run but is no bug.
   */
  readonly cause: 'crash' | 'outside-signal';
  /** Harness clock (ms since the run started). */
  readonly atMs: number;
}

const STOP_SIGNALS = new Set(['SIGTERM', 'SIGINT', 'SIGHUP']);

/** Why a process the harness did not stop ended (see UnexpectedExit.cause). */
export function exitCause(code: number | null, signal: string | null): UnexpectedExit['cause'] {
  return (signal !== null && STOP_SIGNALS.has(signal)) || code === 0 ? 'outside-signal' : 'crash';
}

/**
 * One `cairn start` process. `start` spawns it with the same arguments every time (a restart resumes its data
 * directory); `kill` is `kill -9`; `pause`/`resume` are SIGSTOP/SIGCONT. Output goes to the node's log file.
 */
export class NodeProcess {
  private child: ChildProcess | null = null;
  private paused = false;
  private expectingExit = false;
  starts = 0;

  constructor(
    readonly spec: NodeSpec,
    /** Arguments after `start` (computed at each start: a joiner's are fixed once it has joined). */
    private args: readonly string[],
    private readonly onUnexpectedExit: (exit: Omit<UnexpectedExit, 'atMs'>) => void,
  ) {}

  get state(): NodeProcessState {
    if (this.child === null) return 'stopped';
    return this.paused ? 'paused' : 'running';
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get apiOrigin(): string {
    return `http://${this.spec.host}:${this.spec.httpPort}`;
  }

  setArgs(args: readonly string[]): void {
    this.args = args;
  }

  start(): void {
    if (this.child !== null) return;
    const fd = openSync(this.spec.logFile, 'a');
    writeSync(fd, `\n=== harness: starting ${this.spec.name} (start #${this.starts + 1}) ===\n`);
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...NODE_RUNTIME_FLAGS, NODE_ENTRY, ...this.args], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd); // the child holds its own copy
    }
    this.starts++;
    this.child = child;
    this.paused = false;
    this.expectingExit = false;
    trackChild(child);
    child.once('exit', (code, signal) => {
      if (this.child === child) {
        this.child = null;
        this.paused = false;
      }
      if (!this.expectingExit) {
        this.onUnexpectedExit({ node: this.spec.name, code, signal, cause: exitCause(code, signal) });
      }
    });
  }

  /** `kill -9`, resolving once the process is gone (a paused process dies too). */
  kill(): Promise<void> {
    const child = this.child;
    if (child === null) return Promise.resolve();
    this.expectingExit = true;
    return new Promise((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      child.once('exit', () => resolve());
      child.kill('SIGKILL');
    });
  }

  pause(): boolean {
    if (this.child === null || this.paused) return false;
    this.child.kill('SIGSTOP');
    this.paused = true;
    return true;
  }

  resume(): boolean {
    if (this.child === null || !this.paused) return false;
    this.child.kill('SIGCONT');
    this.paused = false;
    return true;
  }
}
