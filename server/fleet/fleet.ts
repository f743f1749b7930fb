// The fleet of a time window: each platform seen once, with what its newest attestation said
// of its TCB, when it was first and last seen, its outcomes and the workloads seen on it.
// Built from the engine's groups (AttestationStorage.fleet), newest first, so the first group
// of a platform carries its current TCB.

import type { FleetGroupRow, Store } from '../storage/store.ts';
import { platformOf, workloadKey, workloadOf, type PlatformFacts, type Workload } from './platform.ts';

/** At most this many groups per fleet answer: bounded work; `truncated` says when it was reached. */
export const FLEET_GROUP_LIMIT = 50_000;

export interface FleetWorkload extends Workload {
  accepted: number;
  denied: number;
  firstSeen: string;
  lastSeen: string;
}

export interface FleetPlatform extends PlatformFacts {
  /** The TEEs it attested through (sev-snp and az-snp-vtpm may share a chip). */
  tees: string[];
  firstSeen: string;
  lastSeen: string;
  accepted: number;
  denied: number;
  /** Newest first. */
  workloads: FleetWorkload[];
}

export interface Fleet {
  since: string;
  until: string;
  days: number;
  totals: { platforms: number; workloads: number; attestations: number; accepted: number; denied: number };
  /** Attestations whose evidence did not verify (their claims may name any platform) or named none. */
  unattributed: { attestations: number };
  /** Newest last seen first. */
  platforms: FleetPlatform[];
  truncated: boolean;
}

const iso = (ms: number): string => new Date(ms).toISOString();

interface Acc {
  facts: PlatformFacts;
  tees: Set<string>;
  first: number;
  last: number;
  accepted: number;
  denied: number;
  workloads: Map<string, { w: Workload; accepted: number; denied: number; first: number; last: number }>;
}

/** Fold the groups (newest first) into platforms. Pure: the storage answer in, the fleet out. */
export function foldFleet(groups: readonly FleetGroupRow[]): { platforms: FleetPlatform[]; unattributed: number; attestations: number; accepted: number; denied: number } {
  const byId = new Map<string, Acc>();
  let unattributed = 0;
  let attestations = 0;
  let accepted = 0;
  let denied = 0;
  for (const g of groups) {
    attestations += g.accepted + g.denied;
    accepted += g.accepted;
    denied += g.denied;
    const facts = g.verified ? platformOf(g) : undefined;
    if (!facts) {
      unattributed += g.accepted + g.denied;
      continue;
    }
    let acc = byId.get(facts.id);
    // The first group of a platform is its newest: its TCB is the platform's as last seen.
    if (!acc) byId.set(facts.id, (acc = { facts, tees: new Set(), first: g.firstSeen, last: g.lastSeen, accepted: 0, denied: 0, workloads: new Map() }));
    acc.tees.add(g.tee);
    acc.first = Math.min(acc.first, g.firstSeen);
    acc.last = Math.max(acc.last, g.lastSeen);
    acc.accepted += g.accepted;
    acc.denied += g.denied;
    const w = workloadOf(g.measurement, g.rtmr);
    if (!w) continue;
    const key = workloadKey(w);
    const seen = acc.workloads.get(key);
    if (!seen) acc.workloads.set(key, { w, accepted: g.accepted, denied: g.denied, first: g.firstSeen, last: g.lastSeen });
    else {
      seen.accepted += g.accepted;
      seen.denied += g.denied;
      seen.first = Math.min(seen.first, g.firstSeen);
      seen.last = Math.max(seen.last, g.lastSeen);
    }
  }
  const platforms = [...byId.values()]
    .sort((a, b) => b.last - a.last || a.facts.id.localeCompare(b.facts.id))
    .map((a) => ({
      ...a.facts,
      tees: [...a.tees].sort(),
      firstSeen: iso(a.first),
      lastSeen: iso(a.last),
      accepted: a.accepted,
      denied: a.denied,
      workloads: [...a.workloads.values()]
        .sort((x, y) => y.last - x.last || workloadKey(x.w).localeCompare(workloadKey(y.w)))
        .map((x) => ({ ...x.w, accepted: x.accepted, denied: x.denied, firstSeen: iso(x.first), lastSeen: iso(x.last) })),
    }));
  return { platforms, unattributed, attestations, accepted, denied };
}

/** The fleet of the `days` days up to `now`. */
export async function fleetOf(store: Store, days: number, now: number): Promise<Fleet> {
  const since = now - days * 86_400_000;
  const groups = await store.attestations.fleet(since, now, FLEET_GROUP_LIMIT + 1);
  const truncated = groups.length > FLEET_GROUP_LIMIT;
  const folded = foldFleet(truncated ? groups.slice(0, FLEET_GROUP_LIMIT) : groups);
  const workloads = new Set(folded.platforms.flatMap((p) => p.workloads.map(workloadKey)));
  return {
    since: iso(since),
    until: iso(now),
    days,
    totals: { platforms: folded.platforms.length, workloads: workloads.size, attestations: folded.attestations, accepted: folded.accepted, denied: folded.denied },
    unattributed: { attestations: folded.unattributed },
    platforms: folded.platforms,
    truncated,
  };
}
