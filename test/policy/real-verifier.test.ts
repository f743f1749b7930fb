// The policy engine on the real verifiers' output: each vector verified by verifyEvidence
// at its own valid_at / verify_at, then appraised. These tie the claim names the policy
// reads to the ones the verifiers write.
import { describe, expect, it } from 'vitest';
import { DEFAULT_APPRAISAL_POLICY, evaluateAppraisalPolicy, parseAppraisalPolicy } from '../../verifier/policy/index.ts';
import type { PolicyDecision } from '../../verifier/policy/index.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { loadCase as loadSnp } from '../snp/cases.ts';
import { loadCase as loadIntel } from '../tdx/cases.ts';
import { sgxCase, snpCase, tdxCase, verifiedResult } from './fixture-claims.ts';

const defaultPolicy = parseAppraisalPolicy(DEFAULT_APPRAISAL_POLICY);
const NO_REFS = { referenceValues: {} };

async function verifySnp(name: string): Promise<VerificationResult> {
  const c = loadSnp(name);
  return verifyEvidence({ tee: 'sev-snp', report: c.report, certificates: c.certificates }, { at: c.at, crl: 'off' });
}
async function verifyIntel(tee: 'tdx' | 'sgx', name: string): Promise<VerificationResult> {
  const c = loadIntel(tee, name);
  return verifyEvidence({ tee, quote: c.quote, collateral: c.collateral }, { at: c.at });
}

const failed = (d: PolicyDecision) => d.rules.filter((r) => !r.ok).map((r) => r.id);

/** A policy that pins every SNP field of the case, from its case.json. */
function strictSnpPolicy(name: string) {
  const f = snpCase(name).fields as Record<string, unknown>;
  const reported = f.reported_tcb as Record<string, number>;
  const { raw: _raw, ...minTcb } = reported;
  const pol = f.policy_decoded as Record<string, boolean>;
  const info = BigInt(f.platform_info as string);
  const bit = (n: number): boolean => ((info >> BigInt(n)) & 1n) === 1n;
  const [major, minor, build] = String(f.committed_version).split('.').map(Number);
  return parseAppraisalPolicy({
    tees: ['sev-snp'],
    snp: {
      measurements: [f.measurement],
      allowDebug: pol.debug,
      allowSmt: pol.smt,
      minPolicyAbi: { major: pol.abi_major, minor: pol.abi_minor },
      platformInfo: {
        smtEnabled: bit(0),
        tsmeEnabled: bit(1),
        eccEnabled: bit(2),
        raplDisabled: bit(3),
        ciphertextHidingEnabled: bit(4),
        aliasCheckComplete: bit(5),
      },
      minFirmware: { major, minor, build },
      minTcb,
      vmpl: [f.vmpl],
      hostData: [f.host_data],
      familyId: [f.family_id],
      imageId: [f.image_id],
      idKeyDigests: [f.id_key_digest],
      authorKeyDigests: [f.author_key_digest],
      minGuestSvn: f.guest_svn,
      products: [snpCase(name).claims.platform.product],
      signers: [snpCase(name).claims.platform.signer],
    },
    rules: [{ name: 'report-version', expr: `claims.snp.version == ${String(f.version)}` }],
  });
}

describe('appraising the real SEV-SNP verifier output', () => {
  for (const name of ['turin-v5-mstav', 'milan-v3-gcp-oak', 'genoa-v3-mstav', 'milan-v3-vlek-aws-trustee', 'milan-v2-idblock-trustee']) {
    it(`${name}: a policy pinning every field affirms it, and agrees with the hand-built claims`, async () => {
      const result = await verifySnp(name);
      expect(result.verified, JSON.stringify(result.checks.filter((c) => !c.ok))).toBe(true);
      const policy = strictSnpPolicy(name);
      const real = evaluateAppraisalPolicy(policy, result, NO_REFS);
      expect(failed(real)).toEqual([]);
      expect(real.status).toBe('affirming');
      const byHand = evaluateAppraisalPolicy(policy, verifiedResult(snpCase(name).claims), NO_REFS);
      expect(real.rules.map((r) => [r.id, r.ok, r.found])).toEqual(byHand.rules.map((r) => [r.id, r.ok, r.found]));
      expect(evaluateAppraisalPolicy(defaultPolicy, result, NO_REFS).status).toBe('affirming');
    });
  }

  it('the default policy denies the debug guest of milan-v2-gosevguest', async () => {
    const d = evaluateAppraisalPolicy(defaultPolicy, await verifySnp('milan-v2-gosevguest'), NO_REFS);
    expect(d.status).toBe('contraindicated');
    expect(failed(d)).toEqual(['snp.allowDebug']);
  });

  it('a policy for another measurement denies, showing both values', async () => {
    const result = await verifySnp('milan-v3-gcp-oak');
    const other = snpCase('genoa-v3-mstav').claims.measurement;
    const d = evaluateAppraisalPolicy(parseAppraisalPolicy({ snp: { measurements: [other] } }), result, NO_REFS);
    expect(d.rules.find((r) => r.id === 'snp.measurements')).toMatchObject({ ok: false, expected: [other], found: snpCase('milan-v3-gcp-oak').claims.measurement });
    expect(d.trustworthinessVector.executables).toBe(96);
  });

  it('a forged report is contraindicated whatever the policy allows', async () => {
    const result = await verifySnp('neg-milan-report-bitflip-virtee');
    expect(result.verified).toBe(false);
    const d = evaluateAppraisalPolicy(parseAppraisalPolicy({ snp: { allowDebug: true } }), result, NO_REFS);
    expect(d.status).toBe('contraindicated');
    const ev = d.rules.find((r) => r.id === 'evidence.verified');
    expect(ev?.ok).toBe(false);
    expect(ev?.found).toEqual(result.checks.filter((c) => !c.ok).map((c) => c.id));
  });
});

describe('appraising the real TDX and SGX verifier output', () => {
  it('phala-b0c06f-v4-uptodate: default policy affirms; a pinned policy affirms and agrees with the hand-built claims', async () => {
    const result = await verifyIntel('tdx', 'phala-b0c06f-v4-uptodate');
    expect(result.verified).toBe(true);
    expect(evaluateAppraisalPolicy(defaultPolicy, result, NO_REFS).status).toBe('affirming');
    const c = tdxCase('phala-b0c06f-v4-uptodate');
    const rep = c.report as Record<string, string>;
    const policy = parseAppraisalPolicy({
      tdx: {
        mrtd: [rep.mr_td],
        rtmr: { 0: [rep.rtmr0], 1: [rep.rtmr1], 2: [rep.rtmr2], 3: [rep.rtmr3] },
        mrConfigId: [rep.mr_config_id],
        mrOwner: [rep.mr_owner],
        mrOwnerConfig: [rep.mr_owner_config],
        requireSeptVeDisable: true,
        forbiddenAdvisories: ['INTEL-SA-00960'],
        minTcbEvaluationDataNumber: 17,
      },
    });
    const real = evaluateAppraisalPolicy(policy, result, NO_REFS);
    expect(failed(real)).toEqual([]);
    const byHand = evaluateAppraisalPolicy(policy, verifiedResult(c.claims), NO_REFS);
    expect(real.rules.map((r) => [r.id, r.ok, r.found])).toEqual(byHand.rules.map((r) => [r.id, r.ok, r.found]));
  });

  it('zkdcap OutOfDate: the default policy denies; accepting it with a warning gives warning', async () => {
    const result = await verifyIntel('tdx', 'zkdcap-00806f050000-v4-outofdate');
    expect(result.verified).toBe(true);
    const d = evaluateAppraisalPolicy(defaultPolicy, result, NO_REFS);
    expect(d.status).toBe('contraindicated');
    expect(d.rules.find((r) => r.id === 'tdx.acceptedTcbStatuses')).toMatchObject({ ok: false, found: 'OutOfDate' });
    const lenient = parseAppraisalPolicy({ tdx: { warnTcbStatuses: ['OutOfDate'] } });
    expect(evaluateAppraisalPolicy(lenient, result, NO_REFS).status).toBe('warning');
    const strict = parseAppraisalPolicy({ tdx: { acceptedTcbStatuses: ['OutOfDate'], forbiddenAdvisories: ['INTEL-SA-00986'] } });
    expect(failed(evaluateAppraisalPolicy(strict, result, NO_REFS))).toEqual(['tdx.forbiddenAdvisories']);
  });

  it('gotdx-90c06f-v5 (TD 1.5): MRSERVICETD from the real claims', async () => {
    const result = await verifyIntel('tdx', 'gotdx-90c06f-v5-mixed-collateral');
    const v = tdxCase('gotdx-90c06f-v5-mixed-collateral').report.mr_service_td as string;
    const d = evaluateAppraisalPolicy(parseAppraisalPolicy({ tdx: { mrServiceTd: [v] } }), result, NO_REFS);
    expect(d.rules.find((r) => r.id === 'tdx.mrServiceTd')).toMatchObject({ ok: true, found: v });
    // Its QE Identity and CRLs are expired at that time: not verified, so contraindicated anyway.
    expect(result.verified).toBe(false);
    expect(d.status).toBe('contraindicated');
  });

  it('SGX automata SWHardeningNeeded: denied by default, pinned enclave accepted with a warning', async () => {
    const result = await verifyIntel('sgx', 'sgx-automata-00606a000000-v3-swhardening');
    expect(result.verified).toBe(true);
    expect(evaluateAppraisalPolicy(defaultPolicy, result, NO_REFS).status).toBe('contraindicated');
    const c = sgxCase('sgx-automata-00606a000000-v3-swhardening');
    const rep = c.report as Record<string, unknown>;
    const policy = parseAppraisalPolicy({
      sgx: { mrenclave: [rep.mrenclave], mrsigner: [rep.mrsigner], isvProdId: [rep.isvprodid], minIsvSvn: rep.isvsvn, warnTcbStatuses: ['SWHardeningNeeded'] },
    });
    const d = evaluateAppraisalPolicy(policy, result, NO_REFS);
    expect(d.status).toBe('warning');
    expect(failed(d)).toEqual(['sgx.warnTcbStatuses']);
  });
});
