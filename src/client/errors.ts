/**
 * An error answered by a Cairn node, with the API's stable code (docs/api.md). For writes: UNAVAILABLE means the
 * write surely did not take effect; TIMEOUT means its outcome is unknown.
 */
export class CairnError extends Error {
  constructor(
    readonly code: string,
    /** HTTP status (0 when no answer came). */
    readonly status: number,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(message);
    this.name = 'CairnError';
  }

  static fromResponse(status: number, body: Buffer): CairnError {
    try {
      const parsed = JSON.parse(body.toString('utf8')) as {
        error?: { code?: string; message?: string } & Record<string, unknown>;
      };
      if (parsed.error?.code) {
        const { code, message, ...details } = parsed.error;
        return new CairnError(code, status, message ?? code, details);
      }
    } catch {
      // not JSON
    }
    return new CairnError(
      'INTERNAL',
      status,
      `unexpected answer (HTTP ${status}): ${body.toString('utf8').slice(0, 200)}`,
    );
  }
}
