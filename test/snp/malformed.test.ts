// Malformed and mismatched input: clear EvidenceFormatError codes or rejections naming the
// failed check, never a crash. Plus the pinned AMD roots themselves.

import { readFileSync } from 'node:fs';
import { createHash, sign, X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import type { SnpCertificates } from '../../verifier/evidence.ts';
import { PRODUCTION_ANCHORS } from '../../verifier/production-anchors.ts';
import { AMD_ANCHORS, ARK_FINGERPRINTS, pinnedDer } from '../../verifier/snp/amd-roots.ts';
import { parseReport } from '../../verifier/snp/abi/report.ts';
import { signatureToP1363 } from '../../verifier/snp/verify-signature.ts';
import { verifySnpReport } from '../../verifier/snp/verify-evidence.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../../verifier/testing/snp-report-builder.ts';
import { amdRoot, fixturePath, loadCase } from './cases.ts';

const failed = (r: { checks: { id: string; ok: boolean }[] }): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);

function formatError(fn: () => unknown): EvidenceFormatError {
  try {
    fn();
  } catch (err) {
    if (err instanceof EvidenceFormatError) return err;
    throw err;
  }
  throw new Error('expected an EvidenceFormatError');
}

const milan3 = loadCase('milan-v3-mstav');
const vlek2 = loadCase('milan-v2-vlek-aws-constellation');

describe('malformed reports', () => {
  it.each([0, 1, 1183, 1185, 4096])('a %d-byte report is snp_report_length', (n) => {
    const e = formatError(() => verifySnpReport(Buffer.alloc(n), { certificates: milan3.certificates }, { at: milan3.at }));
    expect(e.code).toBe('snp_report_length');
    expect(e.message).toContain(String(n));
  });

  it('versions 0 and 1 are snp_report_version', () => {
    for (const v of [0, 1]) {
      const bad = Buffer.from(milan3.report);
      bad.writeUInt32LE(v, 0);
      expect(formatError(() => parseReport(bad)).code).toBe('snp_report_version');
    }
  });

  it('an unknown signature algorithm is snp_report_signature_algo', () => {
    const bad = Buffer.from(milan3.report);
    bad.writeUInt32LE(2, 0x34);
    const e = formatError(() => parseReport(bad));
    expect(e.code).toBe('snp_report_signature_algo');
    expect(e.message).toContain('ECDSA P-384');
  });

  it('a non-zero reserved tail after the signature is snp_report_signature_reserved, naming the byte', () => {
    const bad = Buffer.from(milan3.report);
    bad[0x49f] = 1;
    const e = formatError(() => parseReport(bad));
    expect(e.code).toBe('snp_report_signature_reserved');
    expect(e.message).toContain('0x49f');
  });

  it('reserved SIGNING_KEY values and reserved KEY_INFO bits are refused', () => {
    const bad = Buffer.from(milan3.report);
    bad.writeUInt32LE(2 << 2, 0x48);
    expect(formatError(() => parseReport(bad)).code).toBe('snp_report_signing_key');
    bad.writeUInt32LE(1 << 5, 0x48);
    expect(formatError(() => parseReport(bad)).code).toBe('snp_report_key_info_reserved');
  });

  it('a policy without its must-be-one bit 17 is refused', () => {
    const bad = Buffer.from(milan3.report);
    bad.writeBigUInt64LE(0x1fn, 0x08);
    expect(formatError(() => parseReport(bad)).code).toBe('snp_report_policy_reserved');
  });

  it('R or S with a non-zero zero-extension is a failed signature check, not a crash', () => {
    const bad = Buffer.from(milan3.report);
    bad[0x2a0 + 60] = 1;
    const r = verifySnpReport(bad, { certificates: milan3.certificates }, { at: milan3.at });
    expect(failed(r)).toEqual(['snp.report.signature']);
    expect(typeof signatureToP1363(bad.subarray(0x2a0, 0x2e8), bad.subarray(0x2e8, 0x330))).toBe('string');
  });
});

describe('malformed and mismatched certificates', () => {
  // The library takes DER (SnpCertificates); PEM is read by the CLI (test/snp/cli.test.ts).
  const garbage: { what: string; bytes: Buffer }[] = [
    { what: 'empty bytes', bytes: Buffer.alloc(0) },
    { what: 'PEM text', bytes: readFileSync(fixturePath('milan-v3-mstav/ask.pem')) },
    { what: 'text that is not a certificate', bytes: Buffer.from('hello, I am a VCEK') },
    { what: 'a DER SEQUENCE that is not a certificate', bytes: Buffer.from('3003020101', 'hex') },
    { what: 'a truncated VCEK', bytes: milan3.signer.subarray(0, 500) },
    { what: 'a VCEK with trailing bytes', bytes: Buffer.concat([milan3.signer, Buffer.from([0])]) },
  ];
  it.each(garbage)('$what as the VCEK is certificate_malformed', ({ bytes }) => {
    const e = formatError(() => verifySnpReport(milan3.report, { certificates: { ...milan3.certificates, vcek: bytes } }, { at: milan3.at }));
    expect(e.code).toBe('certificate_malformed');
    expect(e.message).toContain('VCEK certificate');
  });

  it('garbage as the intermediate or the root is certificate_malformed too', () => {
    for (const slot of ['ask', 'ark'] as const) {
      const e = formatError(() => verifySnpReport(milan3.report, { certificates: { ...milan3.certificates, [slot]: Buffer.from('nope') } }, { at: milan3.at }));
      expect(e.code).toBe('certificate_malformed');
    }
  });

  it('an ASK given as the VCEK is rejected: not a P-384 key, not issued by the ASK', () => {
    const r = verifySnpReport(milan3.report, { certificates: { ...milan3.certificates, vcek: amdRoot('Milan', 'ask') } }, { at: milan3.at });
    expect(r.verified).toBe(false);
    expect(failed(r)).toEqual(expect.arrayContaining(['snp.report.signature', 'snp.chain.signer-signed-by-intermediate', 'snp.binding.tcb']));
    expect(r.checks.find((c) => c.id === 'snp.report.signature')?.detail).toContain('not an EC P-384 key');
  });

  it("a Genoa VCEK for a Milan report is rejected: product, chain, chip and signature", () => {
    const genoa = loadCase('genoa-v3-mstav');
    const r = verifySnpReport(milan3.report, { certificates: { vcek: genoa.signer } }, { at: milan3.at });
    expect(r.product).toBe('Milan');
    // The embedded Genoa ASK is the one that signed it, so the chain is Genoa's (a sound
    // chain), and the Milan claim of the report is refused against its ARK by name.
    expect(failed(r)).toEqual(expect.arrayContaining(['snp.chain.anchor-product', 'snp.binding.product', 'snp.binding.hwid', 'snp.report.signature']));
    expect(failed(r)).not.toContain('snp.chain.signer-signed-by-intermediate');
    expect(r.checks.find((c) => c.id === 'snp.chain.anchor-product')).toMatchObject({
      expected: { product: 'Genoa', by: 'ARK-Genoa' },
      found: { product: 'Milan', from: "The report's CPUID (family 0x19 model 0x1 stepping 0x1)" },
    });
  });

  it('a VLEK handed in as a VCEK fails the signer-kind binding', () => {
    const r = verifySnpReport(vlek2.report, { certificates: { vcek: vlek2.signer } }, { at: vlek2.at });
    expect(failed(r)).toEqual(expect.arrayContaining(['snp.binding.signer-kind', 'snp.chain.signer-signed-by-intermediate']));
    expect(r.checks.find((c) => c.id === 'snp.binding.signer-kind')).toMatchObject({ expected: 'VLEK', found: 'VCEK' });
  });

  it('an expired signer (the one-year VLEK, a year on) fails snp.chain.validity, saying when it was valid', () => {
    const later = new Date('2026-01-01T00:00:00Z');
    const r = verifySnpReport(vlek2.report, { certificates: vlek2.certificates }, { at: later });
    expect(failed(r)).toEqual(['snp.chain.validity']);
    const check = r.checks.find((c) => c.id === 'snp.chain.validity')!;
    expect(check.detail).toContain('VLEK valid 2024-05-05');
    // And before its notBefore, too.
    expect(failed(verifySnpReport(vlek2.report, { certificates: vlek2.certificates }, { at: new Date('2024-01-01T00:00:00Z') }))).toEqual(['snp.chain.validity']);
  });

  it('no signer certificate at all is CollateralUnavailableError naming the document', async () => {
    expect(() => verifySnpReport(milan3.report, { certificates: {} }, { at: milan3.at })).toThrow(CollateralUnavailableError);
    await expect(verifyEvidence({ tee: 'sev-snp', report: milan3.report }, { at: milan3.at })).rejects.toMatchObject({ document: 'vcek' });
    await expect(verifyEvidence({ tee: 'sev-snp', report: vlek2.report }, { at: vlek2.at })).rejects.toMatchObject({ document: 'vlek' });
  });

  it('an invalid verification time is refused', () => {
    expect(() => verifySnpReport(milan3.report, { certificates: milan3.certificates }, { at: new Date('nope') })).toThrow(RangeError);
  });
});

describe('report versions and fields, on simulator-signed reports', () => {
  let chain: SimulatorChain;
  const NOW = new Date('2026-03-01T00:00:00Z');
  beforeAll(async () => {
    chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  });
  const verify = (report: Uint8Array, certificates?: SnpCertificates) =>
    verifySnpReport(report, { certificates: certificates ?? { vcek: chain.amd.vcek } }, { at: NOW, anchors: simulatorAnchors(chain), crl: 'off' });
  /** Edit a built report and sign it again with the simulated VCEK key (R and S little-endian, 72-byte fields). */
  const resign = (report: Uint8Array, edit: (b: Buffer) => void): Buffer => {
    const b = Buffer.from(report);
    edit(b);
    const sig = sign('sha384', b.subarray(0, 0x2a0), { key: chain.amd.vcekKey, dsaEncoding: 'ieee-p1363' });
    b.fill(0, 0x2a0);
    b.set(Buffer.from(sig.subarray(0, 48)).reverse(), 0x2a0);
    b.set(Buffer.from(sig.subarray(48)).reverse(), 0x2a0 + 72);
    return b;
  };

  it('a version 6 report is parsed with the version 5 layout and flagged', () => {
    const v6 = resign(buildSnpReport(chain).report, (b) => {
      b.writeUInt32LE(6, 0);
      b[0x220] = 0x42; // ABI 1.59 puts new fields here: not interpreted, not refused
    });
    const r = verify(v6);
    expect(r.verified).toBe(true);
    expect(r.warnings.some((w) => w.includes('version 6'))).toBe(true);
    expect(r.claims?.snp?.launchMitVector).toBe('0x0');
  });

  it('a version 5 report with a non-zero byte in its reserved area is refused', () => {
    const v5 = resign(buildSnpReport(chain).report, (b) => {
      b.writeUInt32LE(5, 0);
      b[0x220] = 0x42;
    });
    expect(formatError(() => verify(v5)).code).toBe('snp_report_reserved');
  });

  it('a version 4 report is read with the version 3 layout and flagged', () => {
    const r = verify(resign(buildSnpReport(chain).report, (b) => b.writeUInt32LE(4, 0)));
    expect(r.verified).toBe(true);
    expect(r.warnings.some((w) => w.includes('version 4'))).toBe(true);
  });

  it('a CPUID of no known product fails snp.product; the chain is still judged, its ARK naming the product', () => {
    const r = verify(buildSnpReport(chain, { cpuid: { family: 0x17, model: 0x31, stepping: 0 } }).report);
    expect(failed(r)).toEqual(['snp.product']);
    // The anchor is chosen by the ARK that signed the ASK, not by the product claimed.
    expect(r.product).toBe('Milan');
    expect(r.checks.find((c) => c.id === 'snp.chain.anchor-product')?.ok).toBe(true);
    expect(r.checks.find((c) => c.id === 'snp.product')?.found).toBe('family 0x17 model 0x31 stepping 0x0');
  });

  it('a version 3 report whose CPUID fields are zero takes its product from the VCEK, and says so', () => {
    const r = verify(buildSnpReport(chain, { cpuid: { family: 0, model: 0, stepping: 0 } }).report);
    expect(r.verified).toBe(true);
    expect(r.product).toBe('Milan');
    expect(r.warnings.some((w) => w.includes('CPUID fields are zero'))).toBe(true);
    expect(r.checks.find((c) => c.id === 'snp.binding.product')).toBeUndefined();
  });

  it('with CHIP_ID masked there is no hwID to compare, and the result says so', () => {
    const r = verify(buildSnpReport(chain, { maskChipId: true }).report);
    expect(r.verified).toBe(true);
    expect(r.checks.find((c) => c.id === 'snp.binding.hwid')).toBeUndefined();
    expect(r.warnings.some((w) => w.includes('CHIP_ID is masked'))).toBe(true);
  });

  it('MASK_CHIP_KEY (the firmware writes zeros instead of signing) is refused by snp.report.signature, saying so', () => {
    const r = verify(buildSnpReport(chain, { maskChipKey: true }).report);
    expect(failed(r)).toEqual(['snp.report.signature']);
    expect(r.checks.find((c) => c.id === 'snp.report.signature')!.detail).toContain('MASK_CHIP_KEY is set');
    // Even signed, a report with the bit set is not one real firmware makes: refused the same way.
    const signed = verify(resign(buildSnpReport(chain).report, (b) => b.writeUInt32LE(2, 0x48)));
    expect(failed(signed)).toEqual(['snp.report.signature']);
  });

  it('a report claiming a VLEK signature with a VCEK supplied fails the signer-kind binding', () => {
    const r = verify(resign(buildSnpReport(chain).report, (b) => b.writeUInt32LE(1 << 2, 0x48)));
    expect(failed(r)).toEqual(['snp.binding.signer-kind']);
  });

  it('an unsigned report (SIGNING_KEY none) is rejected by snp.report.signature', () => {
    const r = verify(resign(buildSnpReport(chain).report, (b) => b.writeUInt32LE(7 << 2, 0x48)));
    expect(failed(r)).toContain('snp.report.signature');
  });

  it('a reported TCB the VCEK was not issued for fails snp.binding.tcb with expected and found', () => {
    const r = verify(buildSnpReport(chain, { reportedTcb: { ...chain.amd.tcb, microcode: chain.amd.tcb.microcode + 1 } }).report);
    expect(failed(r)).toEqual(['snp.binding.tcb']);
    expect(r.checks.find((c) => c.id === 'snp.binding.tcb')).toMatchObject({
      expected: { ucodeSPL: chain.amd.tcb.microcode + 1 },
      found: { ucodeSPL: chain.amd.tcb.microcode },
    });
  });
});

describe('the pinned AMD roots', () => {
  const roots = JSON.parse(readFileSync(fixturePath('amd-roots/roots.json'), 'utf8')) as Record<string, { sha256_der: string }>;

  it('embed the ARK, ASK and ASVK of Milan, Genoa and Turin, byte for byte as published', () => {
    expect(AMD_ANCHORS.map((a) => a.product)).toEqual(['Milan', 'Genoa', 'Turin']);
    for (const a of AMD_ANCHORS) {
      const p = a.product.toLowerCase();
      const sha = (b: Uint8Array | undefined): string => createHash('sha256').update(b!).digest('hex');
      expect(sha(a.arkDer)).toBe(roots[`${p}/ark.pem`]!.sha256_der);
      expect(sha(a.askDer)).toBe(roots[`${p}/ask.pem`]!.sha256_der);
      expect(sha(a.asvkDer)).toBe(roots[`${p}/asvk.pem`]!.sha256_der);
      expect(ARK_FINGERPRINTS[a.product]).toBe(roots[`${p}/ark.pem`]!.sha256_der);
      const ark = new X509Certificate(a.arkDer);
      expect(ark.verify(ark.publicKey)).toBe(true);
      expect(new X509Certificate(a.askDer!).verify(ark.publicKey)).toBe(true);
      expect(new X509Certificate(a.asvkDer!).verify(ark.publicKey)).toBe(true);
      expect(a.simulated).toBeUndefined();
    }
    expect(PRODUCTION_ANCHORS.amd).toBe(AMD_ANCHORS);
  });

  it('refuse a PEM whose fingerprint is not the pinned one', () => {
    const pem = readFileSync(fixturePath('amd-roots/milan/ark.pem'), 'utf8');
    expect(() => pinnedDer(pem, ARK_FINGERPRINTS.Milan, 'ARK-Milan')).not.toThrow();
    expect(() => pinnedDer(pem, ARK_FINGERPRINTS.Genoa, 'ARK-Milan')).toThrow(/does not match its pinned SHA-256/);
  });
});
