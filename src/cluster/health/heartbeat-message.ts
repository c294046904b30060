import type { HealthCondition, HealthReason } from './health-rules.js';
import { type NodeVitals, parseVitals } from './vitals.js';

/** The `type` field that tells a health heartbeat apart from other node-to-node messages. */
export const HEALTH_HEARTBEAT_TYPE = 'health.heartbeat';
/** Wire version. A later version may add fields but must keep these with the same meaning. */
export const HEALTH_HEARTBEAT_VERSION = 1;
/** Node names are transport names: 1..255 bytes of UTF-8. */
export const MAX_NODE_NAME_BYTES = 255;
/** Most reasons accepted in a received condition. */
export const MAX_CONDITION_REASONS = 16;
/** Longest reason code (characters, A-Z 0-9 _). */
export const MAX_REASON_CODE_CHARS = 64;
/** Longest reason message (characters). */
export const MAX_REASON_MESSAGE_CHARS = 512;

/**
 * The health heartbeat one node sends every peer every heartbeat interval (1 s) over the peer transport.
 * About 500 bytes of msgpack with vitals.
 */
export interface HealthHeartbeat {
  readonly type: typeof HEALTH_HEARTBEAT_TYPE;
  readonly version: number;
  /** The sender's node name (the receiver checks it matches the transport peer). */
  readonly node: string;
  /** The sender process's incarnation, e.g. its start time in epoch ms; grows across restarts. */
  readonly incarnation: number;
  /** 0, 1, 2... per incarnation; lets the receiver drop duplicates and see losses. */
  readonly sequence: number;
  /** Sender's clock when sent (ms). For logs and round-trip estimates only: clocks differ between nodes. */
  readonly sentAtMs: number;
  /** The sender's latest vitals; null before its first sample. */
  readonly vitals: NodeVitals | null;
  /** The sender's own health condition; null before its first evaluation. */
  readonly condition: HealthCondition | null;
}

export type HeartbeatParseResult =
  | { readonly ok: true; readonly heartbeat: HealthHeartbeat }
  | { readonly ok: false; readonly code: 'MALFORMED_HEARTBEAT'; readonly reason: string };

/** Builds a heartbeat to send. */
export function createHealthHeartbeat(fields: Omit<HealthHeartbeat, 'type' | 'version'>): HealthHeartbeat {
  return {
    type: HEALTH_HEARTBEAT_TYPE,
    version: HEALTH_HEARTBEAT_VERSION,
    node: fields.node,
    incarnation: fields.incarnation,
    sequence: fields.sequence,
    sentAtMs: fields.sentAtMs,
    vitals: fields.vitals,
    condition: fields.condition,
  };
}

/** True when a received message claims to be a health heartbeat (dispatch); parse it before trusting it. */
export function isHealthHeartbeatMessage(value: unknown): boolean {
  return (
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    Object.hasOwn(value, 'type') &&
    (value as { type?: unknown }).type === HEALTH_HEARTBEAT_TYPE
  );
}

class Malformed {
  constructor(readonly reason: string) {}
}

function fail(reason: string): never {
  throw new Malformed(reason);
}

function field(source: Record<string, unknown>, name: string): unknown {
  return Object.hasOwn(source, name) ? source[name] : undefined;
}

function record(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(`${what}: expected an object`);
  return value as Record<string, unknown>;
}

function nonNegativeInteger(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    fail(`${what}: expected a non-negative integer`);
  }
  return value;
}

function boundedString(value: unknown, what: string, maxChars: number): string {
  if (typeof value !== 'string' || value.length > maxChars)
    fail(`${what}: expected a string of at most ${maxChars} characters`);
  return value;
}

function parseReason(value: unknown, index: number): HealthReason {
  const source = record(value, `condition.reasons[${index}]`);
  const code = boundedString(field(source, 'code'), `condition.reasons[${index}].code`, MAX_REASON_CODE_CHARS);
  if (!/^[A-Z][A-Z0-9_]*$/.test(code)) fail(`condition.reasons[${index}].code: expected A-Z, 0-9 and _`);
  const severity = field(source, 'severity');
  if (severity !== 'degraded' && severity !== 'warning') {
    fail(`condition.reasons[${index}].severity: expected 'degraded' or 'warning'`);
  }
  const message = boundedString(
    field(source, 'message'),
    `condition.reasons[${index}].message`,
    MAX_REASON_MESSAGE_CHARS,
  );
  return { code, severity, message };
}

function parseCondition(value: unknown): HealthCondition | null {
  if (value === null) return null;
  const source = record(value, 'condition');
  const status = field(source, 'status');
  if (status !== 'healthy' && status !== 'degraded') fail(`condition.status: expected 'healthy' or 'degraded'`);
  const reasons = field(source, 'reasons');
  if (!Array.isArray(reasons)) fail('condition.reasons: expected an array');
  if (reasons.length > MAX_CONDITION_REASONS) fail(`condition.reasons: more than ${MAX_CONDITION_REASONS}`);
  return { status, reasons: reasons.map(parseReason) };
}

function parseOrThrow(value: unknown): HealthHeartbeat {
  const source = record(value, 'heartbeat');
  if (field(source, 'type') !== HEALTH_HEARTBEAT_TYPE) fail(`type: expected '${HEALTH_HEARTBEAT_TYPE}'`);
  const version = nonNegativeInteger(field(source, 'version'), 'version');
  if (version < 1) fail('version: expected 1 or more');
  const node = field(source, 'node');
  if (typeof node !== 'string' || node.length === 0 || Buffer.byteLength(node) > MAX_NODE_NAME_BYTES) {
    fail(`node: expected a name of 1..${MAX_NODE_NAME_BYTES} bytes`);
  }
  const incarnation = nonNegativeInteger(field(source, 'incarnation'), 'incarnation');
  const sequence = nonNegativeInteger(field(source, 'sequence'), 'sequence');
  const sentAtMs = field(source, 'sentAtMs');
  if (typeof sentAtMs !== 'number' || !Number.isFinite(sentAtMs)) fail('sentAtMs: expected a finite number');
  const rawVitals = field(source, 'vitals');
  let vitals: NodeVitals | null = null;
  if (rawVitals !== null) {
    const parsed = parseVitals(rawVitals);
    if (typeof parsed === 'string') fail(parsed);
    vitals = parsed;
  }
  const condition = parseCondition(field(source, 'condition'));
  return { type: HEALTH_HEARTBEAT_TYPE, version, node, incarnation, sequence, sentAtMs, vitals, condition };
}

/**
 * Validates a received message. Never throws: anything that is not a well-formed heartbeat (wrong types, out of
 * range numbers, oversized strings or lists) is rejected with a reason naming the first bad field. The result is
 * a fresh object holding only the known fields, so nothing else from the wire travels further.
 */
export function parseHealthHeartbeat(value: unknown): HeartbeatParseResult {
  try {
    return { ok: true, heartbeat: parseOrThrow(value) };
  } catch (error) {
    // Malformed is the expected rejection; anything else (a hostile getter, a proxy) is rejected the same way.
    const reason = error instanceof Malformed ? error.reason : 'heartbeat: could not be read';
    return { ok: false, code: 'MALFORMED_HEARTBEAT', reason };
  }
}
