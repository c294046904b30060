import { Agent, request } from 'undici';

/**
 * Administrative requests of the harness (status, membership, checksums, test hooks), each bounded by a timeout.
 * They use their own connection pool, apart from the workload's, and never throw: a failure is an answer too.
 */
export type AdminAnswer<T> =
  | { readonly ok: true; readonly status: number; readonly body: T }
  | { readonly ok: false; readonly status: number; readonly code: string; readonly message: string };

let agent: Agent | null = null;

function dispatcher(): Agent {
  agent ??= new Agent({ connections: 8, keepAliveTimeout: 10_000, connectTimeout: 1000 });
  return agent;
}

export async function adminRequest<T>(
  origin: string,
  method: 'GET' | 'POST' | 'DELETE' | 'PUT',
  path: string,
  timeoutMs: number,
  body?: unknown,
): Promise<AdminAnswer<T>> {
  try {
    const r = await request(`${origin}${path}`, {
      method,
      dispatcher: dispatcher(),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      signal: AbortSignal.timeout(timeoutMs),
      ...(body !== undefined
        ? {
            body: typeof body === 'string' ? body : JSON.stringify(body),
            headers: { 'content-type': typeof body === 'string' ? 'application/octet-stream' : 'application/json' },
          }
        : {}),
    });
    const text = await r.body.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON: keep the text
    }
    if (r.statusCode >= 400) {
      const error = (parsed as { error?: { code?: string; message?: string } }).error;
      return {
        ok: false,
        status: r.statusCode,
        code: error?.code ?? `HTTP_${r.statusCode}`,
        message: error?.message ?? text.slice(0, 200),
      };
    }
    return { ok: true, status: r.statusCode, body: parsed as T };
  } catch (error) {
    const raw = (error as { code?: unknown }).code;
    const code = typeof raw === 'string' ? raw : ((error as Error).name ?? 'ERROR');
    return { ok: false, status: 0, code, message: String((error as Error).message ?? error) };
  }
}

/** Closes the admin connections (the harness's last step, so the process can exit). */
export async function closeAdminConnections(): Promise<void> {
  const closing = agent;
  agent = null; // a later request opens a new one
  await closing?.destroy().catch(() => {});
}

export interface LocalStatus {
  readonly clusterId: string;
  readonly node: string;
  readonly leader: string | null;
  readonly term: number;
  readonly commit: number;
  readonly applied: number;
  readonly revision: number;
  readonly members: readonly { name: string; role: string; peer: string; http: string | null }[];
}

export interface ChecksumAnswer {
  readonly node: string;
  readonly applied: number;
  readonly revision: number;
  readonly checksum: string;
}
