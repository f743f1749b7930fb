// The TCB-recovery what-if: which platforms and workloads of the last N days a candidate
// policy would refuse, and by which rule. The candidate is a draft policy, or the active policy
// with its TCB minimums replaced (draftWithTcb); either is replayed against the stored
// results (server/policies/replay.ts), then each result is attributed to its platform and
// workload (platform.ts). A platform's or workload's fate is that of its newest attestation
// in the window: a machine that was updated since an old report is judged as it is now.

import { parseAppraisalPolicy, type AppraisalPolicy, type RuleOutcome } from '../../verifier/policy/index.ts';
import type { SnpTcbMinimum } from '../../verifier/policy/schema.ts';
import { SNP_PRODUCTS, type SnpProduct } from '../../verifier/snp/product.ts';
import type { ServiceContext } from '../context.ts';
import { replay } from '../policies/replay.ts';
import { partsOfResult, platformOf, workloadKey, workloadOf, type PlatformFacts, type Workload } from './platform.ts';

/** A candidate minimum TCB: per SNP product, and the Intel TCB fields the typed policy has. */
export interface CandidateTcb {
  snp?: Partial<Record<SnpProduct, SnpTcbMinimum>>;
  tdx?: { acceptedTcbStatuses?: string[]; forbiddenAdvisories?: string[]; minTcbEvaluationDataNumber?: number };
  sgx?: { acceptedTcbStatuses?: string[] };
}

// A per-product minTcb must name every product a report may come from (verifier/policy/
// schema.ts); a product the candidate leaves out and the base policy set no minimum for gets
// this one, which every TCB meets.
const NO_MINIMUM: SnpTcbMinimum = { bootloader: 0 };

/**
 * `base` with its TCB minimums replaced by the candidate's: for SNP, the products the
 * candidate names get its minimum and the others keep the base policy's; for TDX and SGX,
 * the fields the candidate sets replace the base policy's. Validated as any uploaded policy.
 */
export function draftWithTcb(base: AppraisalPolicy, tcb: CandidateTcb): AppraisalPolicy {
  const draft = structuredClone(base) as Record<string, unknown> & AppraisalPolicy;
  if (tcb.snp) {
    const current = base.snp?.minTcb;
    const perProduct = current !== undefined && SNP_PRODUCTS.some((p) => p in current);
    const minTcb: Partial<Record<SnpProduct, SnpTcbMinimum>> = {};
    for (const p of SNP_PRODUCTS) {
      const named = tcb.snp[p];
      if (named) minTcb[p] = { ...named };
      else if (!perProduct) minTcb[p] = { ...((current as SnpTcbMinimum | undefined) ?? NO_MINIMUM) };
      // A per-product base without this product refuses its reports: so does the draft.
      else if (current[p]) minTcb[p] = { ...current[p] };
    }
    draft.snp = { ...draft.snp, minTcb };
  }
  if (tcb.tdx) draft.tdx = { ...draft.tdx, ...tcb.tdx } as AppraisalPolicy['tdx'];
  if (tcb.sgx) draft.sgx = { ...draft.sgx, ...tcb.sgx } as AppraisalPolicy['sgx'];
  return parseAppraisalPolicy(draft);
}

/** A failed rule as the what-if reports it. */
export type FailedRule = Pick<RuleOutcome, 'id' | 'effect' | 'detail' | 'expected' | 'found'>;

export interface RefusedWorkload extends Workload {
  /** The attestation judged: the newest of this workload on this platform. */
  attestationId: string;
  at: string;
  /** Its recorded status, under the policy active then. */
  recordedStatus: string;
}

export interface RefusedPlatform extends PlatformFacts {
  tees: string[];
  lastSeen: string;
  /** True when some refused workload was not refused when recorded. */
  newlyRefused: boolean;
  workloads: RefusedWorkload[];
  /** The failed deny rules, each once (values from the newest attestation that failed it). */
  rules: FailedRule[];
}

export interface WhatIfReport {
  since: string;
  until: string;
  days: number;
  attestations: { total: number; refused: number; newlyRefused: number; unattributed: number };
  platforms: { total: number; refused: number; newlyRefused: number };
  workloads: { total: number; refused: number };
  refusedPlatforms: RefusedPlatform[];
  refusedWorkloads: (Workload & { platforms: string[] })[];
  /** Each deny rule that refuses something: how many platforms, workloads and attestations it refuses. */
  rules: { id: string; platforms: number; workloads: number; attestations: number }[];
  truncated: boolean;
}

interface Unit {
  facts: PlatformFacts;
  workload: Workload;
  id: string;
  at: number;
  recordedStatus: string;
  refused: boolean;
  rules: FailedRule[];
}

const iso = (ms: number): string => new Date(ms).toISOString();
const denyFailures = (rules: readonly RuleOutcome[]): FailedRule[] =>
  rules.filter((r) => !r.ok && r.effect === 'deny').map((r) => ({ id: r.id, effect: r.effect, detail: r.detail, ...(r.expected !== undefined ? { expected: r.expected } : {}), ...(r.found !== undefined ? { found: r.found } : {}) }));

/** Replay `policy` on the `days` days up to `now` and attribute the refusals. */
export async function whatIf(ctx: ServiceContext, policy: AppraisalPolicy, days: number, now: number): Promise<WhatIfReport> {
  const since = now - days * 86_400_000;
  const units = new Map<string, Unit>();
  const platforms = new Map<string, { facts: PlatformFacts; tees: Set<string>; last: number }>();
  const workloads = new Set<string>();
  const ruleAttestations = new Map<string, number>();
  let refused = 0;
  let newlyRefused = 0;
  let unattributed = 0;
  const { total, truncated } = await replay(ctx, policy, since, now, ({ row, result, decision }) => {
    const isRefused = decision.status === 'contraindicated';
    const failed = isRefused ? denyFailures(decision.rules) : [];
    if (isRefused) {
      refused += 1;
      if (row.status !== 'contraindicated') newlyRefused += 1;
      for (const r of failed) ruleAttestations.set(r.id, (ruleAttestations.get(r.id) ?? 0) + 1);
    }
    const parts = partsOfResult(row.tee, result);
    const facts = parts.verified ? platformOf(parts) : undefined;
    const workload = workloadOf(parts.measurement, parts.rtmr);
    if (!facts || !workload) {
      unattributed += 1;
      return;
    }
    // Rows come oldest first: what is set last is the newest.
    const p = platforms.get(facts.id) ?? { facts, tees: new Set<string>(), last: 0 };
    p.facts = facts;
    p.tees.add(row.tee);
    p.last = Math.max(p.last, row.createdAt);
    platforms.set(facts.id, p);
    const wk = workloadKey(workload);
    workloads.add(wk);
    units.set(`${facts.id}\n${wk}`, { facts, workload, id: row.id, at: row.createdAt, recordedStatus: row.status, refused: isRefused, rules: failed });
  });

  const refusedUnits = [...units.values()].filter((u) => u.refused).sort((a, b) => b.at - a.at);
  const byPlatform = new Map<string, RefusedPlatform>();
  const byWorkload = new Map<string, Workload & { platforms: string[] }>();
  const ruleReach = new Map<string, { platforms: Set<string>; workloads: Set<string> }>();
  for (const u of refusedUnits) {
    const p = platforms.get(u.facts.id)!;
    let rp = byPlatform.get(u.facts.id);
    if (!rp) byPlatform.set(u.facts.id, (rp = { ...p.facts, tees: [...p.tees].sort(), lastSeen: iso(p.last), newlyRefused: false, workloads: [], rules: [] }));
    rp.workloads.push({ ...u.workload, attestationId: u.id, at: iso(u.at), recordedStatus: u.recordedStatus });
    if (u.recordedStatus !== 'contraindicated') rp.newlyRefused = true;
    for (const r of u.rules) if (!rp.rules.some((x) => x.id === r.id)) rp.rules.push(r);
    const wk = workloadKey(u.workload);
    const w = byWorkload.get(wk) ?? { ...u.workload, platforms: [] };
    if (!w.platforms.includes(u.facts.id)) w.platforms.push(u.facts.id);
    byWorkload.set(wk, w);
    for (const r of u.rules) {
      const reach = ruleReach.get(r.id) ?? { platforms: new Set<string>(), workloads: new Set<string>() };
      reach.platforms.add(u.facts.id);
      reach.workloads.add(wk);
      ruleReach.set(r.id, reach);
    }
  }
  const refusedPlatforms = [...byPlatform.values()];
  const rules = [...ruleAttestations]
    .map(([id, attestations]) => ({ id, platforms: ruleReach.get(id)?.platforms.size ?? 0, workloads: ruleReach.get(id)?.workloads.size ?? 0, attestations }))
    .sort((a, b) => b.platforms - a.platforms || b.attestations - a.attestations || a.id.localeCompare(b.id));
  return {
    since: iso(since),
    until: iso(now),
    days,
    attestations: { total, refused, newlyRefused, unattributed },
    platforms: { total: platforms.size, refused: refusedPlatforms.length, newlyRefused: refusedPlatforms.filter((p) => p.newlyRefused).length },
    workloads: { total: workloads.size, refused: byWorkload.size },
    refusedPlatforms,
    refusedWorkloads: [...byWorkload.values()],
    rules,
    truncated,
  };
}
