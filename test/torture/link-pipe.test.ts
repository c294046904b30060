/**
 * LinkPipe on its own, with fake sockets, a fake clock and timers that fire only when the test says: exact due
 * times, ordering, fault switches and the backpressure thresholds, with no real time involved.
 */
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { resolveLinkFault } from '../../src/torture/proxy/link-fault.js';
import { LinkPipe } from '../../src/torture/proxy/link-pipe.js';
import { LinkState } from '../../src/torture/proxy/link-state.js';
import type { ResolvedFaultProxyComponents } from '../../src/torture/proxy/options.js';
import type { Random } from '../../src/util/random.js';
import { CapturingLogger } from './proxy-harness.js';

class FakeSource extends EventEmitter {
  paused = false;
  pause() {
    this.paused = true;
    return this;
  }
  resume() {
    this.paused = false;
    return this;
  }
}

class FakeDest extends EventEmitter {
  readonly writes: Array<{ at: number; text: string }> = [];
  ended = false;
  endedAt = -1;
  destroyed = false;
  /** What the "kernel" has not taken yet: set by tests to simulate a receiver that does not read. */
  writableLength = 0;
  constructor(private readonly clock: { now(): number }) {
    super();
  }
  get writableEnded() {
    return this.ended;
  }
  write(chunk: Buffer) {
    this.writes.push({ at: this.clock.now(), text: chunk.toString() });
    return true;
  }
  end() {
    this.ended = true;
    this.endedAt = this.clock.now();
    return this;
  }
  get text() {
    return this.writes.map((write) => write.text).join('');
  }
}

/** A fake clock and timers: `advance(ms)` moves time and fires what became due, in order. */
class FakeTime {
  now = 0;
  private timers = new Map<number, { at: number; callback: () => void }>();
  private nextId = 1;
  readonly clock = { now: () => this.now };
  readonly timersApi = {
    setTimeout: (callback: () => void, delayMs: number) => {
      const id = this.nextId++;
      this.timers.set(id, { at: this.now + delayMs, callback });
      return id;
    },
    clearTimeout: (handle: unknown) => {
      this.timers.delete(handle as number);
    },
  };
  advance(ms: number) {
    const target = this.now + ms;
    for (;;) {
      const due = [...this.timers.entries()]
        .filter(([, timer]) => timer.at <= target)
        .sort((x, y) => x[1].at - y[1].at);
      const first = due[0];
      if (first === undefined) break;
      this.timers.delete(first[0]);
      this.now = Math.max(this.now, first[1].at);
      first[1].callback();
    }
    this.now = target;
  }
  get pending() {
    return this.timers.size;
  }
}

class ScriptedRandom implements Random {
  constructor(private readonly values: number[]) {}
  next() {
    return this.values.shift() ?? 0.5;
  }
  int(maxExclusive: number) {
    return Math.floor(this.next() * maxExclusive);
  }
  chance(probability: number) {
    return this.next() < probability;
  }
  fork() {
    return this;
  }
}

function makePipe(limits = { maxBufferedBytes: 1 << 20, maxBufferedChunks: 1000 }, randomValues: number[] = []) {
  const time = new FakeTime();
  const components: ResolvedFaultProxyComponents = {
    logger: new CapturingLogger(),
    clock: time.clock,
    timers: time.timersApi,
    random: new ScriptedRandom(randomValues),
  };
  const link = new LinkState('a', 'b');
  const source = new FakeSource();
  const dest = new FakeDest(time.clock);
  const pipe = new LinkPipe(link, source as unknown as Socket, dest as unknown as Socket, limits, components);
  pipe.start();
  const send = (text: string) => source.emit('data', Buffer.from(text));
  return { time, link, source, dest, pipe, send };
}

test('pass writes at once', () => {
  const { dest, send, link, time } = makePipe();
  send('abc');
  assert.deepEqual(dest.writes, [{ at: 0, text: 'abc' }]);
  assert.equal(link.counters.bytesPassed, 3);
  assert.equal(time.pending, 0);
});

test('delay holds each chunk delayMs ± jitterMs, never earlier than the chunk before it', () => {
  // Jitter draws: +100 % → due 150; −100 % → 50, held to 150 behind '1'; 0 at t=10 → 110, held to 150;
  // +100 % at t=20 → 170.
  const { dest, send, link, time } = makePipe(undefined, [1, 0, 0.5, 1]);
  link.fault = resolveLinkFault({ mode: 'delay', delayMs: 100, jitterMs: 50 });
  send('1');
  send('2');
  time.advance(10);
  send('3');
  time.advance(10);
  send('4');
  time.advance(129);
  assert.equal(dest.text, '');
  time.advance(1);
  assert.deepEqual(dest.writes, [
    { at: 150, text: '1' },
    { at: 150, text: '2' },
    { at: 150, text: '3' },
  ]);
  time.advance(100);
  assert.deepEqual(dest.writes.at(-1), { at: 170, text: '4' });
});

test('switching delay → pass does not let new bytes overtake delayed ones', () => {
  const { dest, send, link, time } = makePipe();
  link.fault = resolveLinkFault({ mode: 'delay', delayMs: 100 });
  send('slow ');
  link.fault = resolveLinkFault('pass');
  send('fast');
  assert.equal(dest.text, '');
  time.advance(100);
  assert.equal(dest.text, 'slow fast');
});

test('entering blackhole discards queued bytes; later bytes and the end vanish too', () => {
  const { dest, send, link, time, pipe, source } = makePipe();
  link.fault = resolveLinkFault({ mode: 'delay', delayMs: 100 });
  send('in flight');
  link.fault = resolveLinkFault('blackhole');
  pipe.onFaultChanged();
  assert.equal(link.counters.bytesDiscarded, 9);
  assert.equal(time.pending, 0, 'no timer left for discarded bytes');
  send('more');
  source.emit('end');
  time.advance(1000);
  assert.equal(dest.text, '');
  assert.equal(dest.ended, false);
  assert.equal(pipe.hasForwardedEnd, false);
  assert.equal(link.counters.bytesDiscarded, 13);
  assert.equal(pipe.isCorrupted, true);
});

test('the end of the stream follows the delayed data', () => {
  const { dest, send, link, time, source, pipe } = makePipe();
  link.fault = resolveLinkFault({ mode: 'delay', delayMs: 100 });
  send('last words');
  source.emit('end');
  time.advance(99);
  assert.equal(dest.ended, false);
  time.advance(1);
  assert.equal(dest.text, 'last words');
  assert.equal(dest.endedAt, 100);
  assert.equal(pipe.hasForwardedEnd, true);
  assert.equal(pipe.isCorrupted, false);
});

test('throttle releases slices of 50 ms worth of bytes at the configured rate', () => {
  const { dest, send, link, time } = makePipe();
  link.fault = resolveLinkFault({ mode: 'throttle', bytesPerSecond: 1000 });
  send('x'.repeat(200));
  time.advance(1000);
  assert.deepEqual(
    dest.writes.map((write) => [write.at, write.text.length]),
    [
      [50, 50],
      [100, 50],
      [150, 50],
      [200, 50],
    ],
  );
});

test('the source is paused past the byte cap and resumed below half of it', () => {
  const { send, link, time, source, pipe } = makePipe({ maxBufferedBytes: 1024, maxBufferedChunks: 1000 });
  link.fault = resolveLinkFault({ mode: 'delay', delayMs: 100 });
  send('a'.repeat(600));
  assert.equal(source.paused, false);
  send('b'.repeat(600));
  assert.equal(source.paused, true);
  assert.equal(link.counters.backpressurePauses, 1);
  assert.equal(link.counters.peakBufferedBytes, 1200);
  time.advance(100);
  assert.equal(source.paused, false, 'queue released');
  assert.equal(pipe.bufferedBytes, 0);
});

test('a destination that does not drain keeps the source paused until it does', () => {
  const { send, source, dest } = makePipe({ maxBufferedBytes: 1024, maxBufferedChunks: 1000 });
  dest.writableLength = 2000; // The receiver is not reading: the destination holds unsent bytes.
  send('z');
  assert.equal(source.paused, true);
  dest.writableLength = 600;
  dest.emit('drain');
  assert.equal(source.paused, true, 'still above half the cap');
  dest.writableLength = 0;
  dest.emit('drain');
  assert.equal(source.paused, false);
});

test('the source is also paused past the chunk cap', () => {
  const { send, link, source } = makePipe({ maxBufferedBytes: 1 << 20, maxBufferedChunks: 4 });
  link.fault = resolveLinkFault({ mode: 'delay', delayMs: 100 });
  for (let i = 0; i < 5; i++) send('.');
  assert.equal(source.paused, true);
});

test('stop cancels timers and frees the queue', () => {
  const { send, link, time, pipe, dest } = makePipe();
  link.fault = resolveLinkFault({ mode: 'delay', delayMs: 100 });
  send('never');
  pipe.stop();
  assert.equal(time.pending, 0);
  send('ignored');
  time.advance(1000);
  assert.equal(dest.text, '');
});
