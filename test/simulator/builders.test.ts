// The simulator's byte layouts and signatures, read back with the verifier's own parsers
// (verifier/snp/abi, verifier/tdx/abi) and checked with node:crypto, and its certificates
// compared field by field with the real AMD and Intel ones in test/fixtures.

import { createHash, verify, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseReport } from '../../verifier/snp/abi/report.ts';
import { decodeTcb } from '../../verifier/snp/abi/tcb.ts';
import { AMD_OID, amdExtensions } from '../../verifier/snp/extensions.ts';
import { amdSignatureAlgorithm } from '../../verifier/snp/verify-chain.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { pckExtension, SGX_EXTENSION_OID } from '../../verifier/tdx/pck-extensions.ts';
import { parseCertificateDer, parseCertificates } from '../../verifier/x509/certificate.ts';
import { createSimulatorChain, SIMULATOR_FMSPC, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { buildSnpReport, SIMULATOR_SNP_MEASUREMENT } from '../../verifier/testing/snp-report-builder.ts';
import { buildTdxQuote, SIMULATOR_TDX_MRTD } from '../../verifier/testing/tdx-quote-builder.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const fixture = (p: string): Buffer => readFileSync(new URL(`../fixtures/${p}`, import.meta.url));

let chain: SimulatorChain;
beforeAll(async () => {
  chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
});

/** R and S little-endian in 72-byte fields -> IEEE P1363 r||s (48 bytes each, big-endian). */
function p1363(report: Uint8Array): Buffer {
  const r = Buffer.from(report.subarray(0x2a0, 0x2a0 + 48)).reverse();
  const s = Buffer.from(report.subarray(0x2e8, 0x2e8 + 48)).reverse();
  return Buffer.concat([r, s]);
}

describe('simulated AMD chain', () => {
  it('chains VCEK -> ASK -> ARK with RSA-PSS SHA-384 signatures', () => {
    const ark = new X509Certificate(chain.amd.ark);
    const ask = new X509Certificate(chain.amd.ask);
    const vcek = new X509Certificate(chain.amd.vcek);
    expect(ark.verify(ark.publicKey)).toBe(true);
    expect(ask.verify(ark.publicKey)).toBe(true);
    expect(vcek.verify(ask.publicKey)).toBe(true);
    expect(vcek.verify(ark.publicKey)).toBe(false);
    expect(ask.subject).toContain('CN=SEV-Milan');
    expect(ark.ca && ask.ca && !vcek.ca).toBe(true);
    expect(vcek.publicKey.asymmetricKeyDetails?.namedCurve).toBe('secp384r1');
    // RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48: what the SNP verifier demands of AMD's certificates.
    for (const der of [chain.amd.ark, chain.amd.ask, chain.amd.vcek]) expect(amdSignatureAlgorithm(parseCertificateDer(der))).toBe(true);
  });

  it('encodes the VCEK extensions byte for byte as AMD KDS does', () => {
    // The oak Milan VCEK was issued at the same TCB as the simulator's default (4/0/24/219).
    const real = parseCertificateDer(fixture('snp/milan-v3-gcp-oak/vcek.der'));
    const sim = parseCertificateDer(chain.amd.vcek);
    for (const [name, oid] of Object.entries(AMD_OID)) {
      if (name === 'hwID') continue;
      expect(sim.extensions.get(oid), name).toEqual(real.extensions.get(oid));
    }
    expect(sim.extensions.get(AMD_OID.hwID)).toEqual(chain.amd.chipId);
    const ext = amdExtensions(sim);
    expect(ext).toMatchObject({ productName: 'Milan-B0', blSPL: 4, teeSPL: 0, snpSPL: 24, ucodeSPL: 219, hwID: chain.amd.chipId.toString('hex') });
  });

  it('issues a VCEK for another TCB with the large-SPL DER encoding (leading zero byte)', async () => {
    const other = await createSimulatorChain({ now: NOW, rsaBits: 2048, snpTcb: { bootloader: 9, tee: 0, snp: 128, microcode: 255 } });
    const ext = amdExtensions(parseCertificateDer(other.amd.vcek));
    expect(ext).toMatchObject({ blSPL: 9, snpSPL: 128, ucodeSPL: 255 });
    expect(parseCertificateDer(other.amd.vcek).extensions.get(AMD_OID.snpSPL)?.toString('hex')).toBe('02020080');
  });
});

describe('buildSnpReport', () => {
  it('writes a version 3 report the verifier parser reads back field by field', () => {
    const reportData = createHash('sha512').update('nonce').digest();
    const hostData = Buffer.alloc(32, 0xab);
    const { report, certificates } = buildSnpReport(chain, { reportData, hostData, guestSvn: 7, vmpl: 1, policy: { debug: true, migrateMa: true } });
    expect(report.length).toBe(1184);
    const r = parseReport(report);
    expect(r.version).toBe(3);
    expect(r.guestSvn).toBe(7);
    expect(r.vmpl).toBe(1);
    expect(r.policy).toMatchObject({ debug: true, migrateMa: true, smt: true, singleSocket: false });
    expect(r.reportData).toEqual(reportData);
    expect(r.hostData).toEqual(hostData);
    expect(r.measurement.toString('hex')).toBe(SIMULATOR_SNP_MEASUREMENT);
    expect(r.chipId).toEqual(chain.amd.chipId);
    expect(r.cpuid).toEqual({ family: 0x19, model: 0x01, stepping: 0x01 });
    expect(r.keyInfo.signingKey).toBe('VCEK');
    expect(r.signatureAlgo).toBe(1);
    expect(r.currentVersion).toEqual({ major: 1, minor: 55, build: 29 });
    const tcb = decodeTcb(r.reportedTcb, 'Milan');
    expect(tcb).toMatchObject({ bootloader: 4, tee: 0, snp: 24, microcode: 219 });
    expect(r.reportIdMa).toEqual(Buffer.alloc(32, 0xff));
    expect(Buffer.from(certificates.vcek)).toEqual(chain.amd.vcek);
  });

  it('signs bytes 0x000-0x29F with the VCEK (ECDSA P-384, R and S little-endian)', () => {
    const { report } = buildSnpReport(chain, { reportData: Buffer.alloc(64, 1) });
    const key = new X509Certificate(chain.amd.vcek).publicKey;
    const signed = report.subarray(0, 0x2a0);
    expect(verify('sha384', signed, { key, dsaEncoding: 'ieee-p1363' }, p1363(report))).toBe(true);
    // The signature is bound to the body: one flipped bit in REPORT_DATA breaks it.
    const tampered = Buffer.from(report);
    tampered[0x50]! ^= 1;
    expect(verify('sha384', tampered.subarray(0, 0x2a0), { key, dsaEncoding: 'ieee-p1363' }, p1363(tampered))).toBe(false);
    // Bytes after the two 72-byte fields are reserved and zero.
    expect(report.subarray(0x2a0 + 48, 0x2a0 + 72).every((b) => b === 0)).toBe(true);
    expect(report.subarray(0x2a0 + 144).every((b) => b === 0)).toBe(true);
  });

  it('masks the chip id when asked and rejects fields of the wrong size', () => {
    const r = parseReport(buildSnpReport(chain, { maskChipId: true }).report);
    expect(r.keyInfo.maskChipKey).toBe(false);
    expect(r.chipId.every((b) => b === 0)).toBe(true);
    // MASK_CHIP_KEY is the other setting: KEY_INFO bit 1, and zeros where the signature would be.
    const k = parseReport(buildSnpReport(chain, { maskChipKey: true }).report);
    expect(k.keyInfo.maskChipKey).toBe(true);
    expect(k.chipId.some((b) => b !== 0)).toBe(true);
    expect(k.signatureR.every((b) => b === 0) && k.signatureS.every((b) => b === 0)).toBe(true);
    expect(() => buildSnpReport(chain, { measurement: Buffer.alloc(47) })).toThrow(/measurement must be 48 bytes/);
    expect(() => buildSnpReport(chain, { reportData: Buffer.alloc(65) })).toThrow(/at most 64 bytes/);
  });
});

describe('simulated Intel chain', () => {
  it('chains PCK -> PCK Platform CA -> Root CA and TCB Signing -> Root CA (ECDSA P-256)', () => {
    const root = new X509Certificate(chain.intel.root);
    const ca = new X509Certificate(chain.intel.pckCa);
    const pck = new X509Certificate(chain.intel.pck);
    const signing = new X509Certificate(chain.intel.tcbSigning);
    expect(root.verify(root.publicKey)).toBe(true);
    expect(ca.verify(root.publicKey)).toBe(true);
    expect(pck.verify(ca.publicKey)).toBe(true);
    expect(signing.verify(root.publicKey)).toBe(true);
    expect(ca.subject).toContain('CN=Intel SGX PCK Platform CA');
    expect(pck.subject).toContain('CN=Intel SGX PCK Certificate');
  });

  it('writes the SGX extension in the layout of a real Platform CA PCK certificate', () => {
    const sim = parseCertificateDer(chain.intel.pck);
    const ext = pckExtension(sim);
    expect(ext).toMatchObject({
      fmspc: SIMULATOR_FMSPC,
      pceId: '0000',
      pceSvn: 11,
      sgxTcbComponents: [3, 3, 2, 2, 4, 1, 0, 5, 0, 0, 0, 0, 0, 0, 0, 0],
      cpuSvn: '03030202040100050000000000000000',
      sgxType: 1,
    });
    expect(ext.platformInstanceId).toMatch(/^[0-9a-f]{32}$/);
    // Same values as the phala PCK leaf except PPID, FMSPC, instance id and the Configuration
    // booleans: the DER must differ only in those bytes.
    const real = parseCertificates(fixture('tdx/phala-b0c06f-v4-uptodate/quote.bin').toString('latin1').slice(fixture('tdx/phala-b0c06f-v4-uptodate/quote.bin').toString('latin1').indexOf('-----BEGIN')), 'PCK chain')[0]!;
    const a = sim.extensions.get(SGX_EXTENSION_OID)!;
    const b = real.extensions.get(SGX_EXTENSION_OID)!;
    expect(a.length).toBe(b.length);
    const differing = [...a.keys()].filter((i) => a[i] !== b[i]).length;
    expect(differing).toBeLessThanOrEqual(16 + 6 + 16 + 1);
  });
});

describe('buildTdxQuote', () => {
  it('writes a v4 TD 1.0 quote the verifier parser reads back', () => {
    const reportData = createHash('sha512').update('td').digest();
    const rtmr: [Buffer, Buffer, Buffer, Buffer] = [Buffer.alloc(48, 1), Buffer.alloc(48, 2), Buffer.alloc(48, 3), Buffer.alloc(48, 4)];
    const { quote } = buildTdxQuote(chain, { reportData, rtmr, debug: true });
    const q = parseIntelQuote(quote);
    expect(q.tee).toBe('tdx');
    expect(q.header.version).toBe(4);
    expect(q.trailingBytes).toBe(0);
    expect(q.length).toBe(quote.length);
    expect(q.body.kind).toBe('td10');
    if (q.body.kind === 'sgx') throw new Error('unreachable');
    const td = q.body.report;
    expect(td.reportData).toEqual(reportData);
    expect(td.mrTd.toString('hex')).toBe(SIMULATOR_TDX_MRTD);
    expect(td.rtmr).toEqual(rtmr);
    expect(td.teeTcbSvn).toEqual(chain.intel.teeTcbSvn);
    // DEBUG (bit 0) on top of the default SEPT_VE_DISABLE (bit 28), little-endian.
    expect(td.tdAttributes.toString('hex')).toBe('0100001000000000');
  });

  it('signs the quote with the attestation key and the QE report with the PCK key, binding the two', () => {
    const { quote } = buildTdxQuote(chain, { reportData: Buffer.alloc(64, 9) });
    const q = parseIntelQuote(quote);
    const ak = q.attestationKey;
    const akKey = { key: { kty: 'EC', crv: 'P-256', x: ak.subarray(0, 32).toString('base64url'), y: ak.subarray(32).toString('base64url') }, format: 'jwk' as const, dsaEncoding: 'ieee-p1363' as const };
    expect(verify('sha256', q.signedBytes, akKey, q.signature)).toBe(true);
    const pck = new X509Certificate(chain.intel.pck).publicKey;
    const c = q.certification;
    expect(verify('sha256', c.qeReport.raw, { key: pck, dsaEncoding: 'ieee-p1363' }, c.qeReportSignature)).toBe(true);
    const binding = createHash('sha256').update(ak).update(c.qeAuthData).digest();
    expect(c.qeReport.reportData.subarray(0, 32)).toEqual(binding);
    expect(c.qeReport.reportData.subarray(32).every((b) => b === 0)).toBe(true);
    expect(c.qeReport.mrSigner).toEqual(chain.intel.qe.mrsigner);
    const pem = parseCertificates(c.pckChainPem, 'PCK chain');
    expect(pem.map((x) => x.der)).toEqual([chain.intel.pck, chain.intel.pckCa, chain.intel.root]);
  });

  it('signs TCB Info and QE Identity over the exact bytes of the inner object', () => {
    const key = new X509Certificate(chain.intel.tcbSigning).publicKey;
    for (const [body, field] of [
      [chain.intel.tcbInfo, 'tcbInfo'],
      [chain.intel.qeIdentity, 'enclaveIdentity'],
    ] as const) {
      const inner = body.slice(`{"${field}":`.length, body.lastIndexOf(',"signature":'));
      const signature = Buffer.from((JSON.parse(body) as { signature: string }).signature, 'hex');
      expect(verify('sha256', Buffer.from(inner), { key, dsaEncoding: 'ieee-p1363' }, signature)).toBe(true);
    }
    const info = (JSON.parse(chain.intel.tcbInfo) as { tcbInfo: { id: string; fmspc: string; nextUpdate: string } }).tcbInfo;
    expect(info.id).toBe('TDX');
    expect(info.fmspc.toLowerCase()).toBe(SIMULATOR_FMSPC);
    expect(new Date(info.nextUpdate)).toEqual(chain.collateralNextUpdate);
  });
});
