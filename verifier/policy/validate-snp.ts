// The declarative SEV-SNP part of an appraisal policy, checked against the claims.
// Field meanings: AMD SEV-SNP ABI spec (AMD 56860), ATTESTATION_REPORT structure and
// "Guest Policy Structure"; the set of checks follows google/go-sev-guest validate
// (Options: measurement, policy bits and ABI, minimum TCB, minimum firmware version,
// PLATFORM_INFO, VMPL, host data, family/image id, id/author key digests and
// RequireAuthorKey, minimum guest SVN, product; README maps every Options field).

import type { Claims } from '../result.ts';
import type { PolicyContext, RuleOutcome } from './types.ts';
import type { SnpMinTcb, SnpPlatformInfoRequirement, SnpPolicy, SnpTcbMinimum } from './schema.ts';
import { SNP_PRODUCTS } from '../snp/product.ts';
import { allowedHexRule, fail, forbiddenUnlessAllowed, intValue, minimumRule, pass, reportField } from './outcome.ts';

/** The guest policy bits, as the SNP verifier decoded them into `claims.snp.policy` (abi/policy.ts GuestPolicy). */
function guestPolicyBits(snp: Record<string, unknown> | undefined): {
  smt?: boolean;
  migrateMa?: boolean;
  singleSocket?: boolean;
  abiMajor?: number;
  abiMinor?: number;
} {
  const o = plainObject(reportField(snp, 'policy'));
  if (!o) return {};
  const bit = (name: string): boolean | undefined => (typeof o[name] === 'boolean' ? (o[name] as boolean) : undefined);
  return { smt: bit('smt'), migrateMa: bit('migrateMa'), singleSocket: bit('singleSocket'), abiMajor: intValue(o.abiMajor), abiMinor: intValue(o.abiMinor) };
}

/** A required boolean property (a bit that must be set, or clear); a missing claim fails. */
function requiredBit(id: string, what: string, required: boolean, found: unknown): RuleOutcome {
  if (typeof found !== 'boolean') return fail(id, `${what} is not in the claims`, required, null);
  const state = (b: boolean): string => (b ? 'set' : 'clear');
  return found === required
    ? pass(id, `${what} is ${state(found)}`, required, found)
    : fail(id, `${what} is ${state(found)}; the policy requires it ${state(required)}`, required, found);
}

/**
 * Minimum guest policy ABI. ABI_MAJOR.ABI_MINOR (AMD SEV-SNP ABI 56860 rev 1.58, Table 9
 * "GUEST_POLICY Structure", bits 15:0) is the lowest firmware ABI the guest owner let the
 * guest launch on; a minimum here refuses guests launched with a looser demand. As
 * go-sev-guest validatePolicy, compared as (major << 8 | minor).
 */
function minPolicyAbiRule(min: { major: number; minor: number }, bits: ReturnType<typeof guestPolicyBits>): RuleOutcome {
  const id = 'snp.minPolicyAbi';
  const expected = { min };
  const { abiMajor: major, abiMinor: minor } = bits;
  if (major === undefined || minor === undefined) return fail(id, 'the guest policy ABI version is not in the claims', expected, null);
  const found = { major, minor };
  const ok = major * 256 + minor >= min.major * 256 + min.minor;
  const text = `guest policy ABI ${major}.${minor}`;
  return ok ? pass(id, `${text} is at least ${min.major}.${min.minor}`, expected, found) : fail(id, `${text} is below the minimum ${min.major}.${min.minor}`, expected, found);
}

type Version3 = { major: number; minor: number; build: number };

function firmwareVersion(v: unknown): Version3 | undefined {
  const o = plainObject(v);
  const major = intValue(o?.major);
  const minor = intValue(o?.minor);
  const build = intValue(o?.build);
  return major === undefined || minor === undefined || build === undefined ? undefined : { major, minor, build };
}

const versionText = (v: Version3): string => `${v.major}.${v.minor}.${v.build}`;
const versionKey = (v: Version3): number => (v.major * 256 + v.minor) * 256 + v.build;

/**
 * Minimum firmware version, against CURRENT_MAJOR/MINOR/BUILD (the running firmware) and
 * COMMITTED_MAJOR/MINOR/BUILD (what the platform cannot be rolled back below), ABI 56860
 * rev 1.58 Table 23 "ATTESTATION_REPORT Structure" at 1E8h-1EEh. Compared as one version,
 * major then minor then build: go-sev-guest MinimumVersion/MinimumBuild compare the API
 * version and the build separately (CURRENT only), which refuses 1.57.1 for a minimum
 * build 29; a build number only orders releases of one API version.
 */
function minFirmwareRule(min: Version3, snp: Record<string, unknown> | undefined): RuleOutcome {
  const id = 'snp.minFirmware';
  const expected = { min };
  const current = firmwareVersion(reportField(snp, 'currentVersion'));
  const committed = firmwareVersion(reportField(snp, 'committedVersion'));
  const found = { current: current ?? null, committed: committed ?? null };
  const low: string[] = [];
  for (const [name, v] of [['CURRENT', current], ['COMMITTED', committed]] as const) {
    if (v === undefined) low.push(`the ${name} firmware version is not in the claims`);
    else if (versionKey(v) < versionKey(min)) low.push(`${name} ${versionText(v)} < ${versionText(min)}`);
  }
  return low.length === 0
    ? pass(id, `CURRENT and COMMITTED firmware are at least ${versionText(min)}`, expected, found)
    : fail(id, `the firmware is below the minimum: ${low.join(', ')}`, expected, found);
}

const PLATFORM_INFO_BITS = [
  { key: 'smtEnabled', name: 'PLATFORM_INFO SMT_EN (bit 0)' },
  { key: 'tsmeEnabled', name: 'PLATFORM_INFO TSME_EN (bit 1)' },
  { key: 'eccEnabled', name: 'PLATFORM_INFO ECC_EN (bit 2)' },
  { key: 'raplDisabled', name: 'PLATFORM_INFO RAPL_DIS (bit 3)' },
  { key: 'ciphertextHidingEnabled', name: 'PLATFORM_INFO CIPHERTEXT_HIDING_DRAM_EN (bit 4)' },
  { key: 'aliasCheckComplete', name: 'PLATFORM_INFO ALIAS_CHECK_COMPLETE (bit 5)' },
] as const satisfies readonly { key: keyof SnpPlatformInfoRequirement; name: string }[];

/** One rule per PLATFORM_INFO bit the policy names (abi/platform-info.ts decodes them; ABI 56860 rev 1.58, Table 23 at 40h). */
function platformInfoRules(required: SnpPlatformInfoRequirement, snp: Record<string, unknown> | undefined): RuleOutcome[] {
  const info = plainObject(reportField(snp, 'platformInfo'));
  const out: RuleOutcome[] = [];
  for (const b of PLATFORM_INFO_BITS) {
    const want = required[b.key];
    if (want !== undefined) out.push(requiredBit(`snp.platformInfo.${b.key}`, b.name, want, info?.[b.key]));
  }
  return out;
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

function plainObject(v: unknown): Record<string, unknown> | undefined {
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
    const values = tcb.key === 'reported' ? plainObject(claims.tcb.reported) : plainObject(reportField(claims.snp, tcb.field));
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
  if (policy.minPolicyAbi) out.push(minPolicyAbiRule(policy.minPolicyAbi, bits));
  // GUEST_POLICY SINGLE_SOCKET, ABI 56860 rev 1.58 table "Guest Policy Structure", bit 20 (go-sev-guest GuestPolicy.SingleSocket).
  if (policy.requireSingleSocket === true) out.push(requiredBit('snp.requireSingleSocket', 'guest policy SINGLE_SOCKET (bit 20)', true, bits.singleSocket));
  if (policy.platformInfo) out.push(...platformInfoRules(policy.platformInfo, snp));
  if (policy.minFirmware) out.push(minFirmwareRule(policy.minFirmware, snp));
  if (policy.minTcb) out.push(minTcbRule(policy.minTcb, claims));
  out.push(vmplRule(policy.vmpl ?? GUEST_VMPLS, snp));
  if (policy.hostData) out.push(allowedHexRule('snp.hostData', 'HOST_DATA', policy.hostData, reportField(snp, 'hostData'), ctx));
  if (policy.familyId) out.push(allowedHexRule('snp.familyId', 'FAMILY_ID', policy.familyId, reportField(snp, 'familyId'), ctx));
  if (policy.imageId) out.push(allowedHexRule('snp.imageId', 'IMAGE_ID', policy.imageId, reportField(snp, 'imageId'), ctx));
  if (policy.idKeyDigests) out.push(allowedHexRule('snp.idKeyDigests', 'ID_KEY_DIGEST', policy.idKeyDigests, reportField(snp, 'idKeyDigest'), ctx));
  if (policy.requireAuthorKey === true) {
    // KEY_INFO bit 0 AUTHOR_KEY_EN (ABI 56860 rev 1.58, Table 23 at 48h): the ID key was
    // signed by an author key, whose digest AUTHOR_KEY_DIGEST then is (zeros otherwise).
    // The schema makes `authorKeyDigests` come with it, so that key is also a trusted one.
    const keyInfo = plainObject(reportField(snp, 'keyInfo'));
    out.push(requiredBit('snp.requireAuthorKey', 'KEY_INFO AUTHOR_KEY_EN (bit 0)', true, keyInfo?.authorKeyEn));
  }
  if (policy.authorKeyDigests) {
    out.push(allowedHexRule('snp.authorKeyDigests', 'AUTHOR_KEY_DIGEST', policy.authorKeyDigests, reportField(snp, 'authorKeyDigest'), ctx));
  }
  if (policy.minGuestSvn !== undefined) out.push(minimumRule('snp.minGuestSvn', 'GUEST_SVN', policy.minGuestSvn, reportField(snp, 'guestSvn')));
  if (policy.products) out.push(listRule('snp.products', 'product', policy.products, claims.platform.product));
  if (policy.signers) out.push(listRule('snp.signers', 'signer', policy.signers, claims.platform.signer));
  return out;
}
