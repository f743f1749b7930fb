// Rejections with the check that should fail named: a chain to a look-alike root (Intel's
// name, another key), a revoked PCK and PCK CA (CRLs made with the simulator's locally
// generated test CA, passed as a non-production IntelAnchor), TCB Info for another FMSPC or
// TEE, collateral signed by the wrong key, a QE that is not Intel's, collateral expired or
// not yet valid; and malformed quotes rejected with specific error codes.

import { webcrypto } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { IntelAnchor } from '../../verifier/anchors.ts';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import type { IntelCollateral } from '../../verifier/evidence.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
import { createSimulatorChain, certificatesPem, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors } from '../../verifier/testing/simulator-anchors.ts';
import { buildTdxQuote } from '../../verifier/testing/tdx-quote-builder.ts';
import { parseCertificateDer, parseCertificates } from '../../verifier/x509/certificate.ts';
import { x509 } from '../../verifier/x509/peculiar.ts';
import { createHash, sign, type KeyObject } from 'node:crypto';
import { byName } from './cases.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const failed = (r: VerificationResult): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);
const check = (r: VerificationResult, id: string) => r.checks.find((c) => c.id === id);

let chain: SimulatorChain;
let anchors: IntelAnchor[];
let quote: Uint8Array;
let collateral: IntelCollateral;

beforeAll(async () => {
  chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  anchors = simulatorAnchors(chain).intel;
  quote = buildTdxQuote(chain).quote;
  const signingChain = certificatesPem(chain.intel.tcbSigning, chain.intel.root);
  collateral = {
    tcbInfo: chain.intel.tcbInfo,
    tcbInfoIssuerChain: signingChain,
    qeIdentity: chain.intel.qeIdentity,
    qeIdentityIssuerChain: signingChain,
    pckCrl: chain.intel.pckCrl,
    rootCaCrl: chain.intel.rootCaCrl,
  };
});

/** Re-sign the inner object of a PCS body after `edit`, with `key` (the test TCB Signing key by default). */
function resign(body: string, field: 'tcbInfo' | 'enclaveIdentity', edit: (inner: Record<string, unknown>) => void, key?: KeyObject): string {
  const inner = (JSON.parse(body) as Record<string, Record<string, unknown>>)[field]!;
  edit(inner);
  const text = JSON.stringify(inner);
  const sig = sign('sha256', Buffer.from(text), { key: key ?? chain.intel.tcbSigningKey, dsaEncoding: 'ieee-p1363' }).toString('hex');
  return `{"${field}":${text},"signature":"${sig}"}`;
}

async function crlWith(issuerDer: Buffer, issuerKey: KeyObject, revoked: Buffer[]): Promise<Buffer> {
  const signingKey = await webcrypto.subtle.importKey(
    'pkcs8',
    issuerKey.export({ format: 'der', type: 'pkcs8' }),
    { name: 'ECDSA', namedCurve: 'P-256' },
    false,
    ['sign'],
  );
  const crl = await x509.X509CrlGenerator.create({
    issuer: new x509.X509Certificate(issuerDer).subjectName,
    thisUpdate: new Date(NOW.getTime() - 86_400_000),
    nextUpdate: new Date(NOW.getTime() + 86_400_000),
    entries: revoked.map((der) => ({ serialNumber: parseCertificateDer(der).serial, revocationDate: new Date(NOW.getTime() - 3_600_000) })),
    signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } as Parameters<typeof x509.X509CrlGenerator.create>[0]['signingAlgorithm'],
    signingKey: signingKey as unknown as Parameters<typeof x509.X509CrlGenerator.create>[0]['signingKey'],
  });
  return Buffer.from(crl.rawData);
}

/** A v4 quote with its certification data's PEM chain replaced (the signed region is unchanged). */
function withPemChain(bytes: Uint8Array, pem: string): Buffer {
  const q = parseIntelQuote(bytes);
  const c = q.certification;
  const u16 = (n: number) => Buffer.from(Uint16Array.of(n).buffer);
  const u32 = (n: number) => Buffer.from(Uint32Array.of(n).buffer);
  const pemBytes = Buffer.from(pem, 'latin1');
  const qeData = Buffer.concat([c.qeReport.raw, c.qeReportSignature, u16(c.qeAuthData.length), c.qeAuthData, u16(5), u32(pemBytes.length), pemBytes]);
  const sigData = Buffer.concat([q.signature, q.attestationKey, u16(6), u32(qeData.length), qeData]);
  return Buffer.concat([q.signedBytes, u32(sigData.length), sigData]);
}

describe('the simulated chain (a local test CA as a non-production anchor)', () => {
  it('verifies, marked simulated', () => {
    const r = verifyIntelQuote(quote, collateral, { at: NOW, anchors });
    expect(failed(r)).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.claims?.simulated).toBe(true);
    expect(r.warnings.some((w) => w.includes('SIMULATED'))).toBe(true);
  });

  it('is a look-alike of the Intel root (same name, another key) and fails against the pinned root', () => {
    const real = parseCertificates(byName('phala-b0c06f-v4-uptodate').collateral.tcbInfoIssuerChain)[1]!;
    const fake = parseCertificateDer(chain.intel.root);
    expect(fake.subject).toBe(real.subject);
    expect(fake.publicKey.equals(real.publicKey)).toBe(false);
    const r = verifyIntelQuote(quote, collateral, { at: NOW });
    expect(r.verified).toBe(false);
    expect(failed(r)).toEqual(['tdx.pck.chain', 'tdx.collateral.tcb-info.chain', 'tdx.collateral.qe-identity.chain', 'tdx.root-ca.crl']);
    expect(r.claims?.simulated).toBeUndefined();
  });

  it('a revoked PCK certificate fails tdx.pck.crl, naming its serial', async () => {
    const pckCrl = await crlWith(chain.intel.pckCa, chain.intel.pckCaKey, [chain.intel.pck]);
    const r = verifyIntelQuote(quote, { ...collateral, pckCrl }, { at: NOW, anchors });
    expect(failed(r)).toEqual(['tdx.pck.crl']);
    expect(check(r, 'tdx.pck.crl')?.found).toEqual({ revokedSerial: parseCertificateDer(chain.intel.pck).serial });
  });

  it('a revoked PCK CA (Root CA CRL) fails tdx.root-ca.crl', async () => {
    const rootCaCrl = await crlWith(chain.intel.root, chain.intel.rootKey, [chain.intel.pckCa]);
    const r = verifyIntelQuote(quote, { ...collateral, rootCaCrl }, { at: NOW, anchors });
    expect(failed(r)).toEqual(['tdx.root-ca.crl']);
  });

  it('a revoked TCB Signing certificate fails tdx.root-ca.crl', async () => {
    const rootCaCrl = await crlWith(chain.intel.root, chain.intel.rootKey, [chain.intel.tcbSigning]);
    expect(failed(verifyIntelQuote(quote, { ...collateral, rootCaCrl }, { at: NOW, anchors }))).toEqual(['tdx.root-ca.crl']);
  });

  it('a CRL of another issuer given as the PCK CRL fails tdx.pck.crl', () => {
    const r = verifyIntelQuote(quote, { ...collateral, pckCrl: chain.intel.rootCaCrl }, { at: NOW, anchors });
    expect(failed(r)).toEqual(['tdx.pck.crl']);
  });

  it('a TCB Info for another FMSPC fails tdx.collateral.tcb-info.fmspc', () => {
    const tcbInfo = resign(collateral.tcbInfo, 'tcbInfo', (t) => (t.fmspc = '00906EA10000'));
    const r = verifyIntelQuote(quote, { ...collateral, tcbInfo }, { at: NOW, anchors });
    expect(failed(r)).toEqual(['tdx.collateral.tcb-info.fmspc']);
    expect(check(r, 'tdx.collateral.tcb-info.fmspc')).toMatchObject({ expected: { fmspc: '5e5e5e000000' }, found: { fmspc: '00906ea10000' } });
  });

  it('a TCB Info for another PCE-ID fails tdx.collateral.tcb-info.fmspc', () => {
    const tcbInfo = resign(collateral.tcbInfo, 'tcbInfo', (t) => (t.pceId = '0100'));
    expect(failed(verifyIntelQuote(quote, { ...collateral, tcbInfo }, { at: NOW, anchors }))).toEqual(['tdx.collateral.tcb-info.fmspc']);
  });

  it('an SGX TCB Info for a TDX quote fails tdx.collateral.tcb-info.id', () => {
    const tcbInfo = resign(collateral.tcbInfo, 'tcbInfo', (t) => (t.id = 'SGX'));
    expect(failed(verifyIntelQuote(quote, { ...collateral, tcbInfo }, { at: NOW, anchors }))).toContain('tdx.collateral.tcb-info.id');
  });

  it('a TCB Info signed by another key fails tdx.collateral.tcb-info.signature', () => {
    const tcbInfo = resign(collateral.tcbInfo, 'tcbInfo', () => undefined, chain.intel.pckCaKey);
    expect(failed(verifyIntelQuote(quote, { ...collateral, tcbInfo }, { at: NOW, anchors }))).toEqual(['tdx.collateral.tcb-info.signature']);
  });

  it('a pretty-printed (re-serialised) TCB Info no longer verifies', () => {
    const parsed = JSON.parse(collateral.tcbInfo) as { tcbInfo: unknown; signature: string };
    const pretty = `{"tcbInfo":${JSON.stringify(parsed.tcbInfo, null, 2)},"signature":"${parsed.signature}"}`;
    expect(failed(verifyIntelQuote(quote, { ...collateral, tcbInfo: pretty }, { at: NOW, anchors }))).toEqual(['tdx.collateral.tcb-info.signature']);
  });

  it('a body with the signed member twice is malformed', () => {
    const parsed = JSON.parse(collateral.tcbInfo) as { signature: string };
    const inner = collateral.tcbInfo.slice('{"tcbInfo":'.length, collateral.tcbInfo.lastIndexOf(',"signature"'));
    const twice = `{"tcbInfo":${inner},"tcbInfo":${inner},"signature":"${parsed.signature}"}`;
    expect(() => verifyIntelQuote(quote, { ...collateral, tcbInfo: twice }, { at: NOW, anchors })).toThrow(
      expect.objectContaining({ code: 'intel_tcb_info_malformed' }),
    );
  });

  it('a QE Identity naming another MRSIGNER fails tdx.qe-identity.match', () => {
    const qeIdentity = resign(collateral.qeIdentity, 'enclaveIdentity', (e) => (e.mrsigner = 'AB'.repeat(32)));
    const r = verifyIntelQuote(quote, { ...collateral, qeIdentity }, { at: NOW, anchors });
    expect(failed(r)).toEqual(['tdx.qe-identity.match']);
    expect(check(r, 'tdx.qe-identity.match')?.expected).toEqual({ mrsigner: 'ab'.repeat(32) });
  });

  it('an SGX QE Identity for a TDX quote fails tdx.collateral.qe-identity.id', () => {
    const qeIdentity = resign(collateral.qeIdentity, 'enclaveIdentity', (e) => (e.id = 'QE'));
    expect(failed(verifyIntelQuote(quote, { ...collateral, qeIdentity }, { at: NOW, anchors }))).toEqual(['tdx.collateral.qe-identity.id']);
  });

  it('a QE whose ISVSVN meets no QE Identity level is TcbNotSupported', () => {
    const qeIdentity = resign(collateral.qeIdentity, 'enclaveIdentity', (e) => {
      for (const l of e.tcbLevels as { tcb: { isvsvn: number } }[]) l.tcb.isvsvn = 200;
    });
    const r = verifyIntelQuote(quote, { ...collateral, qeIdentity }, { at: NOW, anchors });
    expect(failed(r)).toEqual(['tdx.tcb.status']);
    expect(r.tcb?.status).toBe('TcbNotSupported');
  });

  it('a Revoked TCB level is rejected with its status', () => {
    const tcbInfo = resign(collateral.tcbInfo, 'tcbInfo', (t) => {
      for (const l of t.tcbLevels as { tcbStatus: string }[]) l.tcbStatus = 'Revoked';
    });
    const r = verifyIntelQuote(quote, { ...collateral, tcbInfo }, { at: NOW, anchors });
    expect(failed(r)).toEqual(['tdx.tcb.status']);
    expect(r.tcb?.status).toBe('Revoked');
  });

  it('an OutOfDate TCB level is verified: the status is for policy to judge', () => {
    const tcbInfo = resign(collateral.tcbInfo, 'tcbInfo', (t) => {
      for (const l of t.tcbLevels as { tcbStatus: string; advisoryIDs?: string[] }[]) {
        l.tcbStatus = 'OutOfDate';
        l.advisoryIDs = ['INTEL-SA-01234'];
      }
    });
    const r = verifyIntelQuote(quote, { ...collateral, tcbInfo }, { at: NOW, anchors });
    expect(r.verified).toBe(true);
    expect(r.tcb).toMatchObject({ status: 'OutOfDate', advisoryIds: ['INTEL-SA-01234'] });
  });

  it('a TDX module signed by someone else fails tdx.tdx-module.identity', () => {
    const other = buildTdxQuote(chain, { mrSignerSeam: createHash('sha384').update('not intel').digest() }).quote;
    expect(failed(verifyIntelQuote(other, collateral, { at: NOW, anchors }))).toEqual(['tdx.tdx-module.identity']);
  });

  it('a QE report with a REPORTDATA that does not bind the key fails tdx.qe-report.binding', () => {
    const q = Buffer.from(quote);
    const parsed = parseIntelQuote(q);
    // The offset within the quote, from the parser's own copy (its signed bytes start the
    // quote). Never from q.byteOffset: the two copies may sit anywhere in Buffer's shared
    // pool, which takes every Buffer under half of Buffer.poolSize (8 KiB on Node 20 and 22,
    // 64 KiB from Node 24 on, so this 4.5 KB quote is pooled on 24 only), and a wrong index
    // writes past the end, which a typed array silently ignores: the quote stayed intact.
    const authAt = parsed.certification.qeAuthData.byteOffset - parsed.signedBytes.byteOffset;
    expect(q.subarray(authAt, authAt + parsed.certification.qeAuthData.length)).toEqual(parsed.certification.qeAuthData);
    q[authAt] = q[authAt]! ^ 1;
    expect(failed(verifyIntelQuote(q, collateral, { at: NOW, anchors }))).toEqual(['tdx.qe-report.binding']);
  });
});

describe('real vectors', () => {
  const c = byName('phala-b0c06f-v4-uptodate');

  it('a quote carrying a look-alike root (Intel name, another key) fails tdx.pck.chain', () => {
    const [leaf, ca] = parseCertificates(parseIntelQuote(c.quote).certification.pckChainPem);
    const forged = withPemChain(c.quote, certificatesPem(leaf!.der, ca!.der, chain.intel.root));
    const r = verifyIntelQuote(forged, c.collateral, { at: c.at });
    expect(failed(r)).toEqual(['tdx.pck.chain']);
    expect(check(r, 'tdx.pck.chain')?.detail).toContain('different key');
    expect(check(r, 'tdx.pck.chain')?.found).toEqual({ rootSpkiSha256: expect.not.stringMatching(/^a0af0312/) });
  });

  it('a PCK CA signed by the look-alike root fails tdx.pck.chain even without a carried root', () => {
    const forged = withPemChain(c.quote, certificatesPem(chain.intel.pck, chain.intel.pckCa));
    const r = verifyIntelQuote(forged, c.collateral, { at: c.at });
    expect(failed(r)).toContain('tdx.pck.chain');
    expect(r.verified).toBe(false);
  });

  it('a TCB Info issuer chain ending in a look-alike root fails its chain check', () => {
    const [signer] = parseCertificates(c.collateral.tcbInfoIssuerChain);
    const r = verifyIntelQuote(c.quote, { ...c.collateral, tcbInfoIssuerChain: certificatesPem(signer!.der, chain.intel.root) }, { at: c.at });
    expect(failed(r)).toEqual(['tdx.collateral.tcb-info.chain']);
  });

  it('collateral past its nextUpdate fails, naming each document', () => {
    const at = new Date(Date.parse(c.meta.collateral.tcb_info.nextUpdate) + 1000);
    const r = verifyIntelQuote(c.quote, c.collateral, { at });
    expect(failed(r)).toEqual(['tdx.pck.crl', 'tdx.collateral.tcb-info.validity']);
    expect(check(r, 'tdx.collateral.tcb-info.validity')?.detail).toContain('TCB Info expired');
  });

  it('collateral not yet valid fails, naming each document', () => {
    const at = new Date(Date.parse(c.meta.collateral.tcb_info.issueDate) - 1000);
    const r = verifyIntelQuote(c.quote, c.collateral, { at, crl: 'off' });
    expect(failed(r)).toEqual(['tdx.collateral.tcb-info.validity', 'tdx.collateral.qe-identity.validity']);
    expect(check(r, 'tdx.collateral.tcb-info.validity')?.detail).toContain('not yet valid');
  });

  it('a TCB Info served stale past its nextUpdate passes with a warning', () => {
    const at = new Date(Date.parse(c.meta.collateral.tcb_info.nextUpdate) + 1000);
    const r = verifyIntelQuote(c.quote, c.collateral, { at, crl: 'off', provenance: { 'tcb-info': { source: 'cache', stale: true } } });
    expect(r.verified).toBe(true);
    expect(r.warnings.some((w) => w.includes('TCB Info is served stale'))).toBe(true);
    expect(r.collateral.find((u) => u.kind === 'tcb-info')).toMatchObject({ source: 'cache', stale: true });
  });

  it('no trusted Intel anchor at all: every chain and the Root CA CRL fail, nothing throws', () => {
    const r = verifyIntelQuote(c.quote, c.collateral, { at: c.at, anchors: [] });
    expect(failed(r)).toEqual(['tdx.pck.chain', 'tdx.collateral.tcb-info.chain', 'tdx.collateral.qe-identity.chain', 'tdx.root-ca.crl']);
  });

  it("an SGX vector's TCB Info for a TDX quote fails id and FMSPC", () => {
    const s = byName('sgx-phala-00a067110000-v3-config-swhardening');
    const r = verifyIntelQuote(c.quote, { ...c.collateral, tcbInfo: s.collateral.tcbInfo, tcbInfoIssuerChain: s.collateral.tcbInfoIssuerChain }, { at: c.at });
    expect(failed(r)).toEqual(expect.arrayContaining(['tdx.collateral.tcb-info.id', 'tdx.collateral.tcb-info.fmspc']));
  });
});

describe('malformed quotes: specific error codes', () => {
  const c = byName('phala-b0c06f-v4-uptodate');
  const v5 = byName('phala-90c06f-v5-no-tcb-level');
  const code = (bytes: Uint8Array): string => {
    try {
      parseIntelQuote(bytes);
    } catch (err) {
      if (err instanceof EvidenceFormatError) return err.code;
      throw err;
    }
    return 'parsed';
  };
  const patch = (src: Buffer, at: number, value: number, width: 2 | 4 = 2): Buffer => {
    const b = Buffer.from(src);
    if (width === 2) b.writeUInt16LE(value, at);
    else b.writeUInt32LE(value, at);
    return b;
  };
  const q = parseIntelQuote(c.quote);
  const sigStart = q.signedBytes.length + 4;

  it.each([
    ['empty', Buffer.alloc(0), 'intel_quote_truncated'],
    ['header only', c.quote.subarray(0, 48), 'intel_quote_truncated'],
    ['cut inside the body', c.quote.subarray(0, 300), 'intel_quote_truncated'],
    ['cut inside the signature data', c.quote.subarray(0, 2000), 'intel_quote_signature_data_length'],
    ['version 6', patch(c.quote, 0, 6), 'intel_quote_version'],
    ['version 3 with the TDX TEE type', patch(c.quote, 0, 3), 'intel_quote_tee_type'],
    ['attestation key type 3 (P-384)', patch(c.quote, 2, 3), 'intel_quote_attestation_key_type'],
    ['TEE type 0x42', patch(c.quote, 4, 0x42, 4), 'intel_quote_tee_type'],
    ['signature data longer than the buffer', patch(c.quote, q.signedBytes.length, 0xfffff, 4), 'intel_quote_signature_data_length'],
    ['signature data size not matching its contents', patch(c.quote, q.signedBytes.length, q.length - sigStart + 1, 4), 'intel_certification_data_length'],
    ['certification data type 3 (encrypted PPID)', patch(c.quote, sigStart + 128, 3), 'intel_certification_data_type'],
    ['type 6 size not filling it', patch(c.quote, sigStart + 130, 100, 4), 'intel_certification_data_length'],
    ['v5 body type 9', patch(v5.quote, 48, 9), 'intel_quote_body_type'],
    ['v5 body type 1 (SGX) in a TDX quote', patch(v5.quote, 48, 1), 'intel_quote_body_type'],
    ['v5 TD 1.5 body with a 584-byte size', patch(v5.quote, 50, 584, 4), 'intel_quote_body_size'],
  ])('%s', (_name, bytes, expected) => {
    expect(code(bytes)).toBe(expected);
  });

  it('a nested certification data type other than 5 is rejected', () => {
    const pemAt = c.quote.indexOf('-----BEGIN CERTIFICATE-----');
    expect(code(patch(c.quote, pemAt - 6, 4))).toBe('intel_certification_data_type');
  });

  it('text hidden next to the PEM chain is rejected', () => {
    const b = Buffer.from(c.quote);
    b[q.length - 1] = 0x41; // the chain's trailing NUL becomes 'A'
    expect(() => verifyIntelQuote(b, c.collateral, { at: c.at })).toThrow(expect.objectContaining({ code: 'intel_pck_chain_encoding' }));
  });
});

describe('layouts without a public vector: SGX quotes v4 and v5 (body type 1)', () => {
  // Rebuilt from the parts of the real SGX v3 quote: the layout is what is tested here
  // (signatures over a changed header cannot hold).
  const s = byName('sgx-phala-00a067110000-v3-config-swhardening');
  const v3 = parseIntelQuote(s.quote);
  const u16 = (n: number) => Buffer.from(Uint16Array.of(n).buffer);
  const u32 = (n: number) => Buffer.from(Uint32Array.of(n).buffer);
  const build = (version: 4 | 5): Buffer => {
    const header = Buffer.from(v3.signedBytes.subarray(0, 48));
    header.writeUInt16LE(version, 0);
    const body = v3.signedBytes.subarray(48);
    const c = v3.certification;
    const pem = Buffer.from(c.pckChainPem, 'latin1');
    const qeData = Buffer.concat([c.qeReport.raw, c.qeReportSignature, u16(c.qeAuthData.length), c.qeAuthData, u16(5), u32(pem.length), pem]);
    const sigData = Buffer.concat([v3.signature, v3.attestationKey, u16(6), u32(qeData.length), qeData]);
    const signed = version === 5 ? Buffer.concat([header, u16(1), u32(384), body]) : Buffer.concat([header, body]);
    return Buffer.concat([signed, u32(sigData.length), sigData]);
  };

  it.each([4, 5] as const)('v%i parses to the same SGX report and certification data', (version) => {
    const q = parseIntelQuote(build(version));
    expect(q.tee).toBe('sgx');
    expect(q.body.kind).toBe('sgx');
    expect(q.bodyType).toBe(version === 5 ? 1 : undefined);
    expect(q.signedBytes.length).toBe(version === 5 ? 48 + 6 + 384 : 48 + 384);
    if (q.body.kind !== 'sgx' || v3.body.kind !== 'sgx') throw new Error('SGX bodies expected');
    expect(q.body.report).toMatchObject({ mrEnclave: v3.body.report.mrEnclave, reportData: v3.body.report.reportData });
    expect(q.certification.qeReport.raw).toEqual(v3.certification.qeReport.raw);
    expect(q.certification.pckChainPem).toBe(v3.certification.pckChainPem);
    // Everything but the quote signature (the header changed) still verifies.
    const r = verifyIntelQuote(q, s.collateral, { at: s.at });
    expect(failed(r)).toEqual(['sgx.quote.signature']);
  });
});
