// Certificates parsed once and remembered by the SHA-256 of their DER. Verification runs
// on every attestation but the same few chains recur, so parsing, key import and issuer
// signature checks are done once per distinct certificate (issue 2: "parse and verify
// each certificate once and cache by its hash, keep keys as KeyObjects").
// What is cached never depends on time: validity windows are checked on every use.

import { X509Certificate, createHash, type KeyObject } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import { Certificate as AsnCertificate, type AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { EvidenceFormatError } from '../errors.ts';
import { derBlocks, derSingle } from './pem.ts';
import { BoundedCache } from './bounded-cache.ts';

export interface Certificate {
  der: Buffer;
  /** SHA-256 of the DER, lower-case hex: the certificate's identity in caches and audit records. */
  sha256: string;
  x509: X509Certificate;
  publicKey: KeyObject;
  notBefore: Date;
  notAfter: Date;
  /** Serial number, lower-case hex without leading zeros (the form CRL lookups use). */
  serial: string;
  /** Human-readable DNs, for messages. */
  subject: string;
  issuer: string;
  /** DER of the subject and issuer Names, hex: for exact issuer matching. */
  subjectNameDer: string;
  issuerNameDer: string;
  /** extnValue contents (the bytes inside the OCTET STRING) by extension OID. */
  extensions: ReadonlyMap<string, Buffer>;
  /** The outer signatureAlgorithm, as decoded once here (callers that judge it need not parse the DER again). */
  signatureAlgorithm: AlgorithmIdentifier;
}

const parsed = new BoundedCache<string, Certificate>(4096);
const signatures = new BoundedCache<string, boolean>(16384);

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export function normalizeSerial(hex: string): string {
  const s = hex.toLowerCase().replace(/^0+/, '');
  return s === '' ? '0' : s;
}

/** The total length (header + contents) of the DER object that starts `der`, or -1. */
export function derLength(der: Uint8Array): number {
  if (der.length < 2) return -1;
  const first = der[1]!;
  if (first < 0x80) return 2 + first;
  const n = first & 0x7f;
  if (n === 0 || n > 4 || der.length < 2 + n) return -1;
  let len = 0;
  for (let i = 0; i < n; i++) len = len * 256 + der[2 + i]!;
  return 2 + n + len;
}

/** Parse one DER certificate (cached by hash). Throws EvidenceFormatError naming `what`. */
export function parseCertificateDer(der: Uint8Array, what = 'certificate'): Certificate {
  const sha256 = sha256Hex(der);
  const hit = parsed.get(sha256);
  if (hit) return hit;
  let x509: X509Certificate;
  let asn: AsnCertificate;
  let publicKey: KeyObject;
  let notBefore: Date;
  let notAfter: Date;
  try {
    x509 = new X509Certificate(der);
    asn = AsnConvert.parse(der, AsnCertificate);
    // The key and the dates are decoded lazily by node:crypto: a certificate whose key does
    // not decode, or whose validity is not a real time, is malformed too (found by flipping
    // every byte of real VCEKs: test/snp/corruption.test.ts).
    // DER is exact: bytes after the certificate's outer SEQUENCE (which OpenSSL ignores) would
    // give the same certificate another hash, so another identity in caches and audit records.
    if (derLength(der) !== der.length) throw new Error('trailing bytes');
    publicKey = x509.publicKey;
    notBefore = new Date(x509.validFrom);
    notAfter = new Date(x509.validTo);
    if (Number.isNaN(notBefore.getTime()) || Number.isNaN(notAfter.getTime())) throw new Error('bad validity');
  } catch {
    throw new EvidenceFormatError('certificate_malformed', `The ${what} is not a valid X.509 certificate.`);
  }
  const tbs = asn.tbsCertificate;
  const extensions = new Map<string, Buffer>();
  for (const ext of tbs.extensions ?? []) extensions.set(ext.extnID, Buffer.from(ext.extnValue.buffer));
  const cert: Certificate = {
    der: Buffer.from(der),
    sha256,
    x509,
    publicKey,
    notBefore,
    notAfter,
    serial: normalizeSerial(x509.serialNumber),
    subject: x509.subject.replace(/\n/g, ', '),
    issuer: x509.issuer.replace(/\n/g, ', '),
    subjectNameDer: Buffer.from(AsnConvert.serialize(tbs.subject)).toString('hex'),
    issuerNameDer: Buffer.from(AsnConvert.serialize(tbs.issuer)).toString('hex'),
    extensions,
    signatureAlgorithm: asn.signatureAlgorithm,
  };
  parsed.set(sha256, cert);
  return cert;
}

/** One certificate from DER or single-block PEM. */
export function parseCertificate(input: Uint8Array | string, what = 'certificate'): Certificate {
  return parseCertificateDer(derSingle(input, 'CERTIFICATE', what), what);
}

/** Every certificate in DER (one) or PEM (one or more blocks), in order. */
export function parseCertificates(input: Uint8Array | string, what = 'certificate chain'): Certificate[] {
  return derBlocks(input, 'CERTIFICATE', what).map((der) => parseCertificateDer(der, what));
}

/**
 * True when `issuer`'s key verifies `cert`'s signature (RSA-PSS, RSA PKCS#1 or ECDSA:
 * OpenSSL reads the algorithm from the certificate). Cached by the pair of hashes: a
 * signature does not change with time.
 */
export function isSignedBy(cert: Certificate, issuer: Certificate): boolean {
  const key = `${cert.sha256}:${issuer.sha256}`;
  const hit = signatures.get(key);
  if (hit !== undefined) return hit;
  let ok: boolean;
  try {
    ok = cert.x509.verify(issuer.publicKey);
  } catch {
    ok = false;
  }
  signatures.set(key, ok);
  return ok;
}

/** Names chain (cert's issuer DN == issuer's subject DN, byte for byte) and the signature verifies. */
export function isIssuedBy(cert: Certificate, issuer: Certificate): boolean {
  return cert.issuerNameDer === issuer.subjectNameDer && isSignedBy(cert, issuer);
}

export function isValidAt(cert: Certificate, at: Date): boolean {
  const t = at.getTime();
  return cert.notBefore.getTime() <= t && t <= cert.notAfter.getTime();
}

export function isSelfSigned(cert: Certificate): boolean {
  return isIssuedBy(cert, cert);
}
