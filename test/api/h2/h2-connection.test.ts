import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import http2 from 'node:http2';
import net from 'node:net';
import { test } from 'node:test';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { Flag, FrameType, frame, settingsFrame } from '../../../src/api/h2/frames.js';
import {
  DualProtocolServer,
  type Handler,
  type HttpServerOptions,
  readBody,
  takeWholeBody,
  whenWritable,
} from '../../../src/api/http-server.js';

const exec = promisify(execFile);

/** The lean HTTP/2 server behind the dual-protocol port, with a handler per test. */
async function withServer(
  handler: Handler,
  fn: (port: number) => Promise<void>,
  options: HttpServerOptions = {},
): Promise<void> {
  const server = new DualProtocolServer(handler, { http2Implementation: 'cairn', ...options });
  const { port } = await server.listen('127.0.0.1', 0);
  try {
    await fn(port);
  } finally {
    await server.close();
  }
}

interface Reply {
  status: number;
  headers: http2.IncomingHttpHeaders;
  body: Buffer;
}

function request(
  session: http2.ClientHttp2Session,
  headers: http2.OutgoingHttpHeaders,
  body?: Buffer | string,
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request(headers);
    let replyHeaders: http2.IncomingHttpHeaders = {};
    const chunks: Buffer[] = [];
    req.on('response', (h) => {
      replyHeaders = h;
    });
    req.on('data', (d: Buffer) => chunks.push(d));
    req.on('end', () =>
      resolve({ status: Number(replyHeaders[':status']), headers: replyHeaders, body: Buffer.concat(chunks) }),
    );
    req.on('error', reject);
    req.end(body);
  });
}

/** Echoes the method, path, a header and the body's length and first bytes. */
const echo: Handler = async (req, res) => {
  const body = await readBody(req, 8 * 1024 * 1024);
  const text = JSON.stringify({
    method: req.method,
    url: req.url,
    agent: req.headers['x-agent'] ?? null,
    cookie: req.headers.cookie ?? null,
    bytes: body.length,
    head: body.subarray(0, 8).toString(),
  });
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
};

test('the lean HTTP/2 server answers requests of a real client: methods, headers, bodies, many at once', async () => {
  await withServer(echo, async (port) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    try {
      const a = await request(session, { ':method': 'PUT', ':path': '/v1/kv/a?x=1', 'x-agent': 'test' }, 'hello');
      assert.equal(a.status, 200);
      assert.equal(a.headers['content-type'], 'application/json');
      assert.deepEqual(JSON.parse(a.body.toString()), {
        method: 'PUT',
        url: '/v1/kv/a?x=1',
        agent: 'test',
        cookie: null,
        bytes: 5,
        head: 'hello',
      });
      // Split cookie fields are joined with "; " (RFC 9113 §8.2.3).
      const c = await request(session, { ':path': '/c', cookie: ['a=1', 'b=2'] });
      assert.equal(JSON.parse(c.body.toString()).cookie, 'a=1; b=2');
      // 600 requests at once: more than the 256 streams the server allows, so the client must queue some.
      const replies = await Promise.all(
        Array.from({ length: 600 }, (_, i) => request(session, { ':method': 'PUT', ':path': `/k/${i}` }, `v${i}`)),
      );
      replies.forEach((r, i) => {
        assert.equal(r.status, 200);
        assert.equal(JSON.parse(r.body.toString()).url, `/k/${i}`);
      });
    } finally {
      session.close();
    }
  });
});

test('flow control: a request body and a response larger than every window arrive whole', async () => {
  const big = Buffer.alloc(3 * 1024 * 1024 + 17);
  for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
  await withServer(
    async (req, res) => {
      const body = await readBody(req, 8 * 1024 * 1024);
      if (req.url === '/upload') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end(String(body.equals(big)));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.end(big);
    },
    async (port) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        const up = await request(session, { ':method': 'PUT', ':path': '/upload' }, big);
        assert.equal(up.body.toString(), 'true');
        const [down1, down2] = await Promise.all([
          request(session, { ':path': '/download' }),
          request(session, { ':path': '/download' }),
        ]);
        assert.ok(down1.body.equals(big));
        assert.ok(down2.body.equals(big));
      } finally {
        session.close();
      }
    },
  );
});

test('a streaming response that honours write() and drain delivers every chunk in order', async () => {
  const chunks = 400;
  await withServer(
    async (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      for (let i = 0; i < chunks; i++) {
        const piece = Buffer.alloc(16 * 1024, i & 0xff);
        if (!res.write(piece)) await whenWritable(res);
      }
      res.end('');
    },
    async (port) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        const r = await request(session, { ':path': '/stream' });
        assert.equal(r.body.length, chunks * 16 * 1024);
        for (let i = 0; i < chunks; i++) assert.equal(r.body[i * 16 * 1024], i & 0xff);
      } finally {
        session.close();
      }
    },
  );
});

test("a client's reset closes the exchange: the handler sees 'close' and its late answer is dropped", async () => {
  let closed!: () => void;
  const sawClose = new Promise<void>((resolve) => {
    closed = resolve;
  });
  await withServer(
    (req, res) => {
      if (req.url === '/slow') {
        res.once('close', () => {
          assert.equal(res.destroyed, true);
          res.end('too late'); // must not throw or reach the wire
          closed();
        });
        return;
      }
      res.end('fine');
    },
    async (port) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        const slow = session.request({ ':path': '/slow' });
        slow.on('error', () => {});
        slow.end();
        await once(session, 'remoteSettings');
        await new Promise((r) => setTimeout(r, 50));
        slow.close(http2.constants.NGHTTP2_CANCEL);
        await sawClose;
        const after = await request(session, { ':path': '/after' });
        assert.equal(after.body.toString(), 'fine');
      } finally {
        session.close();
      }
    },
  );
});

test('a small body announced by content-length reaches the handler whole: it runs once the body has arrived', async () => {
  const calls: string[] = [];
  await withServer(
    async (req, res) => {
      // Taken on the handler's first stack, without reading events: the server waited for the whole body.
      const whole = takeWholeBody(req, 1024 * 1024);
      calls.push(req.url ?? '');
      const body = whole ?? (await readBody(req, 1024 * 1024));
      res.end(`${whole === null ? 'read' : 'whole'}:${body.toString()}`);
    },
    async (port) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        const slow = session.request({ ':method': 'PUT', ':path': '/announced', 'content-length': '11' });
        const reply = new Promise<string>((resolve, reject) => {
          const chunks: Buffer[] = [];
          slow.on('data', (d: Buffer) => chunks.push(d));
          slow.on('end', () => resolve(Buffer.concat(chunks).toString()));
          slow.on('error', reject);
        });
        slow.write('hello ');
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(calls, [], 'the handler waits for the rest of the announced body');
        slow.end('world');
        assert.equal(await reply, 'whole:hello world');

        // Without content-length the body may be a stream of any length: the handler runs at once and reads it.
        const streamed = session.request({ ':method': 'PUT', ':path': '/unannounced' });
        const streamedReply = new Promise<string>((resolve) => {
          const chunks: Buffer[] = [];
          streamed.on('data', (d: Buffer) => chunks.push(d));
          streamed.on('end', () => resolve(Buffer.concat(chunks).toString()));
        });
        streamed.write('part one, ');
        await new Promise((r) => setTimeout(r, 100));
        assert.deepEqual(calls, ['/announced', '/unannounced'], 'the handler of an unannounced body runs at once');
        streamed.end('part two');
        assert.equal(await streamedReply, 'read:part one, part two');

        // A body announced as larger than a stream window is streamed too (the peer could not send it all).
        const big = Buffer.alloc(70_000, 'b');
        const large = await request(
          session,
          { ':method': 'PUT', ':path': '/large', 'content-length': String(big.length) },
          big,
        );
        assert.equal(large.status, 200);
      } finally {
        session.close();
      }
    },
  );
});

test('a request whose body ends short of or runs past its content-length is reset before the handler', async () => {
  const calls: string[] = [];
  let readDone!: (outcome: string) => void;
  const readOutcome = new Promise<string>((resolve) => {
    readDone = resolve;
  });
  await withServer(
    (req, res) => {
      if (req.url === '/short-stream') {
        readBody(req, 1024 * 1024).then(
          (body) => readDone(`read ${body.length} bytes`),
          (error: Error) => readDone(error.message),
        );
        return;
      }
      calls.push(req.url ?? '');
      res.end('ok');
    },
    async (port) => {
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        const cancelled = session.request({ ':method': 'PUT', ':path': '/cancelled', 'content-length': '100' });
        cancelled.on('error', () => {});
        cancelled.write('only part of it');
        await new Promise((r) => setTimeout(r, 50));
        cancelled.close(http2.constants.NGHTTP2_CANCEL);
        await new Promise((r) => setTimeout(r, 50));
        const tooLong = session.request({ ':method': 'PUT', ':path': '/too-long', 'content-length': '3' });
        const tooLongError = new Promise<unknown>((resolve) => tooLong.on('error', resolve));
        tooLong.end('longer than announced');
        const error = (await tooLongError) as { code?: string };
        assert.equal(error.code, 'ERR_HTTP2_STREAM_ERROR');
        assert.equal(tooLong.rstCode, http2.constants.NGHTTP2_PROTOCOL_ERROR);

        const after = await request(session, { ':path': '/after' });
        assert.equal(after.body.toString(), 'ok');
        assert.deepEqual(calls, ['/after'], 'neither malformed request reached the handler');

        // A body announced as larger than a stream window is streamed to the handler; if it ends short, the read
        // fails instead of returning the truncated bytes.
        const short = session.request({ ':method': 'PUT', ':path': '/short-stream', 'content-length': '80000' });
        const shortError = new Promise<unknown>((resolve) => short.on('error', resolve));
        short.end(Buffer.alloc(70_000, 's'));
        assert.equal(((await shortError) as { code?: string }).code, 'ERR_HTTP2_STREAM_ERROR');
        assert.equal(short.rstCode, http2.constants.NGHTTP2_PROTOCOL_ERROR);
        assert.equal(await readOutcome, 'the stream was reset');
      } finally {
        session.close();
      }
    },
  );
});

/** Raw h2c: preface and an empty SETTINGS, then the given bytes; collects every frame the server sends. */
async function rawExchange(
  port: number,
  bytes: Buffer[],
  waitMs = 300,
): Promise<{ type: number; flags: number; id: number; payload: Buffer }[]> {
  const socket = net.connect(port, '127.0.0.1');
  await once(socket, 'connect');
  const received: Buffer[] = [];
  socket.on('data', (d: Buffer) => received.push(d));
  socket.on('error', () => {});
  socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'));
  socket.write(settingsFrame([]));
  for (const b of bytes) socket.write(b);
  await new Promise((r) => setTimeout(r, waitMs));
  socket.destroy();
  const all = Buffer.concat(received);
  const frames: { type: number; flags: number; id: number; payload: Buffer }[] = [];
  for (let at = 0; at + 9 <= all.length; ) {
    const length = all.readUIntBE(at, 3);
    frames.push({
      type: all[at + 3]!,
      flags: all[at + 4]!,
      id: all.readUInt32BE(at + 5) & 0x7fffffff,
      payload: all.subarray(at + 9, at + 9 + length),
    });
    at += 9 + length;
  }
  return frames;
}

/** A HEADERS frame whose block uses only static-table indexes (RFC 7541 Appendix A). */
function headersFrame(id: number, indexes: number[], flags = Flag.END_HEADERS | Flag.END_STREAM): Buffer {
  return frame(FrameType.HEADERS, flags, id, Buffer.from(indexes.map((i) => 0x80 | i)));
}

test('protocol errors: a malformed request resets its stream; connection-level errors end with GOAWAY', async () => {
  await withServer(
    (_req, res) => res.end('ok'),
    async (port) => {
      // :method GET (2), :scheme http (6), :path / (4): a complete request is answered.
      const good = await rawExchange(port, [headersFrame(1, [2, 6, 4])]);
      assert.ok(good.some((f) => f.type === FrameType.HEADERS && f.id === 1));
      assert.ok(good.some((f) => f.type === FrameType.DATA && f.id === 1 && f.payload.toString() === 'ok'));
      // No :path: that stream is reset with PROTOCOL_ERROR, and the next request on the connection is answered.
      const malformed = await rawExchange(port, [headersFrame(1, [2, 6]), headersFrame(3, [2, 6, 4])]);
      const rst = malformed.find((f) => f.type === FrameType.RST_STREAM && f.id === 1);
      assert.equal(rst?.payload.readUInt32BE(0), 0x1);
      assert.ok(malformed.some((f) => f.type === FrameType.DATA && f.id === 3));
      // PING is answered with the same 8 bytes.
      const ping = await rawExchange(port, [frame(FrameType.PING, 0, 0, Buffer.from('12345678'))]);
      const pong = ping.find((f) => f.type === FrameType.PING);
      assert.equal(pong?.flags, Flag.ACK);
      assert.equal(pong?.payload.toString(), '12345678');
      // A frame above the 16 KiB maximum frame size: GOAWAY FRAME_SIZE_ERROR.
      const huge = Buffer.alloc(9);
      huge.writeUIntBE(20_000, 0, 3);
      const tooBig = await rawExchange(port, [huge, Buffer.alloc(20_000)]);
      assert.equal(tooBig.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(4), 0x6);
      // A header block the decoder rejects (index 0): GOAWAY COMPRESSION_ERROR.
      const badBlock = await rawExchange(port, [frame(FrameType.HEADERS, Flag.END_HEADERS, 1, Buffer.from([0x80]))]);
      assert.equal(badBlock.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(4), 0x9);
      // A header list above the 16 KiB limit: that request gets 431, the next on the connection is answered.
      // GET, http, /, then a literal field "x" whose 16,385-byte value has the length 127 + 16,258 (0x7f 0x82 0x7f).
      const long = Buffer.concat([
        Buffer.from([0x82, 0x86, 0x84, 0x00, 0x01, 0x78, 0x7f, 0x82, 0x7f]),
        Buffer.alloc(16_385, 0x61),
      ]);
      const tooLong = await rawExchange(port, [
        frame(FrameType.HEADERS, Flag.END_STREAM, 1, long.subarray(0, 16_000)),
        frame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, long.subarray(16_000)),
        headersFrame(3, [2, 6, 4]),
      ]);
      assert.ok(tooLong.some((f) => f.type === FrameType.HEADERS && f.id === 1 && f.payload[0] === 0x08));
      assert.ok(tooLong.some((f) => f.type === FrameType.DATA && f.id === 3 && f.payload.toString() === 'ok'));
      // HEADERS on an even (server-initiated) stream: GOAWAY PROTOCOL_ERROR.
      const even = await rawExchange(port, [headersFrame(2, [2, 6, 4])]);
      assert.equal(even.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(4), 0x1);
    },
  );
});

test('rapid reset: a peer cancelling more than 1,000 open streams a second gets GOAWAY ENHANCE_YOUR_CALM', async () => {
  let started = 0;
  await withServer(
    () => {
      started++; // never answers: every stream stays open until the peer resets it
    },
    async (port) => {
      const frames: Buffer[] = [];
      for (let i = 0; i < 1100; i++) {
        const id = 2 * i + 1;
        frames.push(headersFrame(id, [2, 6, 4], Flag.END_HEADERS | Flag.END_STREAM));
        frames.push(frame(FrameType.RST_STREAM, 0, id, Buffer.from([0, 0, 0, 8])));
      }
      const got = await rawExchange(port, [Buffer.concat(frames)]);
      assert.equal(got.find((f) => f.type === FrameType.GOAWAY)?.payload.readUInt32BE(4), 0xb);
      assert.ok(started > 1000 && started < 1100, `handlers started: ${started}`);
    },
  );
});

test('a connection that does not start with the preface is closed; the server goes on serving', async () => {
  await withServer(
    (_req, res) => res.end('ok'),
    async (port) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.on('error', () => {});
      await once(socket, 'connect');
      socket.write(Buffer.from('PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n'));
      socket.resume(); // reads what the server sends (its SETTINGS, then GOAWAY) and so sees it close
      await once(socket, 'close');
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        assert.equal((await request(session, { ':path': '/' })).body.toString(), 'ok');
      } finally {
        session.close();
      }
    },
  );
});

test('random bytes after the preface never take the server down (property)', async () => {
  await withServer(
    (_req, res) => res.end('ok'),
    async (port) => {
      await fc.assert(
        fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 64 }), { maxLength: 6 }), async (chunks) => {
          await rawExchange(
            port,
            chunks.map((c) => Buffer.from(c)),
            5,
          );
        }),
        { numRuns: 150 },
      );
      const session = http2.connect(`http://127.0.0.1:${port}`);
      try {
        assert.equal((await request(session, { ':path': '/' })).body.toString(), 'ok');
      } finally {
        session.close();
      }
    },
  );
});

test('curl and h2load (nghttp2) speak to the lean server', async (t) => {
  const has = async (cmd: string) =>
    exec('sh', ['-c', `command -v ${cmd}`]).then(
      () => true,
      () => false,
    );
  await withServer(echo, async (port) => {
    if (await has('curl')) {
      const { stdout } = await exec('curl', [
        '-s',
        '--http2-prior-knowledge',
        '-X',
        'PUT',
        '--data-binary',
        'curl-put',
        `http://127.0.0.1:${port}/v1/kv/c`,
      ]);
      assert.equal(JSON.parse(stdout).head, 'curl-put');
    } else t.diagnostic('curl missing: skipped');
    if (await has('h2load')) {
      const { stdout } = await exec('h2load', ['-n', '2000', '-c', '4', '-m', '16', `http://127.0.0.1:${port}/x`]);
      assert.match(stdout, /2000 succeeded, 0 failed, 0 errored/);
    } else t.diagnostic('h2load missing: skipped');
  });
});
