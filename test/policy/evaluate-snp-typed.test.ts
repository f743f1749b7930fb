// The typed SEV-SNP fields that used to need CEL (issue 16 item 1): minimum guest policy
// ABI, SINGLE_SOCKET, PLATFORM_INFO bits, minimum firmware version, AUTHOR_KEY_EN. Each is
// checked on claims of the real vectors (hand-built from case.json) and, where no real
// vector has the bit the other way, on simulator-built reports through the real verifier.
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateAppraisalPolicy, parseAppraisalPolicy, policyHash, PolicyValidationError } from '../../verifier/policy/index.ts';
import type { RuleOutcome } from '../../verifier/policy/index.ts';
import type { Claims, VerificationResult } from '../../verifier/result.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport, type SnpReportOptions } from '../../verifier/testing/snp-report-builder.ts';
import { loadCase as loadSnpCase } from '../snp/cases.ts';
import { evaluate, NO_REFS, rule, snpCase, withClaims } from './fixture-claims.ts';

const turin = snpCase('turin-v5-mstav'); // policy 0x3001f (ABI 0.31), PLATFORM_INFO 0x65, firmware 1.55.65
const oak = snpCase('milan-v3-gcp-oak'); // policy 0x30000 (ABI 0.0), PLATFORM_INFO 0x25 (SMT, ECC, alias check)
const cvmtool = snpCase('milan-v2-cvmtool'); // PLATFORM_INFO 0x1 (SMT only)
const azureGenoa = snpCase('genoa-v3-azure-trustee'); // PLATFORM_INFO 0x24 (no SMT)
const vlekAws = snpCase('milan-v3-vlek-aws-trustee'); // PLATFORM_INFO 0x27 (TSME too)
const provisional = snpCase('milan-v2-vlek-aws-constellation'); // CURRENT 1.55.20, COMMITTED 1.55.18

function snpRule(section: Record<string, unknown>, claims: Claims, id: string): RuleOutcome {
  return rule(evaluate({ snp: section }, claims), id);
}

const DIGEST_A = 'a1'.repeat(48);

describe('typed SEV-SNP fields on real claims', () => {
  it('fixtures are what their case.json says', () => {
    expect(turin.fields).toMatchObject({ policy: '0x3001f', platform_info: '0x65', current_version: '1.55.65' });
    expect(oak.fields).toMatchObject({ policy: '0x30000', platform_info: '0x25' });
    expect(provisional.fields).toMatchObject({ current_version: '1.55.20', committed_version: '1.55.18' });
  });

  it('minPolicyAbi: the guest policy ABI_MAJOR.ABI_MINOR is at least the minimum', () => {
    expect(snpRule({ minPolicyAbi: { major: 0, minor: 31 } }, turin.claims, 'snp.minPolicyAbi')).toMatchObject({
      ok: true,
      expected: { min: { major: 0, minor: 31 } },
      found: { major: 0, minor: 31 },
    });
    const low = snpRule({ minPolicyAbi: { major: 0, minor: 32 } }, turin.claims, 'snp.minPolicyAbi');
    expect(low).toMatchObject({ ok: false, effect: 'deny', expected: { min: { major: 0, minor: 32 } }, found: { major: 0, minor: 31 } });
    expect(low.detail).toBe('guest policy ABI 0.31 is below the minimum 0.32');
    // The major number weighs more than any minor.
    expect(snpRule({ minPolicyAbi: { major: 1, minor: 0 } }, turin.claims, 'snp.minPolicyAbi')).toMatchObject({ ok: false });
    expect(snpRule({ minPolicyAbi: { major: 0, minor: 1 } }, oak.claims, 'snp.minPolicyAbi')).toMatchObject({ ok: false, found: { major: 0, minor: 0 } });
    expect(evaluate(decisionFree, oak.claims).rules.some((r) => r.id === 'snp.minPolicyAbi')).toBe(false);
  });

  it('requireSingleSocket: a guest policy without SINGLE_SOCKET is denied', () => {
    const r = snpRule({ requireSingleSocket: true }, turin.claims, 'snp.requireSingleSocket');
    expect(r).toMatchObject({ ok: false, effect: 'deny', expected: true, found: false });
    expect(r.detail).toMatch(/SINGLE_SOCKET \(bit 20\) is clear; the policy requires it set/);
    const single = withClaims(turin.claims, (c) => {
      (c.snp.policy as Record<string, unknown>).singleSocket = true;
    });
    expect(snpRule({ requireSingleSocket: true }, single, 'snp.requireSingleSocket')).toMatchObject({ ok: true, found: true });
    // false asks for nothing: no rule that cannot fail.
    expect(evaluate({ snp: { requireSingleSocket: false } }, turin.claims).rules.some((r2) => r2.id === 'snp.requireSingleSocket')).toBe(false);
  });

  it('platformInfo: each named bit must be what the policy says', () => {
    expect(snpRule({ platformInfo: { smtEnabled: false } }, oak.claims, 'snp.platformInfo.smtEnabled')).toMatchObject({ ok: false, expected: false, found: true });
    expect(snpRule({ platformInfo: { smtEnabled: false } }, azureGenoa.claims, 'snp.platformInfo.smtEnabled')).toMatchObject({ ok: true, found: false });
    expect(snpRule({ platformInfo: { tsmeEnabled: false } }, oak.claims, 'snp.platformInfo.tsmeEnabled')).toMatchObject({ ok: true, found: false });
    expect(snpRule({ platformInfo: { tsmeEnabled: false } }, vlekAws.claims, 'snp.platformInfo.tsmeEnabled')).toMatchObject({ ok: false, found: true });
    expect(snpRule({ platformInfo: { eccEnabled: true } }, oak.claims, 'snp.platformInfo.eccEnabled')).toMatchObject({ ok: true });
    expect(snpRule({ platformInfo: { eccEnabled: true } }, cvmtool.claims, 'snp.platformInfo.eccEnabled')).toMatchObject({ ok: false, expected: true, found: false });
    const alias = snpRule({ platformInfo: { aliasCheckComplete: true } }, cvmtool.claims, 'snp.platformInfo.aliasCheckComplete');
    expect(alias).toMatchObject({ ok: false, expected: true, found: false });
    expect(alias.detail).toMatch(/ALIAS_CHECK_COMPLETE \(bit 5\) is clear/);
    expect(snpRule({ platformInfo: { aliasCheckComplete: true } }, turin.claims, 'snp.platformInfo.aliasCheckComplete')).toMatchObject({ ok: true });
    expect(snpRule({ platformInfo: { raplDisabled: true } }, turin.claims, 'snp.platformInfo.raplDisabled')).toMatchObject({ ok: false, found: false });
    expect(snpRule({ platformInfo: { ciphertextHidingEnabled: true } }, turin.claims, 'snp.platformInfo.ciphertextHidingEnabled')).toMatchObject({ ok: false, found: false });
    // One rule per named bit, none for the others; the platform's configuration is a `hardware` matter.
    const d = evaluate({ snp: { platformInfo: { smtEnabled: true, eccEnabled: true } } }, oak.claims);
    expect(d.rules.filter((r) => r.id.startsWith('snp.platformInfo.')).map((r) => r.id)).toEqual(['snp.platformInfo.smtEnabled', 'snp.platformInfo.eccEnabled']);
    expect(evaluate({ snp: { platformInfo: { smtEnabled: false } } }, oak.claims).trustworthinessVector.hardware).toBe(96);
  });

  it('minFirmware: CURRENT and COMMITTED major.minor.build, compared in that order', () => {
    const ok = snpRule({ minFirmware: { major: 1, minor: 55, build: 18 } }, provisional.claims, 'snp.minFirmware');
    expect(ok).toMatchObject({
      ok: true,
      expected: { min: { major: 1, minor: 55, build: 18 } },
      found: { current: { major: 1, minor: 55, build: 20 }, committed: { major: 1, minor: 55, build: 18 } },
    });
    // Provisional firmware: CURRENT meets the minimum, COMMITTED (what it can roll back to) does not.
    const low = snpRule({ minFirmware: { major: 1, minor: 55, build: 19 } }, provisional.claims, 'snp.minFirmware');
    expect(low).toMatchObject({ ok: false, effect: 'deny' });
    expect(low.detail).toBe('the firmware is below the minimum: COMMITTED 1.55.18 < 1.55.19');
    expect(snpRule({ minFirmware: { major: 1, minor: 55, build: 66 } }, turin.claims, 'snp.minFirmware').detail).toBe(
      'the firmware is below the minimum: CURRENT 1.55.65 < 1.55.66, COMMITTED 1.55.65 < 1.55.66',
    );
    expect(snpRule({ minFirmware: { major: 1, minor: 56, build: 0 } }, turin.claims, 'snp.minFirmware')).toMatchObject({ ok: false });
    // A build number only orders releases of one API version: 1.55.65 is above 1.54.99.
    expect(snpRule({ minFirmware: { major: 1, minor: 54, build: 99 } }, turin.claims, 'snp.minFirmware')).toMatchObject({ ok: true });
  });

  it('requireAuthorKey: KEY_INFO AUTHOR_KEY_EN must be set, and needs authorKeyDigests', () => {
    const r = snpRule({ requireAuthorKey: true, authorKeyDigests: [DIGEST_A] }, turin.claims, 'snp.requireAuthorKey');
    expect(r).toMatchObject({ ok: false, effect: 'deny', expected: true, found: false });
    expect(r.detail).toMatch(/AUTHOR_KEY_EN \(bit 0\) is clear/);
    const withKey = withClaims(turin.claims, (c) => {
      (c.snp.keyInfo as Record<string, unknown>).authorKeyEn = true;
      c.snp.authorKeyDigest = DIGEST_A;
    });
    const d = evaluate({ snp: { requireAuthorKey: true, authorKeyDigests: [DIGEST_A] } }, withKey);
    expect(rule(d, 'snp.requireAuthorKey')).toMatchObject({ ok: true, found: true });
    expect(rule(d, 'snp.authorKeyDigests')).toMatchObject({ ok: true, found: DIGEST_A });
    expect(d.trustworthinessVector.executables).toBe(2);
    expect(() => parseAppraisalPolicy({ snp: { requireAuthorKey: true } })).toThrow(PolicyValidationError);
    try {
      parseAppraisalPolicy({ snp: { requireAuthorKey: true } });
    } catch (e) {
      expect((e as PolicyValidationError).issues).toEqual([{ path: 'snp.requireAuthorKey', message: expect.stringMatching(/needs authorKeyDigests/) as unknown }]);
    }
  });

  it('claims without the fields fail closed, with found null', () => {
    const bare = withClaims(turin.claims, (c) => {
      delete c.snp.platformInfo;
      delete c.snp.keyInfo;
      delete c.snp.committedVersion;
      delete (c.snp.policy as Record<string, unknown>).abiMinor;
      delete (c.snp.policy as Record<string, unknown>).singleSocket;
    });
    const d = evaluate(
      {
        snp: {
          minPolicyAbi: { major: 0, minor: 0 },
          requireSingleSocket: true,
          platformInfo: { smtEnabled: true },
          minFirmware: { major: 0, minor: 0, build: 0 },
          requireAuthorKey: true,
          authorKeyDigests: [DIGEST_A],
        },
      },
      bare,
    );
    for (const id of ['snp.minPolicyAbi', 'snp.requireSingleSocket', 'snp.platformInfo.smtEnabled', 'snp.requireAuthorKey']) {
      expect(rule(d, id), id).toMatchObject({ ok: false, found: null });
    }
    expect(rule(d, 'snp.minFirmware')).toMatchObject({ ok: false, found: { current: { major: 1, minor: 55, build: 65 }, committed: null } });
    expect(rule(d, 'snp.minFirmware').detail).toMatch(/COMMITTED firmware version is not in the claims/);
  });
});

const decisionFree = { snp: {} };

describe('typed SEV-SNP fields on the real verifier output', () => {
  it('milan-v2-vlek-aws-constellation (provisional firmware): minFirmware, and the README CEL for committed == current', async () => {
    const c = loadSnpCase('milan-v2-vlek-aws-constellation');
    const result = await verifyEvidence({ tee: 'sev-snp', report: c.report, certificates: c.certificates }, { at: c.at, crl: 'off' });
    expect(result.verified, JSON.stringify(result.checks.filter((x) => !x.ok))).toBe(true);
    const d = evaluateAppraisalPolicy(
      parseAppraisalPolicy({
        snp: { minFirmware: { major: 1, minor: 55, build: 20 }, platformInfo: { smtEnabled: true, tsmeEnabled: true, aliasCheckComplete: false } },
        rules: [{ name: 'committed-is-current', expr: 'claims.snp.committedTcb.raw == claims.snp.currentTcb.raw' }],
      }),
      result,
      NO_REFS,
    );
    expect(rule(d, 'snp.minFirmware')).toMatchObject({
      ok: false,
      found: { current: { major: 1, minor: 55, build: 20 }, committed: { major: 1, minor: 55, build: 18 } },
    });
    expect(d.rules.filter((r) => r.id.startsWith('snp.platformInfo.')).every((r) => r.ok)).toBe(true);
    expect(rule(d, 'rules.committed-is-current')).toMatchObject({ ok: false });
  });
});

describe('typed SEV-SNP fields: the schema', () => {
  const issues = (doc: unknown): string[] => {
    try {
      parseAppraisalPolicy(doc);
      return [];
    } catch (e) {
      return (e as PolicyValidationError).issues.map((i) => i.path);
    }
  };

  it('rejects malformed values at their path', () => {
    expect(issues({ snp: { platformInfo: {} } })).toEqual(['snp.platformInfo']);
    expect(issues({ snp: { platformInfo: { smtEnable: false } } })).toEqual(['snp.platformInfo.smtEnable']);
    expect(issues({ snp: { platformInfo: { eccEnabled: 'yes' } } })).toEqual(['snp.platformInfo.eccEnabled']);
    expect(issues({ snp: { minFirmware: { major: 1, minor: 55, build: 256 } } })).toEqual(['snp.minFirmware.build']);
    expect(issues({ snp: { minFirmware: { major: 1, minor: 55 } } })).toEqual(['snp.minFirmware.build']);
    expect(issues({ snp: { minPolicyAbi: { major: 1, minor: 51, build: 0 } } })).toEqual(['snp.minPolicyAbi.build']);
    expect(issues({ snp: { requireSingleSocket: 1 } })).toEqual(['snp.requireSingleSocket']);
  });

  it('a policy without the new fields keeps the hash it had before them', () => {
    // Hash computed by the schema before these fields existed (main at bd6b9d8).
    const before = parseAppraisalPolicy({ snp: { allowSmt: false, minTcb: { snp: 22 }, vmpl: [0], measurements: ['AB'.repeat(48)] } });
    expect(policyHash(before)).toBe(PINNED_HASH);
    // A new field, when set, is part of the document and so of the hash.
    const after = parseAppraisalPolicy({ snp: { allowSmt: false, minTcb: { snp: 22 }, vmpl: [0], measurements: ['AB'.repeat(48)], requireSingleSocket: false } });
    expect(policyHash(after)).not.toBe(PINNED_HASH);
  });
});

const PINNED_HASH = '85d8de3b6e9f2741b50581e7bf2faa27bc9affecd3860dff28d8b3a356d31dd9';

describe('typed SEV-SNP fields on simulator-built reports, through the real verifier', () => {
  const NOW = new Date('2026-03-01T00:00:00Z');
  let chain: SimulatorChain;

  beforeAll(async () => {
    chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  });

  async function verified(options: SnpReportOptions): Promise<VerificationResult> {
    const { report } = buildSnpReport(chain, options);
    const result = await verifyEvidence(
      { tee: 'sev-snp', report },
      { at: NOW, anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain), crl: 'off' },
    );
    expect(result.verified, JSON.stringify(result.checks.filter((c) => !c.ok))).toBe(true);
    return result;
  }

  const appraise = (snp: Record<string, unknown>, result: VerificationResult) => evaluateAppraisalPolicy(parseAppraisalPolicy({ snp }), result, NO_REFS);

  it('SINGLE_SOCKET and the guest policy ABI, set and clear', async () => {
    const single = await verified({ policy: { singleSocket: true, abiMajor: 1, abiMinor: 51 } });
    const spread = await verified({ policy: { singleSocket: false, abiMajor: 1, abiMinor: 50 } });
    const policy = { requireSingleSocket: true, minPolicyAbi: { major: 1, minor: 51 } };
    const a = appraise(policy, single);
    expect(rule(a, 'snp.requireSingleSocket')).toMatchObject({ ok: true, found: true });
    expect(rule(a, 'snp.minPolicyAbi')).toMatchObject({ ok: true, found: { major: 1, minor: 51 } });
    const b = appraise(policy, spread);
    expect(rule(b, 'snp.requireSingleSocket')).toMatchObject({ ok: false, expected: true, found: false });
    expect(rule(b, 'snp.minPolicyAbi')).toMatchObject({ ok: false, found: { major: 1, minor: 50 } });
    expect(b.status).toBe('contraindicated');
  });

  it('PLATFORM_INFO RAPL_DIS and CIPHERTEXT_HIDING_DRAM_EN, which no real vector sets', async () => {
    const hardened = await verified({ platformInfo: 0x3cn }); // ECC, RAPL_DIS, ciphertext hiding, alias check; no SMT, no TSME
    const plain = await verified({ platformInfo: 0x3n });
    const policy = { platformInfo: { smtEnabled: false, tsmeEnabled: false, eccEnabled: true, raplDisabled: true, ciphertextHidingEnabled: true, aliasCheckComplete: true } };
    const a = appraise(policy, hardened);
    expect(a.rules.filter((r) => r.id.startsWith('snp.platformInfo.') && !r.ok)).toEqual([]);
    expect(a.status).toBe('affirming');
    const b = appraise(policy, plain);
    expect(b.rules.filter((r) => r.id.startsWith('snp.platformInfo.') && !r.ok).map((r) => [r.id, r.expected, r.found])).toEqual([
      ['snp.platformInfo.smtEnabled', false, true],
      ['snp.platformInfo.tsmeEnabled', false, true],
      ['snp.platformInfo.eccEnabled', true, false],
      ['snp.platformInfo.raplDisabled', true, false],
      ['snp.platformInfo.ciphertextHidingEnabled', true, false],
      ['snp.platformInfo.aliasCheckComplete', true, false],
    ]);
  });

  it('provisional firmware: COMMITTED below the minimum is denied though CURRENT meets it', async () => {
    const r = await verified({ firmware: { major: 1, minor: 57, build: 2 }, committedFirmware: { major: 1, minor: 55, build: 29 } });
    const d = appraise({ minFirmware: { major: 1, minor: 57, build: 0 } }, r);
    expect(rule(d, 'snp.minFirmware')).toMatchObject({
      ok: false,
      found: { current: { major: 1, minor: 57, build: 2 }, committed: { major: 1, minor: 55, build: 29 } },
    });
    expect(rule(appraise({ minFirmware: { major: 1, minor: 55, build: 29 } }, r), 'snp.minFirmware')).toMatchObject({ ok: true });
  });

  it('AUTHOR_KEY_EN with a trusted author key digest', async () => {
    const digest = Buffer.from(DIGEST_A, 'hex');
    const signed = await verified({ authorKeyEn: true, authorKeyDigest: digest, idKeyDigest: Buffer.alloc(48, 0x11) });
    const unsigned = await verified({});
    const policy = { requireAuthorKey: true, authorKeyDigests: [DIGEST_A] };
    const a = appraise(policy, signed);
    expect(rule(a, 'snp.requireAuthorKey')).toMatchObject({ ok: true, found: true });
    expect(rule(a, 'snp.authorKeyDigests')).toMatchObject({ ok: true });
    const b = appraise(policy, unsigned);
    expect(rule(b, 'snp.requireAuthorKey')).toMatchObject({ ok: false, expected: true, found: false });
    expect(rule(b, 'snp.authorKeyDigests')).toMatchObject({ ok: false });
  });
});
