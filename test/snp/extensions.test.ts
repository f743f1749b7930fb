// DER reading of AMD's certificate extensions, and the RSASSA-PSS SHA-384 requirement on
// the chain, on certificates re-issued by the simulated ASK with other algorithms.

import { webcrypto, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { derUint, parseHwId } from '../../verifier/snp/extensions.ts';
import { amdSignatureAlgorithm } from '../../verifier/snp/verify-chain.ts';
import { verifySnpReport } from '../../verifier/snp/verify-evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../../verifier/testing/snp-report-builder.ts';
import { parseCertificateDer } from '../../verifier/x509/certificate.ts';
import { x509 } from '../../verifier/x509/peculiar.ts';

const h = (s: string): Buffer => Buffer.from(s.replace(/\s/g, ''), 'hex');

describe('DER INTEGER extensions', () => {
  it.each([
    ['020100', 0],
    ['020105', 5],
    ['02020080', 128], // a leading zero keeps 128 positive: the last byte alone would be right, the first wrong
    ['020200db', 219],
    ['02020100', 256],
  ])('%s is %d', (hex, n) => {
    expect(derUint(h(hex), 'spl')).toBe(n);
  });

  it.each([
    ['0201ff', 'negative'],
    ['02020005', 'non-minimal'],
    ['040105', 'expected an INTEGER'],
    ['0202 05', 'length does not match'],
    ['020105 00', 'length does not match'],
    ['0200', 'empty INTEGER'],
    ['02', 'too short'],
  ])('%s is refused (%s)', (hex, why) => {
    expect(() => derUint(h(hex), 'blSPL')).toThrow(expect.objectContaining({ code: 'snp_cert_extension', message: expect.stringContaining(why) }) as Error);
  });
});

describe('hwID', () => {
  const raw64 = Buffer.alloc(64, 0xab);
  it('reads 64 raw bytes, 8 raw bytes (Turin), and either wrapped in an OCTET STRING', () => {
    expect(parseHwId(raw64)).toBe('ab'.repeat(64));
    expect(parseHwId(Buffer.alloc(8, 1))).toBe('01'.repeat(8));
    expect(parseHwId(Buffer.concat([h('0440'), raw64]))).toBe('ab'.repeat(64));
    expect(parseHwId(Buffer.concat([h('0408'), Buffer.alloc(8, 2)]))).toBe('02'.repeat(8));
  });
  it('refuses other lengths and other wrappers', () => {
    expect(() => parseHwId(Buffer.alloc(32))).toThrow(expect.objectContaining({ code: 'snp_cert_extension' }) as Error);
    expect(() => parseHwId(Buffer.concat([h('0420'), Buffer.alloc(32)]))).toThrow(expect.objectContaining({ code: 'snp_cert_extension' }) as Error);
    expect(() => parseHwId(Buffer.concat([h('0c40'), raw64]))).toThrow(expect.objectContaining({ code: 'snp_cert_extension' }) as Error);
  });
});

describe('the chain must be RSASSA-PSS with SHA-384', () => {
  const NOW = new Date('2026-03-01T00:00:00Z');
  let chain: SimulatorChain;
  beforeAll(async () => {
    chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  });

  /** The simulated VCEK, re-issued by the simulated ASK with `algorithm` (same key, same AMD extensions). */
  async function reissue(algorithm: { name: string; hash: string; saltLength?: number }): Promise<Buffer> {
    const importAs = (key: KeyObject, alg: object) =>
      webcrypto.subtle.importKey('pkcs8', key.export({ format: 'der', type: 'pkcs8' }), alg as webcrypto.RsaHashedImportParams, false, ['sign']);
    const vcek = new x509.X509Certificate(chain.amd.vcek);
    const ask = new x509.X509Certificate(chain.amd.ask);
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: vcek.serialNumber,
      subject: vcek.subjectName,
      issuer: ask.subjectName,
      notBefore: vcek.notBefore,
      notAfter: vcek.notAfter,
      publicKey: vcek.publicKey,
      extensions: vcek.extensions,
      signingAlgorithm: algorithm as webcrypto.Algorithm,
      signingKey: (await importAs(chain.amd.askKey, { name: algorithm.name, hash: algorithm.hash })) as Parameters<typeof x509.X509CertificateGenerator.create>[0] extends { signingKey: infer K } ? K : never,
    });
    return Buffer.from(cert.rawData);
  }

  const verify = (vcek: Buffer) =>
    verifySnpReport(buildSnpReport(chain).report, { certificates: { vcek } }, { at: NOW, anchors: simulatorAnchors(chain), crl: 'off' });

  it('accepts the simulated chain as issued (PSS, SHA-384, salt 48)', () => {
    expect(amdSignatureAlgorithm(parseCertificateDer(chain.amd.vcek))).toBe(true);
    expect(verify(chain.amd.vcek).verified).toBe(true);
  });

  it('refuses a VCEK validly signed by the ASK with RSASSA-PKCS1-v1_5', async () => {
    const vcek = await reissue({ name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-384' });
    const r = verify(vcek);
    expect(r.checks.filter((c) => !c.ok).map((c) => c.id)).toEqual(['snp.chain.signature-algorithm']);
    expect(r.checks.find((c) => c.id === 'snp.chain.signer-signed-by-intermediate')?.ok).toBe(true);
  });

  it('refuses RSASSA-PSS with SHA-256, and with a salt other than 48', async () => {
    for (const alg of [
      { name: 'RSA-PSS', hash: 'SHA-256', saltLength: 32 },
      { name: 'RSA-PSS', hash: 'SHA-384', saltLength: 32 },
    ]) {
      const r = verify(await reissue(alg));
      expect(r.checks.filter((c) => !c.ok).map((c) => c.id), JSON.stringify(alg)).toEqual(['snp.chain.signature-algorithm']);
    }
  });
});
