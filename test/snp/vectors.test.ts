// Every real vector of test/fixtures/snp verifies or is rejected as its case.json says, at
// its valid_at, with the checks that should fail named; and the decoded report fields and
// certificate extensions equal what case.json records.

import { describe, expect, it } from 'vitest';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { failedChecks } from '../../verifier/result.ts';
import { parseReport } from '../../verifier/snp/abi/report.ts';
import { amdExtensions } from '../../verifier/snp/extensions.ts';
import { snpVcekRequest, verifySnpReport } from '../../verifier/snp/verify-evidence.ts';
import { parseCertificateDer } from '../../verifier/x509/certificate.ts';
import { allCases, type SnpCase } from './cases.ts';

const cases = allCases();

/** For each negative vector: the checks that must fail (others may fail too). */
const MUST_FAIL: Record<string, string[]> = {
  'neg-milan-ark-is-ask-mstav': ['snp.chain.ark-pinned'],
  'neg-milan-forged-vcek-trustee': ['snp.chain.signer-signed-by-intermediate', 'snp.report.signature', 'snp.binding.tcb', 'snp.binding.hwid'],
  'neg-milan-report-bitflip-virtee': ['snp.report.signature'],
  'neg-milan-report-imageid-trustee': ['snp.report.signature'],
  'neg-milan-reported-tcb-trustee': ['snp.report.signature', 'snp.binding.tcb'],
  'neg-milan-vcek-corrupt-virtee': ['snp.chain.signer-signed-by-intermediate'],
  // The Genoa ASK and ARK make the chain Genoa's; the Milan report and VCEK claim Milan.
  'neg-milan-vcek-genoa-ask-mstav': ['snp.chain.anchor-product', 'snp.chain.signer-signed-by-intermediate'],
  'neg-milan-vcek-via-asvk-trustee': ['snp.chain.intermediate-kind', 'snp.chain.signer-signed-by-intermediate'],
  'neg-milan-vlek-key-mismatch-constellation': ['snp.report.signature'],
  'neg-milan-vlek-sig-r-byte-constellation': ['snp.report.signature'],
};
/** Checks the vectors' own notes say still pass, so the failure is pinned on the right one. */
const MUST_PASS: Record<string, string[]> = {
  'neg-milan-vcek-corrupt-virtee': ['snp.report.signature', 'snp.binding.tcb', 'snp.binding.hwid'],
  'neg-milan-vlek-key-mismatch-constellation': ['snp.chain.signer-signed-by-intermediate', 'snp.binding.tcb'],
  'neg-milan-ark-is-ask-mstav': ['snp.report.signature', 'snp.chain.intermediate-signed-by-ark'],
  'neg-milan-vcek-genoa-ask-mstav': ['snp.chain.intermediate-signed-by-ark', 'snp.chain.ark-pinned', 'snp.chain.intermediate-kind'],
};

function ids(c: SnpCase, ok: boolean): string[] {
  const r = verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at });
  return r.checks.filter((x) => x.ok === ok).map((x) => x.id);
}

const hex = (n: number): string => `0x${n.toString(16)}`;

describe('SEV-SNP vectors at their valid_at', () => {
  it('covers every case directory, valid and invalid', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
    expect(cases.filter((c) => c.valid).length).toBe(14);
    for (const c of cases.filter((x) => !x.valid && x.name !== 'neg-milan-truncated-report-constellation')) {
      expect(MUST_FAIL[c.name], `${c.name} has expectations`).toBeDefined();
    }
  });

  for (const c of cases.filter((x) => x.valid)) {
    it(`${c.name} verifies (${c.meta.signer}, report v${c.meta.report_version})`, async () => {
      const result = verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at });
      expect(failedChecks(result)).toEqual([]);
      expect(result.verified).toBe(true);
      expect(result.product).toBe(c.meta.product);
      expect(result.signer).toBe(c.meta.signer);
      expect(result.claims?.platform.product).toBe(c.meta.product);
      expect(result.claims?.simulated).toBeUndefined();
      // The evidence's own chain must be the one checked: ARK compared, intermediate checked.
      expect(result.checks.map((x) => x.id)).toEqual(expect.arrayContaining(['snp.chain.ark-pinned', 'snp.chain.intermediate-kind']));
      // The same through the one entry point, and with no chain supplied (the embedded ASK/ASVK).
      const viaEntry = await verifyEvidence({ tee: 'sev-snp', report: c.report, certificates: c.certificates }, { at: c.at });
      expect(viaEntry.verified).toBe(true);
      const signerOnly = c.meta.signer === 'VCEK' ? { vcek: c.signer } : { vlek: c.signer };
      const embedded = await verifyEvidence({ tee: 'sev-snp', report: c.report, certificates: signerOnly }, { at: c.at });
      expect(failedChecks(embedded)).toEqual([]);
      expect(embedded.collateral.find((u) => u.kind === (c.meta.signer === 'VCEK' ? 'ask' : 'asvk'))?.source).toBe('embedded');
    });
  }

  for (const c of cases.filter((x) => !x.valid && MUST_FAIL[x.name])) {
    it(`${c.name} is rejected: ${c.meta.expect}`, () => {
      const result = verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at });
      expect(result.verified).toBe(false);
      expect(ids(c, false)).toEqual(expect.arrayContaining(MUST_FAIL[c.name]!));
      if (MUST_PASS[c.name]) expect(ids(c, true)).toEqual(expect.arrayContaining(MUST_PASS[c.name]!));
      for (const f of failedChecks(result)) {
        expect(f.detail.length).toBeGreaterThan(20);
        expect(f.expected ?? f.found).toBeDefined();
      }
    });
  }

  it('neg-milan-truncated-report-constellation is refused as malformed', () => {
    const c = cases.find((x) => x.name === 'neg-milan-truncated-report-constellation')!;
    expect(() => verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at })).toThrowError(
      expect.objectContaining({ name: 'EvidenceFormatError', code: 'snp_report_length' }) as Error,
    );
    expect(() => parseReport(c.report)).toThrow(EvidenceFormatError);
  });
});

describe('decoded fields equal case.json', () => {
  for (const c of cases.filter((x) => x.meta.fields)) {
    it(c.name, () => {
      const f = c.meta.fields!;
      const result = verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at });
      const snp = result.claims!.snp as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
      const version = f.version as number;
      expect(snp.version).toBe(version);
      expect(snp.guestSvn).toBe(f.guest_svn);
      expect(snp.policy.raw).toBe(f.policy);
      for (const k of ['family_id', 'image_id', 'report_data', 'measurement', 'host_data', 'id_key_digest', 'author_key_digest', 'report_id', 'report_id_ma', 'chip_id']) {
        const camel = k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
        expect(snp[camel], k).toBe(f[k]);
      }
      expect(snp.vmpl).toBe(f.vmpl);
      expect(snp.signatureAlgo).toBe(f.signature_algo);
      expect(snp.platformInfo.raw).toBe(f.platform_info);
      expect(snp.keyInfo.raw).toBe(f.key_info);
      expect(Number(snp.keyInfo.authorKeyEn)).toBe(f.author_key_en);
      expect(Number(snp.keyInfo.maskChipKey)).toBe(f.mask_chip_key);
      expect(snp.keyInfo.signingKey).toBe(f.signing_key);
      const fw = (v: { major: number; minor: number; build: number }): string => `${v.major}.${v.minor}.${v.build}`;
      expect(fw(snp.currentVersion)).toBe(f.current_version);
      expect(fw(snp.committedVersion)).toBe(f.committed_version);
      for (const k of ['current_tcb', 'reported_tcb', 'committed_tcb', 'launch_tcb']) {
        const camel = k.replace(/_([a-z])/g, (_, ch: string) => ch.toUpperCase());
        expect(snp[camel], k).toEqual(f[k]);
      }
      if (version >= 3) {
        expect(hex(snp.cpuidFamId)).toBe(f.cpuid_fam_id);
        expect(hex(snp.cpuidModId)).toBe(f.cpuid_mod_id);
        expect(hex(snp.cpuidStep)).toBe(f.cpuid_step);
      } else {
        // Version 2 has no CPUID fields: the bytes are reserved (and zero, as case.json records).
        expect(snp.cpuidFamId).toBeUndefined();
        expect(f.cpuid_fam_id).toBe('0x0');
      }
      if (version >= 5) {
        expect(snp.launchMitVector).toBe(f.launch_mit_vector);
        expect(snp.currentMitVector).toBe(f.current_mit_vector);
      } else {
        expect(snp.launchMitVector).toBeUndefined();
        expect(f.launch_mit_vector).toBe('0x0');
      }
      const pd = f.policy_decoded as Record<string, unknown>;
      expect({
        abi_minor: snp.policy.abiMinor,
        abi_major: snp.policy.abiMajor,
        smt: snp.policy.smt,
        reserved_bit17: true,
        migrate_ma: snp.policy.migrateMa,
        debug: snp.policy.debug,
        single_socket: snp.policy.singleSocket,
      }).toEqual(pd);
      expect(result.claims!.debug).toBe(pd.debug);
      expect(result.claims!.measurement).toBe(f.measurement);
      expect(result.claims!.reportData).toBe(f.report_data);
      const { raw: _raw, ...reported } = f.reported_tcb as Record<string, unknown>;
      expect(result.claims!.tcb.reported).toEqual(reported);
    });
  }

  for (const c of cases.filter((x) => x.meta.signer_cert_extensions)) {
    it(`${c.name}: signer certificate extensions`, () => {
      const want = { ...c.meta.signer_cert_extensions! };
      const ext = amdExtensions(parseCertificateDer(c.signer));
      // trustee's forged VCEK wraps hwID in a second OCTET STRING (04 40 ...); case.json records the wrapper.
      if (typeof want.hwID === 'string' && want.hwID.length === 132 && want.hwID.startsWith('0440')) want.hwID = want.hwID.slice(4);
      expect(ext).toEqual(want);
    });
  }
});

describe('claims', () => {
  it('a VLEK carries its cspID as platform.cspId, and has no hwID binding to check', () => {
    const c = cases.find((x) => x.name === 'milan-v3-vlek-aws-trustee')!;
    const r = verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at });
    expect(r.claims?.platform).toMatchObject({ product: 'Milan', signer: 'VLEK', cspId: 'CN=cc-us-east-2.amazonaws.com' });
    expect(r.checks.find((x) => x.id === 'snp.binding.hwid')).toBeUndefined();
  });

  it('the DEBUG policy bit of milan-v2-gosevguest is a claim (policy judges it, not the verifier)', () => {
    const c = cases.find((x) => x.name === 'milan-v2-gosevguest')!;
    const r = verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at });
    expect(r.verified).toBe(true);
    expect(r.claims?.debug).toBe(true);
  });

  it('Turin decodes its TCB with the FMC layout and flags the platform bit it does not name', () => {
    const c = cases.find((x) => x.name === 'turin-v5-mstav')!;
    const r = verifySnpReport(c.report, { certificates: c.certificates }, { at: c.at });
    expect(r.claims?.tcb.reported).toEqual({ fmc: 1, bootloader: 1, tee: 1, snp: 4, microcode: 81 });
    expect(r.warnings.some((w) => w.includes('PLATFORM_INFO'))).toBe(true);
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // JSON-safe throughout
  });

  it('snpVcekRequest gives what AMD KDS needs (8-byte hwID on Turin)', () => {
    const turin = cases.find((x) => x.name === 'turin-v5-mstav')!;
    expect(snpVcekRequest(turin.report)).toEqual({
      product: 'Turin',
      hwId: '59790fb1c39f35c1',
      tcb: { fmc: 1, bootloader: 1, tee: 1, snp: 4, microcode: 81 },
    });
    const genoa = cases.find((x) => x.name === 'genoa-v3-mstav')!;
    const req = snpVcekRequest(genoa.report);
    expect(req.product).toBe('Genoa');
    expect(req.hwId).toBe(genoa.meta.fields!.chip_id);
    const v2 = cases.find((x) => x.name === 'milan-v2-virtee')!;
    expect(snpVcekRequest(v2.report).product).toBeUndefined();
  });
});
