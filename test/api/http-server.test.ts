import assert from 'node:assert/strict';
import http from 'node:http';
import http2 from 'node:http2';
import { test } from 'node:test';
import { DualProtocolServer, readBody, sendJson } from '../../src/api/http-server.js';

async function withServer(fn: (port: number) => Promise<void>): Promise<void> {
  const server = new DualProtocolServer(async (req, res) => {
    const body = await readBody(req, 1024).catch(() => null);
    if (body === null) {
      sendJson(res, 413, { error: { code: 'BODY_TOO_LARGE' } });
      return;
    }
    sendJson(res, 200, { method: req.method, url: req.url, body: body.toString(), version: req.httpVersion });
  });
  const { port } = await server.listen('127.0.0.1', 0);
  try {
    await fn(port);
  } finally {
    await server.close();
  }
}

function h2Request(
  port: number,
  path: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':path': path, ':method': method });
    let status = 0;
    let text = '';
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.setEncoding('utf8');
    req.on('data', (d: string) => {
      text += d;
    });
    req.on('end', () => {
      session.close();
      resolve({ status, json: JSON.parse(text) });
    });
    req.on('error', reject);
    req.end(body);
  });
}

function h1Request(
  port: number,
  path: string,
  method = 'GET',
  body?: string,
): Promise<{ status: number; json: unknown }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, path, method }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

test('one port speaks HTTP/1.1 and cleartext HTTP/2 (h2c with prior knowledge, as h2load uses)', async () => {
  await withServer(async (port) => {
    const a = await h1Request(port, '/v1/kv/a', 'PUT', 'one');
    assert.deepEqual(a, { status: 200, json: { method: 'PUT', url: '/v1/kv/a', body: 'one', version: '1.1' } });
    // Regression: the h2 preface bytes read to tell the protocols apart were lost, and every h2 request failed.
    const b = await h2Request(port, '/v1/kv/b', 'PUT', 'two');
    assert.deepEqual(b, { status: 200, json: { method: 'PUT', url: '/v1/kv/b', body: 'two', version: '2.0' } });
    const big = await h2Request(port, '/x', 'PUT', 'x'.repeat(2000));
    assert.equal(big.status, 413);
  });
});
