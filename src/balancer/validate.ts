import { invalidArgument } from './errors.js';
import type { BalanceRequest, Host, HostSpec } from './types.js';

/** Most hosts one balancer accepts. A Cairn cluster is far smaller; the bound keeps hash tables well filled. */
export const MAX_HOSTS = 1000;
export const MAX_HOST_WEIGHT = 10_000;
const MAX_ID_CHARS = 256;
const MAX_ADDRESS_CHARS = 1024;
const MAX_LABEL_CHARS = 256;
/** Longest request key or path the hash strategies accept (Cairn keys are ≤ 4096 bytes; paths add a prefix). */
const MAX_REQUEST_STRING_CHARS = 16_384;

export function positiveNumber(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw invalidArgument(`${name} must be a finite number > 0, got ${String(value)}`);
  }
  return v;
}

export function nonNegativeNumber(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw invalidArgument(`${name} must be a finite number ≥ 0, got ${String(value)}`);
  }
  return v;
}

export function integerInRange(name: string, value: number | undefined, fallback: number, min: number, max: number) {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
    throw invalidArgument(`${name} must be an integer in ${min}..${max}, got ${String(value)}`);
  }
  return v;
}

export function ratio(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 1) {
    throw invalidArgument(`${name} must be a number in 0..1, got ${String(value)}`);
  }
  return v;
}

export function percent(name: string, value: number | undefined, fallback: number): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 100) {
    throw invalidArgument(`${name} must be a number in 0..100, got ${String(value)}`);
  }
  return v;
}

function label(name: string, value: unknown, maxChars: number, required: boolean): string {
  if (value === undefined && !required) return '';
  if (typeof value !== 'string' || (required && value.length === 0) || value.length > maxChars) {
    throw invalidArgument(`${name} must be a string of ${required ? 1 : 0}..${maxChars} characters`);
  }
  return value;
}

/** Checks one host description and returns its normalized, frozen form. */
export function normalizeHost(spec: HostSpec, index: number): Host {
  if (typeof spec !== 'object' || spec === null) throw invalidArgument(`hosts[${index}] must be an object`);
  const where = `hosts[${index}]`;
  return Object.freeze({
    id: label(`${where}.id`, spec.id, MAX_ID_CHARS, true),
    address: label(`${where}.address`, spec.address, MAX_ADDRESS_CHARS, true),
    zone: label(`${where}.zone`, spec.zone, MAX_LABEL_CHARS, false),
    region: label(`${where}.region`, spec.region, MAX_LABEL_CHARS, false),
    weight: integerInRange(`${where}.weight`, spec.weight, 1, 1, MAX_HOST_WEIGHT),
  });
}

/** Checks a whole host list: an array of at most MAX_HOSTS valid hosts with distinct ids. */
export function normalizeHosts(specs: readonly HostSpec[]): Host[] {
  if (!Array.isArray(specs)) throw invalidArgument('hosts must be an array');
  if (specs.length > MAX_HOSTS) throw invalidArgument(`at most ${MAX_HOSTS} hosts, got ${specs.length}`);
  const hosts = specs.map(normalizeHost);
  const seen = new Set<string>();
  for (const host of hosts) {
    if (seen.has(host.id)) throw invalidArgument(`duplicate host id '${host.id}'`);
    seen.add(host.id);
  }
  return hosts;
}

/** Checks the shape of a request; it is built from client input, so a bad one must be an error, not a crash. */
export function validateRequest(request: BalanceRequest): void {
  if (typeof request !== 'object' || request === null) throw invalidArgument('request must be an object');
  for (const field of ['key', 'path', 'clientAddress', 'clientZone', 'clientRegion'] as const) {
    const value = request[field];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value.length > MAX_REQUEST_STRING_CHARS) {
      throw invalidArgument(`request.${field} must be a string of at most ${MAX_REQUEST_STRING_CHARS} characters`);
    }
  }
  if (request.idempotent !== undefined && typeof request.idempotent !== 'boolean') {
    throw invalidArgument('request.idempotent must be a boolean');
  }
}
