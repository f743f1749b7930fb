// Claims built by hand from the real vectors' case.json (the decoded fields recorded with
// each case), shaped as verifier/result.ts Claims. The policy tests run on these, so each
// declarative field is checked against values real hardware produced.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { evaluateAppraisalPolicy, parseAppraisalPolicy } from '../../verifier/policy/index.ts';
import type { PolicyContext, PolicyDecision, RuleOutcome } from '../../verifier/policy/index.ts';
import type { Claims, VerificationResult } from '../../verifier/result.ts';

const FIXTURES = join(import.meta.dirname, '..', 'fixtures');

type Json = Record<string, unknown>;
const read = (tee: string, name: string): Json => JSON.parse(readFileSync(join(FIXTURES, tee, name, 'case.json'), 'utf8')) as Json;

const camel = (s: string): string => s.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());

function tcbComponents(t: Json): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(t)) if (typeof v === 'number') out[k] = v;
  return out;
}

export interface SnpCase {
  name: string;
  validAt: string;
  fields: Json;
  claims: Claims;
}

/** An SEV-SNP case's claims: `fields` of case.json, camelCased, policy decoded. */
export function snpCase(name: string): SnpCase {
  const c = read('snp', name);
  const f = c.fields as Json;
  const pol = f.policy_decoded as Json;
  const ext = (c.signer_cert_extensions ?? {}) as Json;
  const snp: Json = {};
  for (const [k, v] of Object.entries(f)) {
    if (k === 'policy_decoded' || k === 'policy') continue;
    snp[camel(k)] = v && typeof v === 'object' ? tcbComponents(v as Json) : v;
  }
  snp.policy = {
    raw: f.policy,
    abiMinor: pol.abi_minor,
    abiMajor: pol.abi_major,
    smt: pol.smt,
    migrateMa: pol.migrate_ma,
    debug: pol.debug,
    singleSocket: pol.single_socket,
  };
  // PLATFORM_INFO and KEY_INFO bits, and the firmware versions, read here from case.json's
  // hex and "major.minor.build" text (ABI 56860 rev 1.58, ATTESTATION_REPORT at 40h, 48h, 1E8h).
  const info = BigInt(f.platform_info as string);
  const bit = (n: number): boolean => ((info >> BigInt(n)) & 1n) === 1n;
  snp.platformInfo = {
    raw: f.platform_info,
    smtEnabled: bit(0),
    tsmeEnabled: bit(1),
    eccEnabled: bit(2),
    raplDisabled: bit(3),
    ciphertextHidingEnabled: bit(4),
    aliasCheckComplete: bit(5),
  };
  snp.keyInfo = { raw: f.key_info, authorKeyEn: f.author_key_en === 1, maskChipKey: f.mask_chip_key === 1, signingKey: f.signing_key };
  const version = (v: unknown): Json => {
    const [major, minor, build] = String(v).split('.').map(Number);
    return { major, minor, build };
  };
  snp.currentVersion = version(f.current_version);
  snp.committedVersion = version(f.committed_version);
  const claims: Claims = {
    tee: 'sev-snp',
    measurement: f.measurement as string,
    reportData: f.report_data as string,
    debug: pol.debug as boolean,
    tcb: { reported: tcbComponents(f.reported_tcb as Json) },
    platform: {
      product: c.product as string,
      chipId: f.chip_id as string,
      signer: c.signer as string,
      ...(typeof ext.cspID === 'string' ? { cspId: ext.cspID } : {}),
    },
    snp,
  };
  return { name, validAt: c.valid_at as string, fields: f, claims };
}

export interface IntelCase {
  name: string;
  verifyAt: string;
  report: Json;
  claims: Claims;
}

/** A TDX case's claims: the decoded TD report, and the TCB outcome case.json expects. */
export function tdxCase(name: string): IntelCase {
  const c = read('tdx', name);
  const r = c.report as Json;
  const expected = c.expected as Json;
  const level = ((c.tcb_evaluation as Json | undefined)?.matched_tdx_level ?? {}) as Json;
  const tdx: Json = {};
  for (const [k, v] of Object.entries(r)) if (!/^rtmr\d$/.test(k)) tdx[camel(k)] = v;
  tdx.rtmr = [r.rtmr0, r.rtmr1, r.rtmr2, r.rtmr3];
  // TDATTRIBUTES is little-endian: bit 0 (DEBUG) is the low bit of the first byte.
  const debug = (parseInt((r.td_attributes as string).slice(0, 2), 16) & 1) === 1;
  const claims: Claims = {
    tee: 'tdx',
    measurement: r.mr_td as string,
    reportData: r.report_data as string,
    debug,
    tcb: {
      // Some cases annotate the status ("UpToDate (TCB Info evaluation alone)"): the status is the first word.
      status: (expected.tcb_status as string).split(' ')[0] as string,
      advisoryIds: expected.advisory_ids as string[],
      ...(typeof level.tcbDate === 'string' ? { date: level.tcbDate } : {}),
      evaluationDataNumber: ((c.collateral as Json).tcb_info as Json).tcbEvaluationDataNumber as number,
    },
    platform: { fmspc: (c.pck as Json).fmspc as string, signer: 'PCK' },
    tdx,
  };
  return { name, verifyAt: c.verify_at as string, report: r, claims };
}

/** An SGX case's claims: the enclave report body and the TCB outcome case.json expects. */
export function sgxCase(name: string): IntelCase {
  const c = read('sgx', name);
  const r = c.report as Json;
  const expected = c.expected as Json;
  // ATTRIBUTES.FLAGS bit 1 is DEBUG (SGX SDM, SECS.ATTRIBUTES).
  const debug = (parseInt((r.attributes as string).slice(0, 2), 16) & 2) === 2;
  const claims: Claims = {
    tee: 'sgx',
    measurement: r.mrenclave as string,
    reportData: r.report_data as string,
    debug,
    tcb: { status: expected.tcb_status as string, advisoryIds: expected.advisory_ids as string[] },
    platform: { fmspc: (c.pck as Json).fmspc as string, signer: 'PCK' },
    sgx: { mrEnclave: r.mrenclave, mrSigner: r.mrsigner, isvProdId: r.isvprodid, isvSvn: r.isvsvn, attributes: r.attributes, cpuSvn: r.cpusvn },
  };
  return { name, verifyAt: c.verify_at as string, report: r, claims };
}

/** A verified result around hand-built claims (every check passed). */
export function verifiedResult(claims: Claims): VerificationResult {
  return {
    verified: true,
    tee: claims.tee,
    claims,
    checks: [{ id: `${claims.tee}.signature`, ok: true, detail: 'signature verified' }],
    warnings: [],
    collateral: [],
  };
}

/** Deep copy with changes, so each test mutates its own claims. */
export function withClaims(claims: Claims, change: (c: Claims & { snp: Json; tdx: Json; sgx: Json }) => void): Claims {
  const copy = structuredClone(claims) as Claims & { snp: Json; tdx: Json; sgx: Json };
  change(copy);
  return copy;
}

export const NO_REFS: PolicyContext = { referenceValues: {} };

/** Parse `doc` as a policy and evaluate it on a verified result around `claims`. */
export function evaluate(doc: unknown, claims: Claims, ctx: PolicyContext = NO_REFS): PolicyDecision {
  return evaluateAppraisalPolicy(parseAppraisalPolicy(doc), verifiedResult(claims), ctx);
}

/** The outcome of rule `id` (throws, listing the rules there are, when it is absent). */
export function rule(d: PolicyDecision, id: string): RuleOutcome {
  const r = d.rules.find((x) => x.id === id);
  if (!r) throw new Error(`no rule ${id} in ${d.rules.map((x) => x.id).join(', ')}`);
  return r;
}
