import type { HostRecord } from '../host-tracker.js';
import type { BalanceRequest, Host } from '../types.js';
import { type ZoneCapacity, type ZoneRouting, zoneRouting } from '../zone-spill.js';
import type { Picker, PickerContext } from './picker.js';

interface ZoneGroup {
  capacity: ZoneCapacity;
  zone: string;
  /** Candidate hosts of the zone, in configuration order (a stable array while nothing changes). */
  hosts: HostRecord[];
  configuredCount: number;
}

/** Client zones whose routing is cached; the zone names come from requests, so the cache is bounded. */
const MAX_CACHED_ROUTINGS = 256;

export function zoneKey(host: Pick<Host, 'region' | 'zone'>): string {
  return JSON.stringify([host.region, host.zone]);
}

/**
 * Zone-aware routing: requests stay in the client's zone while it has the healthy capacity for them, and the
 * excess spills to other zones of the region, then to other regions, in proportion to their spare capacity
 * (see `zoneRouting`). Inside the chosen zone a per-zone inner picker (least-time by default) chooses the
 * host. In panic mode every host counts as healthy, so every zone keeps its own traffic. A request without a
 * client zone is spread by healthy capacity (over its region, if it names one).
 */
export class ZoneAwarePicker implements Picker {
  readonly strategy = 'zone' as const;
  private groupsFor: readonly HostRecord[] | null = null;
  private groupsVersion = -1;
  private groups = new Map<string, ZoneGroup>();
  private readonly routings = new Map<string, ZoneRouting>();
  private readonly inner = new Map<string, Picker>();

  constructor(
    private readonly context: PickerContext,
    private readonly createInner: (zoneContext: PickerContext) => Picker,
  ) {}

  pick(request: BalanceRequest, candidates: readonly HostRecord[], excluded?: ReadonlySet<string>): HostRecord | null {
    if (candidates.length === 0) return null;
    this.refreshGroups(candidates);
    const key = this.chooseZone(this.routingFor(request), excluded);
    if (key === null) return null;
    return this.innerPicker(key).pick(request, this.groups.get(key)!.hosts, excluded);
  }

  onResult(record: HostRecord, ok: boolean): void {
    this.inner.get(zoneKey(record.host))?.onResult?.(record, ok);
  }

  /** The current routing for a client zone (for tests and diagnostics). */
  routing(request: BalanceRequest, candidates: readonly HostRecord[]): ZoneRouting {
    this.refreshGroups(candidates);
    return this.routingFor(request);
  }

  private refreshGroups(candidates: readonly HostRecord[]): void {
    const version = this.context.tracker.version;
    if (candidates === this.groupsFor && version === this.groupsVersion) return;
    const building = new Map<string, { region: string; zone: string; configured: number; count: number }>();
    for (const record of this.context.tracker.records()) {
      const key = zoneKey(record.host);
      const entry = building.get(key) ?? {
        region: record.host.region,
        zone: record.host.zone,
        configured: 0,
        count: 0,
      };
      entry.configured += record.host.weight;
      entry.count++;
      building.set(key, entry);
    }
    const healthy = new Map<string, HostRecord[]>();
    for (const record of candidates) {
      const key = zoneKey(record.host);
      const list = healthy.get(key) ?? [];
      list.push(record);
      healthy.set(key, list);
    }
    const groups = new Map<string, ZoneGroup>();
    for (const [key, entry] of building) {
      const hosts = healthy.get(key) ?? [];
      const healthyWeight = hosts.reduce((sum, record) => sum + record.host.weight, 0);
      groups.set(key, {
        capacity: { key, region: entry.region, configuredWeight: entry.configured, healthyWeight },
        zone: entry.zone,
        hosts,
        configuredCount: entry.count,
      });
    }
    this.groups = groups;
    this.groupsFor = candidates;
    this.groupsVersion = version;
    this.routings.clear();
    for (const key of this.inner.keys()) if (!groups.has(key)) this.inner.delete(key);
  }

  private routingFor(request: BalanceRequest): ZoneRouting {
    const cacheKey = JSON.stringify([request.clientZone ?? null, request.clientRegion ?? null]);
    const cached = this.routings.get(cacheKey);
    if (cached) return cached;
    let localKey: string | null = null;
    let localRegion: string | null = request.clientRegion ?? null;
    if (request.clientZone !== undefined) {
      for (const [key, group] of this.groups) {
        if (group.zone !== request.clientZone) continue;
        if (request.clientRegion !== undefined && group.capacity.region !== request.clientRegion) continue;
        localKey = key;
        localRegion = group.capacity.region;
        break;
      }
    }
    const capacities = [...this.groups.values()].map((group) => group.capacity);
    const routing = zoneRouting(capacities, localKey, localRegion);
    if (this.routings.size >= MAX_CACHED_ROUTINGS) this.routings.clear();
    this.routings.set(cacheKey, routing);
    return routing;
  }

  /** Samples a zone from the routing, among zones that still have a host this request has not tried. */
  private chooseZone(routing: ZoneRouting, excluded: ReadonlySet<string> | undefined): string | null {
    const usable = (key: string) => {
      const hosts = this.groups.get(key)?.hosts ?? [];
      return excluded && excluded.size > 0 ? hosts.some((record) => !excluded.has(record.id)) : hosts.length > 0;
    };
    let entries: ReadonlyArray<{ key: string; share: number }> =
      excluded && excluded.size > 0 ? routing.filter((entry) => usable(entry.key)) : routing;
    if (entries.length === 0) {
      // Every zone the routing names is used up by this request's earlier attempts: any zone with a host left.
      entries = [...this.groups.values()]
        .filter((group) => usable(group.capacity.key))
        .map((group) => ({ key: group.capacity.key, share: group.hosts.length }));
    }
    let total = 0;
    for (const entry of entries) total += entry.share;
    if (entries.length === 0 || total <= 0) return null;
    let point = this.context.random.next() * total;
    for (const entry of entries) {
      point -= entry.share;
      if (point < 0) return entry.key;
    }
    return entries[entries.length - 1]!.key;
  }

  private innerPicker(key: string): Picker {
    let picker = this.inner.get(key);
    if (!picker) {
      picker = this.createInner({
        ...this.context,
        configuredHostCount: () => this.groups.get(key)?.configuredCount ?? 0,
      });
      this.inner.set(key, picker);
    }
    return picker;
  }
}
