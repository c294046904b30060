/** The dev cluster's HTTP addresses: what the CLI talks to when nothing else is said. */
export const DEFAULT_ENDPOINTS = ['http://127.0.0.1:7201', 'http://127.0.0.1:7202', 'http://127.0.0.1:7203'];

/** Parses `--endpoints` / CAIRN_ENDPOINTS: comma-separated `host:port` or `http://host:port`. */
export function parseEndpoints(text: string | undefined): string[] {
  if (!text || text.trim() === '') return DEFAULT_ENDPOINTS;
  return text
    .split(',')
    .map((e) => e.trim())
    .filter(Boolean)
    .map((e) => {
      const url = e.includes('://') ? e : `http://${e}`;
      const parsed = new URL(url);
      if (parsed.protocol !== 'http:') throw new Error(`endpoint ${e}: only http:// is supported`);
      return `${parsed.protocol}//${parsed.host}`;
    });
}
