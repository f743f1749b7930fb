import { readFileSync } from 'node:fs';
import { webcrypto } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { x509 } from '../../verifier/x509/peculiar.ts';
import { isIssuedBy, isSelfSigned, isSignedBy, isValidAt, parseCertificate, parseCertificates } from '../../verifier/x509/certificate.ts';
import { isCrlCurrentAt, isCrlIssuedBy, isRevoked, parseCrl } from '../../verifier/x509/crl.ts';
import { EvidenceFormatError } from '../../verifier/errors.ts';

const fixture = (p: string) => readFileSync(new URL(`../fixtures/${p}`, import.meta.url));

describe('certificates', () => {
  it('chains an AMD VCEK to its ASK and ARK (RSA-PSS) and caches by hash', () => {
    const [ask, ark] = parseCertificates(fixture('snp/milan-v3-mstav/cert_chain.pem'));
    const vcek = parseCertificate(fixture('snp/milan-v3-mstav/vcek.der'));
    expect(isSelfSigned(ark!)).toBe(true);
    expect(isIssuedBy(ask!, ark!)).toBe(true);
    expect(isIssuedBy(vcek, ask!)).toBe(true);
    expect(isIssuedBy(vcek, ark!)).toBe(false);
    expect(parseCertificate(fixture('snp/milan-v3-mstav/vcek.der'))).toBe(vcek);
    expect(isValidAt(vcek, new Date('2026-02-06T00:00:00Z'))).toBe(true);
    expect(isValidAt(vcek, new Date('2026-02-04T00:00:00Z'))).toBe(false);
  });

  it('rejects a Milan VCEK under the Genoa ASK', () => {
    const vcek = parseCertificate(fixture('snp/milan-v3-mstav/vcek.der'));
    const [genoaAsk] = parseCertificates(fixture('snp/amd-roots/genoa/cert_chain_vcek.pem'));
    expect(isSignedBy(vcek, genoaAsk!)).toBe(false);
  });

  it('detects one flipped byte in the signature of a certificate', () => {
    const der = Buffer.from(fixture('snp/milan-v3-mstav/vcek.der'));
    der[der.length - 10]! ^= 0x01;
    const [ask] = parseCertificates(fixture('snp/milan-v3-mstav/cert_chain.pem'));
    expect(isSignedBy(parseCertificate(der), ask!)).toBe(false);
  });

  it('fails cleanly on garbage', () => {
    expect(() => parseCertificate(Buffer.from([0x30, 0x03, 0x01, 0x01, 0x00]))).toThrow(EvidenceFormatError);
    expect(() => parseCertificate(Buffer.from('-----BEGIN CERTIFICATE-----\n!!!\n-----END CERTIFICATE-----\n'))).toThrow(/base64/);
    expect(() => parseCertificate(Buffer.from('hello'))).toThrow(/neither DER nor PEM/);
    expect(() => parseCertificate(Buffer.alloc(0))).toThrow(EvidenceFormatError);
  });
});

describe('CRLs', () => {
  const dir = 'tdx/phala-b0c06f-v4-uptodate';

  it('verifies the Intel PCK CRL against its issuer and reads its window and serials', () => {
    const crl = parseCrl(fixture(`${dir}/pck_crl.der`));
    const [platformCa, root] = parseCertificates(fixture(`${dir}/pck_crl_issuer_chain.pem`));
    expect(isCrlIssuedBy(crl, platformCa!)).toBe(true);
    expect(isCrlIssuedBy(crl, root!)).toBe(false);
    expect(crl.revokedSerials.size).toBeGreaterThan(0);
    expect(crl.revokedSerials.has('6fc34e5023e728923435d61aa4b83c618166ad35')).toBe(true);
    expect(isCrlCurrentAt(crl, new Date('2025-07-19T10:00:34Z'))).toBe(true);
    expect(isCrlCurrentAt(crl, new Date('2025-07-19T10:00:36Z'))).toBe(false);
    expect(isCrlCurrentAt(crl, new Date('2025-06-19T10:00:34Z'))).toBe(false);
  });

  it('rejects a CRL with any byte of its signed part changed', () => {
    const der = fixture(`${dir}/root_ca_crl.der`);
    const [, root] = parseCertificates(fixture(`${dir}/pck_crl_issuer_chain.pem`));
    expect(isCrlIssuedBy(parseCrl(der), root!)).toBe(true);
    // Flip each byte of the TBSCertList (it starts after the outer SEQUENCE header).
    const tbsLength = parseCrl(der).asn.tbsCertListRaw!.byteLength;
    const headerLength = der[1]! & 0x80 ? 2 + (der[1]! & 0x7f) : 2;
    let accepted = 0;
    for (let i = headerLength; i < headerLength + tbsLength; i++) {
      const bad = Buffer.from(der);
      bad[i]! ^= 0x01;
      try {
        if (isCrlIssuedBy(parseCrl(bad), root!)) accepted++;
      } catch (e) {
        expect(e).toBeInstanceOf(EvidenceFormatError);
      }
    }
    expect(accepted).toBe(0);
  });

  it('verifies an RSA-PSS CRL (the AMD KDS form) and finds a revoked serial', async () => {
    const alg = { name: 'RSA-PSS', hash: 'SHA-384', publicExponent: new Uint8Array([1, 0, 1]), modulusLength: 2048 };
    const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    const name = 'CN=ARK-Test, O=tessera tests';
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      name,
      keys,
      serialNumber: '01',
      notBefore: new Date('2024-01-01T00:00:00Z'),
      notAfter: new Date('2034-01-01T00:00:00Z'),
      signingAlgorithm: { name: 'RSA-PSS', saltLength: 48 },
    });
    const crl = await x509.X509CrlGenerator.create({
      issuer: ca.subjectName.toString(),
      thisUpdate: new Date('2025-01-01T00:00:00Z'),
      nextUpdate: new Date('2025-02-01T00:00:00Z'),
      entries: [{ serialNumber: '0abc', revocationDate: new Date('2025-01-01T00:00:00Z') }],
      signingKey: keys.privateKey,
      signingAlgorithm: { name: 'RSA-PSS', saltLength: 48 } as webcrypto.Algorithm,
    });
    const parsedCrl = parseCrl(new Uint8Array(crl.rawData));
    const caCert = parseCertificate(new Uint8Array(ca.rawData));
    expect(isCrlIssuedBy(parsedCrl, caCert)).toBe(true);
    expect(parsedCrl.revokedSerials.has('abc')).toBe(true);
    expect(isRevoked(parsedCrl, caCert)).toBe(false);
  });
});
