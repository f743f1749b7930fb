// The trustee Azure vTPM vectors (test/fixtures/az-*-vtpm/trustee, case.json) verified at the
// pinned time against the production AMD roots, and the negatives of trustee's own tests.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseHclReport } from '../../verifier/azure/abi/hcl-report.ts';
import { azureEvidenceFromJson } from '../../verifier/azure/evidence-json.ts';
import { checkVtpm } from '../../verifier/azure/verify-vtpm.ts';
import { CollateralUnavailableError } from '../../verifier/errors.ts';
import type { AzSnpVtpmEvidence, AzureEvidence } from '../../verifier/evidence.ts';
import { failedChecks } from '../../verifier/result.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';

const dir = (tee: string) => new URL(`../fixtures/az-${tee}-vtpm/trustee/`, import.meta.url);
const json = (tee: string, f: string): unknown => JSON.parse(readFileSync(new URL(f, dir(tee)), 'utf8'));
interface SnpCase { expected_nonce_hex: string; pcr00: string; product?: string }
const snpCase = json('snp', 'case.json') as { valid_at: string; cases: Record<string, SnpCase> };
const AT = new Date(snpCase.valid_at);
const SNP_FILES = ['evidence-v0.json', 'evidence-v2.json', 'evidence-genoa.json'];

const snp = (f: string) => azureEvidenceFromJson('az-snp-vtpm', json('snp', f)) as AzSnpVtpmEvidence;
const nonceOf = (f: string) => Buffer.from(snpCase.cases[f]!.expected_nonce_hex, 'hex');
const failedIds = async (e: AzureEvidence, nonce: Uint8Array) => failedChecks(await verifyEvidence(e, { at: AT, nonce })).map((c) => c.id);

describe('az-snp-vtpm trustee vectors', () => {
  for (const f of SNP_FILES) {
    it(`${f} verifies at ${snpCase.valid_at} with every check passing`, async () => {
      const c = snpCase.cases[f]!;
      const r = await verifyEvidence(snp(f), { at: AT, nonce: nonceOf(f) });
      expect(failedChecks(r)).toEqual([]);
      expect(r.verified).toBe(true);
      expect(r.tee).toBe('az-snp-vtpm');
      expect(r.product).toBe(c.product ?? 'Milan');
      expect(r.claims?.azure).toBe(true);
      expect(r.claims?.tpm?.pcrs['0']).toBe(c.pcr00);
      expect(Object.keys(r.claims!.tpm!.pcrs)).toHaveLength(24);
      expect(r.claims?.tpm?.nonce).toBe(c.expected_nonce_hex);
      expect(r.claims?.tpm?.quoteVerified).toBe(true);
      expect(r.claims?.vm?.secureBoot).toBe(true);
      expect(r.claims?.vm?.tpmEnabled).toBe(true);
      expect(r.claims?.vm?.vmId).toMatch(/^[0-9A-F-]{36}$/);
      const ids = r.checks.map((x) => x.id);
      for (const id of ['azure.hcl.layout', 'azure.hcl.report-data', 'azure.runtime-data', 'azure.snp.vmpl', 'snp.report.signature', 'tpm.quote.signature', 'tpm.quote.structure', 'tpm.quote.pcr-selection', 'tpm.quote.pcr-digest', 'tpm.quote.nonce']) {
        expect(ids).toContain(id);
      }
      expect(ids.includes('azure.runtime-data.user-data')).toBe(f === 'evidence-v2.json');
    });
  }

  it('a wrong expected nonce fails tpm.quote.nonce (trustee: "TPM quote nonce doesn\'t match expected report_data")', async () => {
    const wrong = Buffer.from('challenge').reverse();
    expect(await failedIds(snp('evidence-v0.json'), wrong)).toEqual(['tpm.quote.nonce']);
  });

  it('v2: expected report data 123abc fails the nonce and the user-data check (trustee test_verify_user_data)', async () => {
    const ids = await failedIds(snp('evidence-v2.json'), Buffer.from('123abc', 'hex'));
    expect(ids).toEqual(['tpm.quote.nonce', 'azure.runtime-data.user-data']);
  });

  it('a flipped signature byte fails tpm.quote.signature ("vTPM quote is not signed by AKpub")', async () => {
    const e = snp('evidence-v0.json');
    e.tpmQuote.signature[0x10]! ^= 0xff;
    expect(await failedIds(e, nonceOf('evidence-v0.json'))).toEqual(['tpm.quote.signature']);
  });

  it('a changed PCR value fails tpm.quote.pcr-digest ("Digest of PCRs does not match digest in Quote")', async () => {
    const e = snp('evidence-v0.json');
    e.tpmQuote.pcrs[7]![3]! ^= 1;
    expect(await failedIds(e, nonceOf('evidence-v0.json'))).toEqual(['tpm.quote.pcr-digest']);
  });

  it('a changed runtime data byte fails azure.hcl.report-data ("SNP report report_data mismatch")', async () => {
    const e = snp('evidence-v0.json');
    e.hclReport[0x06e0]! += 1;
    expect(await failedIds(e, nonceOf('evidence-v0.json'))).toContain('azure.hcl.report-data');
  });

  it('an SNP report signed by another VCEK fails the SNP signature (trustee test_verify_snp_report_failure)', async () => {
    const e = snp('evidence-v0.json');
    const genoa = snp('evidence-genoa.json');
    e.certificates = genoa.certificates!;
    const r = await verifyEvidence(e, { at: AT, nonce: nonceOf('evidence-v0.json') });
    expect(r.verified).toBe(false);
    expect(failedChecks(r).map((c) => c.id)).toContain('snp.report.signature');
  });

  it('an SNP report byte changed inside the HCL report fails the SNP signature', async () => {
    const e = snp('evidence-v0.json');
    e.hclReport[0x01a6] = 0;
    const ids = await failedIds(e, nonceOf('evidence-v0.json'));
    expect(ids).toContain('snp.report.signature');
  });

  it('the unit-test fixtures (hcl-report.bin, tpm-quote-v1.json, vcek.pem with its chain) verify as v1 evidence of the same VM', async () => {
    const hcl = readFileSync(new URL('hcl-report.bin', dir('snp')));
    const q = json('snp', 'tpm-quote-v1.json') as { signature: string; message: string; pcrs: string[] };
    const vcek = readFileSync(new URL('vcek.pem', dir('snp')), 'utf8');
    const e = azureEvidenceFromJson('az-snp-vtpm', { version: 1, tpm_quote: q, hcl_report: hcl.toString('base64url'), vcek });
    if (e.tee !== 'az-snp-vtpm') throw new Error('tee');
    expect(e.certificates?.ask).toBeDefined();
    const r = await verifyEvidence(e, { at: AT, nonce: Buffer.from('challenge') });
    expect(failedChecks(r)).toEqual([]);
  });

  it('without a nonce the quote checks still run, the nonce is not compared and the result says so', async () => {
    const r = await verifyEvidence(snp('evidence-v0.json'), { at: AT });
    expect(r.verified).toBe(true);
    expect(r.checks.map((c) => c.id)).not.toContain('tpm.quote.nonce');
    expect(r.warnings.join(' ')).toMatch(/No expected nonce was given/);
  });
});

describe('az-tdx-vtpm trustee vectors', () => {
  for (const f of ['evidence-v0.json', 'evidence-v1.json']) {
    it(`${f}: the vTPM part verifies against the TD quote's REPORTDATA, and without Intel collateral the verdict is collateral unavailable`, async () => {
      const e = azureEvidenceFromJson('az-tdx-vtpm', json('tdx', f));
      expect(e.tee).toBe('az-tdx-vtpm');
      if (e.tee !== 'az-tdx-vtpm') return;
      const hcl = parseHclReport(e.hclReport);
      expect(hcl.ok).toBe(true);
      if (!hcl.ok) return;
      const quote = parseIntelQuote(e.tdQuote);
      const reportData = quote.body.kind === 'sgx' ? new Uint8Array() : quote.body.report.reportData;
      const v = checkVtpm(e, hcl.report, reportData, Buffer.from('challenge'));
      expect(v.checks.filter((c) => !c.ok)).toEqual([]);
      expect(v.tpm.quoteVerified).toBe(true);
      expect(v.vm.secureBoot).toBe(true);
      await expect(verifyEvidence(e, { at: AT, nonce: Buffer.from('challenge') })).rejects.toBeInstanceOf(CollateralUnavailableError);
    });
  }
});
