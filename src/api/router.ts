import { ApiError, isApiError } from './errors.js';
import { type Request, type Response, sendError } from './http-server.js';

export interface RouteContext {
  readonly req: Request;
  readonly res: Response;
  /** The decoded path. */
  readonly path: string;
  readonly query: URLSearchParams;
  /** What the route's pattern captured (for `/v1/kv/*`, the key after the prefix, percent-decoded). */
  readonly params: Readonly<Record<string, string>>;
  /** The route's pattern, as registered (a low-cardinality label for metrics). */
  readonly route: string;
}

/** Shared by every request without a query string (most of the hot path); routes only read their query. */
const NO_QUERY = new URLSearchParams();

export type RouteHandler = (ctx: RouteContext) => Promise<void> | void;

interface Route {
  readonly path: string;
  readonly method: string;
  readonly pattern: RegExp;
  readonly names: readonly string[];
  readonly handler: RouteHandler;
}

/**
 * A small router: patterns like `/v1/leases/:id` (one segment) and `/v1/kv/*key` (the rest of the path, which
 * may contain slashes). Unknown paths get ROUTE_NOT_FOUND, known paths with another method METHOD_NOT_ALLOWED.
 * Any error a handler throws becomes the documented JSON error; nothing a client sends can crash the node.
 */
export class Router {
  private readonly routes: Route[] = [];

  constructor(private readonly onUnexpected: (error: unknown, ctx: RouteContext) => void = () => {}) {}

  add(method: string, path: string, handler: RouteHandler): this {
    const names: string[] = [];
    const source = path
      .split('/')
      .map((part) => {
        if (part.startsWith(':')) {
          names.push(part.slice(1));
          return '([^/]+)';
        }
        if (part.startsWith('*')) {
          names.push(part.slice(1));
          return '(.*)';
        }
        return part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      })
      .join('/');
    this.routes.push({ path, method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  handle = (req: Request, res: Response): void => {
    // Split by hand: new URL() per request showed in profiles of the hot path.
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    const query = q < 0 ? NO_QUERY : new URLSearchParams(target.slice(q + 1));
    let matchedPath = false;
    for (const route of this.routes) {
      const m = route.pattern.exec(rawPath);
      if (!m) continue;
      matchedPath = true;
      if (route.method !== req.method) continue;
      const params: Record<string, string> = {};
      try {
        for (let i = 0; i < route.names.length; i++) {
          const raw = m[i + 1] ?? '';
          // Most keys have no escapes: decoding them would only copy the string.
          params[route.names[i]!] = raw.indexOf('%') < 0 ? raw : decodeURIComponent(raw);
        }
      } catch {
        sendError(res, new ApiError('INVALID_ARGUMENT', 'the path is not valid percent-encoded UTF-8'));
        return;
      }
      const ctx: RouteContext = { req, res, path: rawPath, query, params, route: route.path };
      // The route pattern labels the request in metrics (the path itself would be unbounded).
      (res as { cairnRoute?: string }).cairnRoute = route.path;
      this.run(route.handler, ctx);
      return;
    }
    if (matchedPath) sendError(res, new ApiError('METHOD_NOT_ALLOWED', `${req.method} is not allowed on ${rawPath}`));
    else sendError(res, new ApiError('ROUTE_NOT_FOUND', `no route ${rawPath}`));
  };

  private run(handler: RouteHandler, ctx: RouteContext): void {
    const fail = (error: unknown) => {
      if (isApiError(error)) {
        sendError(ctx.res, error);
        return;
      }
      this.onUnexpected(error, ctx);
      sendError(ctx.res, new ApiError('INTERNAL', 'internal error'));
    };
    try {
      const result = handler(ctx);
      if (result && typeof (result as Promise<void>).then === 'function') (result as Promise<void>).catch(fail);
    } catch (error) {
      fail(error);
    }
  }
}
