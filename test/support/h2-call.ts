import type http2 from 'node:http2';

/** A request's status and its body as text. */
export interface H2Reply {
  status: number;
  body: string;
}

/** One request on an HTTP/2 client session (Node's client), answered with its status and body. */
export function h2Call(
  session: http2.ClientHttp2Session,
  method: string,
  path: string,
  body?: string,
): Promise<H2Reply> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': method, ':path': path });
    let status = 0;
    let text = '';
    req.setEncoding('utf8');
    req.on('response', (h) => {
      status = Number(h[':status']);
    });
    req.on('data', (d: string) => {
      text += d;
    });
    req.on('end', () => resolve({ status, body: text }));
    req.on('error', reject);
    req.end(body);
  });
}
