import { Packr } from 'msgpackr';
import type { MemberAddress } from './config.js';

/** What the cluster knows of a member: its durable addresses, and what it announces about itself. */
export interface MemberInfo {
  readonly name: string;
  /** host:port of its peer listener (durable: from the founding list or the membership change that added it). */
  readonly peer: string;
  /** host:port of its HTTP API (announced by the member itself, or given when it was added). */
  readonly http: string | null;
  /** Placement labels the member announced (zone, region, weight). */
  readonly labels: Readonly<Record<string, string>>;
}

/** The data a membership change carries: who joins and where to reach it. */
export interface MemberContext {
  readonly name: string;
  readonly peer: string;
  readonly http?: string;
}

const packr = new Packr({ useRecords: false });

export function encodeMemberContext(context: MemberContext): Uint8Array {
  return packr.pack(context);
}

export function decodeMemberContext(data: Uint8Array | undefined): MemberContext | null {
  if (!data || data.length === 0) return null;
  try {
    const raw = packr.unpack(data) as MemberContext;
    if (typeof raw?.name !== 'string' || typeof raw.peer !== 'string') return null;
    return { name: raw.name, peer: raw.peer, ...(typeof raw.http === 'string' ? { http: raw.http } : {}) };
  } catch {
    return null;
  }
}

/**
 * The member list every node keeps: peer addresses come from the founding list and from applied membership
 * changes (so they are the same on every node); HTTP addresses and labels come from what members announce.
 * Persisted by the node with the applied index it reflects.
 */
export class MemberRegistry {
  private readonly members = new Map<string, MemberInfo>();

  static fromFounders(founders: readonly MemberAddress[]): MemberRegistry {
    const r = new MemberRegistry();
    for (const f of founders) r.members.set(f.name, { name: f.name, peer: f.peer, http: null, labels: {} });
    return r;
  }

  get(name: string): MemberInfo | undefined {
    return this.members.get(name);
  }

  list(): MemberInfo[] {
    return [...this.members.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Records (or updates) a member's durable address, as a membership change brings it. */
  upsert(context: MemberContext): void {
    const known = this.members.get(context.name);
    this.members.set(context.name, {
      name: context.name,
      peer: context.peer,
      http: context.http ?? known?.http ?? null,
      labels: known?.labels ?? {},
    });
  }

  remove(name: string): void {
    this.members.delete(name);
  }

  /** What a member announced about itself (its HTTP address and labels); ignored for unknown members. */
  announce(name: string, http: string, labels: Readonly<Record<string, string>>): boolean {
    const known = this.members.get(name);
    if (!known) return false;
    if (known.http === http && sameLabels(known.labels, labels)) return false;
    this.members.set(name, { ...known, http, labels: { ...labels } });
    return true;
  }

  /** Peer addresses of everyone but `self`, for the transport. */
  peersOf(self: string): Record<string, string> {
    const peers: Record<string, string> = {};
    for (const m of this.members.values()) if (m.name !== self) peers[m.name] = m.peer;
    return peers;
  }

  toJSON(): MemberInfo[] {
    return this.list();
  }

  static fromJSON(raw: unknown): MemberRegistry {
    const r = new MemberRegistry();
    if (!Array.isArray(raw)) return r;
    for (const m of raw as MemberInfo[]) {
      if (typeof m?.name !== 'string' || typeof m.peer !== 'string') continue;
      r.members.set(m.name, {
        name: m.name,
        peer: m.peer,
        http: typeof m.http === 'string' ? m.http : null,
        labels: typeof m.labels === 'object' && m.labels !== null ? { ...m.labels } : {},
      });
    }
    return r;
  }
}

function sameLabels(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => a[k] === b[k]);
}
