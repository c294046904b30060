import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  readonly method: string;
  readonly url: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

/** Handles a request; return false to fall through to the default behaviour. */
export type FakeHandler = (req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean | undefined;

export interface FakeMember {
  name: string;
  http: string | null;
  role?: string;
  labels?: Record<string, string>;
}

/**
 * A stand-in for a Cairn node's HTTP API, in-process: it answers the cluster status it is told, `/healthz`, and a
 * minimal KV (PUT/GET/DELETE of one key, in memory), and records every request. Tests override behaviour with a
 * handler (a failing node, a slow one, one that drops the connection).
 */
export class FakeNode {
  readonly requests: SeenRequest[] = [];
  readonly values = new Map<string, Buffer>();
  handler: FakeHandler | null = null;
  members: FakeMember[] = [];
  leader: string | null = null;
  /** Extra headers on the status answer (e.g. the gateway marker). */
  statusHeaders: Record<string, string> = {};
  private revision = 1;
  private readonly server: http.Server;
  private port = 0;

  private constructor(readonly name: string) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks);
        this.requests.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        if (this.handler?.(req, res, body)) return;
        this.serve(req, res, body);
      });
    });
  }

  static async start(name: string): Promise<FakeNode> {
    const node = new FakeNode(name);
    await new Promise<void>((resolve) => node.server.listen(0, '127.0.0.1', () => resolve()));
    node.port = (node.server.address() as AddressInfo).port;
    return node;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get origin(): string {
    return `http://${this.address}`;
  }

  /** Requests whose method and path (without the query) match. */
  count(method: string, pathPrefix = '/v1/kv/'): number {
    return this.requests.filter((r) => r.method === method && r.url.startsWith(pathPrefix)).length;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private serve(req: IncomingMessage, res: ServerResponse, body: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://fake');
    if (url.pathname === '/v1/cluster/status') {
      json(
        res,
        200,
        {
          clusterId: 'fake',
          node: this.name,
          leader: this.leader,
          term: 1,
          commit: 1,
          applied: 1,
          revision: this.revision,
          members: this.members.map((m) => ({
            name: m.name,
            peer: '',
            http: m.http,
            role: m.role ?? (m.name === this.leader ? 'leader' : 'follower'),
            match: null,
            commit: null,
            applied: null,
            reachable: true,
            labels: m.labels ?? {},
          })),
        },
        this.statusHeaders,
      );
      return;
    }
    if (url.pathname === '/healthz') {
      json(res, 200, { status: 'ok', node: this.name, leader: this.leader, term: 1 });
      return;
    }
    if (url.pathname.startsWith('/v1/kv/')) {
      const key = decodeURIComponent(url.pathname.slice('/v1/kv/'.length));
      if (req.method === 'PUT') {
        this.values.set(key, body);
        json(res, 200, { revision: ++this.revision, version: 1 });
        return;
      }
      if (req.method === 'GET') {
        const value = this.values.get(key);
        if (!value) {
          json(res, 404, { error: { code: 'KEY_NOT_FOUND', message: `no key ${key}` } });
          return;
        }
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'cairn-revision': String(this.revision),
          'cairn-mod-revision': '2',
          'cairn-create-revision': '2',
          'cairn-version': '1',
          'cairn-served-by': this.name,
        });
        res.end(value);
        return;
      }
      if (req.method === 'DELETE') {
        const deleted = this.values.delete(key) ? 1 : 0;
        json(res, 200, { revision: deleted ? ++this.revision : this.revision, deleted });
        return;
      }
    }
    json(res, 404, { error: { code: 'ROUTE_NOT_FOUND', message: `no route ${url.pathname}` } });
  }
}

export function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** n fake nodes that all report the same membership, with `leaderIndex` as the leader. */
export async function fakeCluster(n: number, leaderIndex: number | null): Promise<FakeNode[]> {
  const nodes: FakeNode[] = [];
  for (let i = 0; i < n; i++) nodes.push(await FakeNode.start(`n${i + 1}`));
  const members = nodes.map((node) => ({ name: node.name, http: node.address }));
  for (const node of nodes) {
    node.members = members;
    node.leader = leaderIndex === null ? null : nodes[leaderIndex]!.name;
  }
  return nodes;
}

/** A TCP port nothing listens on (bound, then released). */
export async function deadOrigin(): Promise<string> {
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}
