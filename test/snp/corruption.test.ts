// Systematic corruption of real evidence: for one valid vector per report version (2, 3, 5)
// and signer kind (VCEK, VLEK), flip every byte of the report (signed region, signature,
// reserved tail) and of the signer certificate, and substitute every other product's
// chain and the other signer kind's intermediate. Every variant must be rejected (never
// verified, never a crash), and with the check that should fail named: the report
// signature for report bytes, the chain for certificate bytes, or a specific
// EvidenceFormatError code where the flip makes the bytes malformed.

import { describe, expect, it } from 'vitest';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import type { SnpCertificates } from '../../verifier/evidence.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { SNP_PRODUCTS, type SnpProduct } from '../../verifier/snp/product.ts';
import { verifySnpReport } from '../../verifier/snp/verify-evidence.ts';
import { amdRoot, loadCase, type SnpCase } from './cases.ts';

const SWEPT = ['milan-v2-virtee', 'genoa-v3-mstav', 'turin-v5-mstav', 'milan-v2-vlek-aws-constellation', 'milan-v3-vlek-aws-trustee'];

type Outcome = { result: VerificationResult } | { error: EvidenceFormatError };

function run(c: SnpCase, report: Uint8Array, certificates: SnpCertificates): Outcome {
  try {
    return { result: verifySnpReport(report, { certificates }, { at: c.at }) };
  } catch (err) {
    // Anything but EvidenceFormatError (a TypeError, an OpenSSL error...) is a crash: rethrow.
    if (err instanceof EvidenceFormatError) return { error: err };
    throw err;
  }
}

const failed = (r: VerificationResult): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);

/** Report offsets where a flip may make the bytes malformed, and the error code it must give. */
function formatCodesAt(offset: number, version: number): string[] {
  if (offset < 0x04) return ['snp_report_version'];
  if (offset >= 0x08 && offset < 0x10) return ['snp_report_policy_reserved'];
  if (offset >= 0x34 && offset < 0x38) return ['snp_report_signature_algo'];
  if (offset >= 0x48 && offset < 0x4c) return ['snp_report_key_info_reserved', 'snp_report_signing_key'];
  const reserved =
    (offset >= 0x4c && offset < 0x50) ||
    (offset >= (version >= 3 ? 0x18b : 0x188) && offset < 0x1a0) ||
    offset === 0x1eb ||
    offset === 0x1ef ||
    (offset >= (version >= 5 ? 0x208 : 0x1f8) && offset < 0x2a0);
  if (reserved) return ['snp_report_reserved'];
  if (offset >= 0x330) return ['snp_report_signature_reserved'];
  return [];
}

describe.each(SWEPT)('corrupting %s', (name) => {
  const c = loadCase(name);
  const version = c.meta.report_version!;
  const signerSlot = c.meta.signer === 'VCEK' ? 'vcek' : 'vlek';

  it('is valid before corruption', () => {
    const o = run(c, c.report, c.certificates);
    expect('result' in o && o.result.verified).toBe(true);
  });

  it('every flipped report byte is rejected: snp.report.signature, or the code of the malformed field', () => {
    const problems: string[] = [];
    let signatureFailures = 0;
    for (let i = 0; i < c.report.length; i++) {
      const bad = Buffer.from(c.report);
      bad[i]! ^= 0xff;
      const o = run(c, bad, c.certificates);
      const codes = formatCodesAt(i, version);
      if ('error' in o) {
        if (!codes.includes(o.error.code)) problems.push(`0x${i.toString(16)}: unexpected ${o.error.code}`);
      } else if (o.result.verified) {
        problems.push(`0x${i.toString(16)}: VERIFIED`);
      } else if (!failed(o.result).includes('snp.report.signature')) {
        problems.push(`0x${i.toString(16)}: rejected by ${failed(o.result).join(', ')} but not snp.report.signature`);
      } else {
        signatureFailures++;
        // Outside the fields that can be malformed, nothing else may throw, and vice versa.
        if (i >= 0x330) problems.push(`0x${i.toString(16)}: reserved signature tail accepted`);
      }
    }
    expect(problems).toEqual([]);
    // Sanity: the signed fields and R/S really were exercised, not all short-circuited.
    expect(signatureFailures).toBeGreaterThan(0x2a0 - 0x100);
  });

  it('every flipped byte of the signer certificate is rejected by the chain, or refused as malformed', () => {
    const problems: string[] = [];
    for (let i = 0; i < c.signer.length; i++) {
      const bad = Buffer.from(c.signer);
      bad[i]! ^= 0xff;
      const o = run(c, c.report, { ...c.certificates, [signerSlot]: bad });
      if ('error' in o) {
        if (!['certificate_malformed', 'pem_malformed', 'snp_cert_extension'].includes(o.error.code)) problems.push(`${i}: ${o.error.code}`);
      } else if (o.result.verified) {
        problems.push(`${i}: VERIFIED`);
      } else {
        const f = failed(o.result);
        if (!f.includes('snp.chain.signer-signed-by-intermediate') && !f.includes('snp.chain.signature-algorithm')) {
          problems.push(`${i}: rejected by ${f.join(', ')} only`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it("each other product's chain is rejected: its ARK makes it the other product's, which the evidence does not claim", () => {
    const own = c.meta.product as SnpProduct;
    for (const other of SNP_PRODUCTS.filter((p) => p !== own)) {
      const certificates: SnpCertificates =
        c.meta.signer === 'VCEK'
          ? { vcek: c.signer, ask: amdRoot(other, 'ask'), ark: amdRoot(other, 'ark') }
          : { vlek: c.signer, asvk: amdRoot(other, 'asvk'), ark: amdRoot(other, 'ark') };
      const o = run(c, c.report, certificates);
      if (!('result' in o)) throw o.error;
      expect(o.result.verified, other).toBe(false);
      // The anchor is the other product's (its ARK signed the intermediate, and the root
      // sent is that ARK): the claim of the evidence is refused against it, by name.
      expect(failed(o.result), other).toEqual(expect.arrayContaining(['snp.chain.anchor-product', 'snp.chain.signer-signed-by-intermediate']));
      expect(failed(o.result), other).not.toContain('snp.chain.intermediate-signed-by-ark');
      expect(o.result.checks.find((x) => x.id === 'snp.chain.anchor-product'), other).toMatchObject({
        expected: { product: other, by: `ARK-${other}` },
        found: { product: own },
      });
      // The other product's intermediate alone (no root sent) is just as wrong.
      const { ark: _ark, ...withoutRoot } = certificates;
      const o2 = run(c, c.report, withoutRoot);
      if (!('result' in o2)) throw o2.error;
      expect(failed(o2.result), `${other} without root`).toEqual(expect.arrayContaining(['snp.chain.anchor-product', 'snp.chain.signer-signed-by-intermediate']));
    }
  });

  it("the other signer kind's intermediate of the same product is rejected", () => {
    const own = c.meta.product as SnpProduct;
    const certificates: SnpCertificates =
      c.meta.signer === 'VCEK' ? { vcek: c.signer, ask: amdRoot(own, 'asvk') } : { vlek: c.signer, asvk: amdRoot(own, 'ask') };
    const o = run(c, c.report, certificates);
    if (!('result' in o)) throw o.error;
    expect(o.result.verified).toBe(false);
    expect(failed(o.result)).toEqual(expect.arrayContaining(['snp.chain.intermediate-kind', 'snp.chain.signer-signed-by-intermediate']));
    // It is signed by the right ARK: only its kind is wrong.
    expect(failed(o.result)).not.toContain('snp.chain.intermediate-signed-by-ark');
  });
});
