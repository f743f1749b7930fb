// The declarative SEV-SNP part of an appraisal policy, checked against the claims.
// Field meanings: AMD SEV-SNP ABI spec (AMD 56860), ATTESTATION_REPORT structure and
// "Guest Policy Structure"; the set of checks follows google/go-sev-guest validate
// (Options: measurement, policy bits, minimum TCB, VMPL, host data, family/image id,
// id/author key digests, minimum guest SVN, product).

import type { Claims } from '../result.ts';
import type { PolicyContext, RuleOutcome } from './types.ts';
import type { SnpMinTcb, SnpPolicy, SnpTcbMinimum } from './schema.ts';
import { SNP_PRODUCTS } from '../snp/product.ts';
import { allowedHexRule, fail, forbiddenUnlessAllowed, intValue, minimumRule, pass, reportField } from './outcome.ts';

/** The guest policy bits, as the SNP verifier decoded them into `claims.snp.policy` (abi/policy.ts GuestPolicy). */
function guestPolicyBits(snp: Record<string, unknown> | undefined): { smt?: boolean; migrateMa?: boolean } {
  const p = reportField(snp, 'policy');
  if (!p || typeof p !== 'object' || Array.isArray(p)) return {};
  const o = p as Record<string, unknown>;
  const bit = (name: string): boolean | undefined => (typeof o[name] === 'boolean' ? (o[name] as boolean) : undefined);
  return { smt: bit('smt'), migrateMa: bit('migrateMa') };
}

const TCB_COMPONENTS = ['bootloader', 'tee', 'snp', 'microcode', 'fmc'] as const satisfies readonly (keyof SnpTcbMinimum)[];

/**
 * The TCBs a minimum holds for. REPORTED_TCB: the TCB the VCEK is derived from, so the one
 * the signature vouches for (the SNP verifier checks it against the VCEK's SPL
 * extensions); a host may report a lower TCB than it runs (SNP_CONFIG), never a higher one.
 * COMMITTED_TCB: the lowest firmware the platform may go back to without a new report;
 * while CURRENT_TCB is above it the running firmware is provisional and can be rolled back
 * under a running guest (go-sev-guest validate requires committed == current unless
 * PermitProvisionalFirmware). LAUNCH_TCB: the firmware the guest was launched under; a
 * later update does not undo what older firmware let the host do (the SNP counterpart of
 * Intel's TDRelaunchAdvised). CURRENT_TCB is at least REPORTED_TCB and COMMITTED_TCB, so
 * it needs no check of its own. ABI 56860, Table 23 "ATTESTATION_REPORT Structure".
 */
const CHECKED_TCBS = [
  { key: 'reported', name: 'REPORTED_TCB' },
  { key: 'committed', name: 'COMMITTED_TCB', field: 'committedTcb' },
  { key: 'launch', name: 'LAUNCH_TCB', field: 'launchTcb' },
] as const;

function tcbObject(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Minimum TCB, per component, against REPORTED_TCB, COMMITTED_TCB and LAUNCH_TCB (see
 * CHECKED_TCBS). FMC exists from Turin on: a minimum for it is checked on reports whose TCB
 * has the component; Milan and Genoa have no FMC to check; any other report without it
 * (Turin, or an unknown product) fails. `found` is the REPORTED_TCB components, with the
 * committed and launch ones under `committed` and `launch`.
 */
function minTcbRule(policyMin: SnpMinTcb, claims: Claims): RuleOutcome {
  const id = 'snp.minTcb';
  const product = claims.platform.product;
  let min: SnpTcbMinimum = policyMin;
  if (SNP_PRODUCTS.some((p) => p in policyMin)) {
    const forProduct = SNP_PRODUCTS.find((p) => p === product);
    const set = forProduct ? policyMin[forProduct] : undefined;
    if (!set) return fail(id, `the policy sets no minimum TCB for ${product ?? 'an unknown product'}`, policyMin, product ?? null);
    min = set;
  }
  const expected: Record<string, number> = {};
  const found: Record<string, unknown> = {};
  const low: string[] = [];
  for (const tcb of CHECKED_TCBS) {
    const values = tcb.key === 'reported' ? tcbObject(claims.tcb.reported) : tcbObject(reportField(claims.snp, tcb.field));
    const seen: Record<string, number | null> = {};
    for (const c of TCB_COMPONENTS) {
      const m = min[c];
      if (m === undefined) continue;
      const v = intValue(values?.[c]);
      // No FMC before Turin: skip it only for products known to lack it (unknown product: fail closed).
      if (c === 'fmc' && v === undefined && (product === 'Milan' || product === 'Genoa') && values !== undefined) continue;
      expected[c] = m;
      seen[c] = v ?? null;
      if (values === undefined) continue;
      if (v === undefined) low.push(`${tcb.name} ${c} absent`);
      else if (v < m) low.push(`${tcb.name} ${c} ${v} < ${m}`);
    }
    if (tcb.key === 'reported') {
      if (values === undefined) return fail(id, 'the reported TCB is not in the claims', expected, null);
      Object.assign(found, seen);
    } else {
      if (values === undefined) low.push(`${tcb.name} is not in the claims`);
      found[tcb.key] = values === undefined ? null : seen;
    }
  }
  if (Object.keys(expected).length === 0) return pass(id, `no minimum applies: ${product ?? 'this product'} has no FMC`, expected, found);
  return low.length === 0
    ? pass(id, 'REPORTED_TCB, COMMITTED_TCB and LAUNCH_TCB meet every minimum', expected, found)
    : fail(id, `the TCB is below the minimum: ${low.join(', ')}`, expected, found);
}

/**
 * VMPL when the policy names none: any guest VMPL (0..3), never a host-requested report.
 * ABI 56860 rev 1.58, Table 23 "ATTESTATION_REPORT Structure" at 30h: a report the host
 * requested (SNP_HV_REPORT_REQ) has VMPL 0xFFFFFFFF and a REPORT_DATA the firmware
 * zero-fills, so it says nothing the guest chose to say (no nonce, no key binding).
 */
const GUEST_VMPLS = { max: 3 } as const;

function vmplRule(allowed: NonNullable<SnpPolicy['vmpl']>, snp: Record<string, unknown> | undefined): RuleOutcome {
  const id = 'snp.vmpl';
  const v = intValue(reportField(snp, 'vmpl'));
  const expected = allowed;
  if (v === undefined) return fail(id, 'VMPL is not in the claims', expected, null);
  if (v > 3) return fail(id, `VMPL 0x${v.toString(16)} is not a guest VMPL: the host requested this report (SNP_HV_REPORT_REQ)`, expected, v);
  const ok = Array.isArray(allowed) ? allowed.includes(v) : v <= allowed.max;
  const what = Array.isArray(allowed) ? `one of ${allowed.join(', ')}` : `at most ${allowed.max}`;
  return ok ? pass(id, `VMPL ${v} is ${what}`, expected, v) : fail(id, `VMPL ${v} is not ${what}`, expected, v);
}

function listRule(id: string, what: string, allowed: readonly string[], found: unknown): RuleOutcome {
  if (typeof found !== 'string') return fail(id, `${what} is not in the claims`, allowed, null);
  return allowed.includes(found) ? pass(id, `${what} ${found} is allowed`, allowed, found) : fail(id, `${what} ${found} is not allowed`, allowed, found);
}

export function validateSnp(policy: SnpPolicy, claims: Claims, ctx: PolicyContext): RuleOutcome[] {
  const snp = claims.snp;
  const out: RuleOutcome[] = [];
  if (policy.measurements) out.push(allowedHexRule('snp.measurements', 'MEASUREMENT', policy.measurements, claims.measurement, ctx));
  out.push(forbiddenUnlessAllowed('snp.allowDebug', 'guest policy DEBUG', policy.allowDebug ?? false, claims.debug));
  const bits = guestPolicyBits(snp);
  out.push(forbiddenUnlessAllowed('snp.allowMigrationAgent', 'guest policy MIGRATE_MA', policy.allowMigrationAgent ?? false, bits.migrateMa));
  if (policy.allowSmt !== undefined) out.push(forbiddenUnlessAllowed('snp.allowSmt', 'guest policy SMT', policy.allowSmt, bits.smt));
  if (policy.minTcb) out.push(minTcbRule(policy.minTcb, claims));
  out.push(vmplRule(policy.vmpl ?? GUEST_VMPLS, snp));
  if (policy.hostData) out.push(allowedHexRule('snp.hostData', 'HOST_DATA', policy.hostData, reportField(snp, 'hostData'), ctx));
  if (policy.familyId) out.push(allowedHexRule('snp.familyId', 'FAMILY_ID', policy.familyId, reportField(snp, 'familyId'), ctx));
  if (policy.imageId) out.push(allowedHexRule('snp.imageId', 'IMAGE_ID', policy.imageId, reportField(snp, 'imageId'), ctx));
  if (policy.idKeyDigests) out.push(allowedHexRule('snp.idKeyDigests', 'ID_KEY_DIGEST', policy.idKeyDigests, reportField(snp, 'idKeyDigest'), ctx));
  if (policy.authorKeyDigests) {
    out.push(allowedHexRule('snp.authorKeyDigests', 'AUTHOR_KEY_DIGEST', policy.authorKeyDigests, reportField(snp, 'authorKeyDigest'), ctx));
  }
  if (policy.minGuestSvn !== undefined) out.push(minimumRule('snp.minGuestSvn', 'GUEST_SVN', policy.minGuestSvn, reportField(snp, 'guestSvn')));
  if (policy.products) out.push(listRule('snp.products', 'product', policy.products, claims.platform.product));
  if (policy.signers) out.push(listRule('snp.signers', 'signer', policy.signers, claims.platform.signer));
  return out;
}
