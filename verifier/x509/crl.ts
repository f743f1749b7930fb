// Certificate revocation lists (RFC 5280 section 5): AMD KDS's per-product CRL (signed by the
// ARK, RSA-PSS) and Intel's PCK and Root CA CRLs (ECDSA P-256). Parsed once per distinct
// DER; the signature check is cached per (CRL, issuer) pair. Whether a CRL is current is a
// question of time and is answered on every use.

import { AsnConvert } from '@peculiar/asn1-schema';
import { CertificateList } from '@peculiar/asn1-x509';
import { EvidenceFormatError } from '../errors.ts';
import { BoundedCache } from './bounded-cache.ts';
import { normalizeSerial, sha256Hex, type Certificate } from './certificate.ts';
import { derSingle } from './pem.ts';
import { verifyWithAlgorithm } from './signature-algorithm.ts';

export interface Crl {
  der: Buffer;
  sha256: string;
  /** DER of the issuer Name, hex: compare with Certificate.subjectNameDer. */
  issuerNameDer: string;
  thisUpdate: Date;
  nextUpdate?: Date;
  /** Revoked serial numbers, normalised as Certificate.serial. */
  revokedSerials: ReadonlySet<string>;
  asn: CertificateList;
}

const parsed = new BoundedCache<string, Crl>(256);
const signatures = new BoundedCache<string, boolean>(1024);

/** Parse a CRL from DER or PEM (`X509 CRL`). Throws EvidenceFormatError naming `what`. */
export function parseCrl(input: Uint8Array | string, what = 'CRL'): Crl {
  const der = derSingle(input, 'X509 CRL', what);
  const sha256 = sha256Hex(der);
  const hit = parsed.get(sha256);
  if (hit) return hit;
  let asn: CertificateList;
  try {
    asn = AsnConvert.parse(der, CertificateList);
  } catch {
    throw new EvidenceFormatError('crl_malformed', `The ${what} is not a valid X.509 CRL.`);
  }
  if (!asn.tbsCertListRaw) throw new EvidenceFormatError('crl_malformed', `The ${what} has no signed part.`);
  const tbs = asn.tbsCertList;
  const revoked = new Set<string>();
  for (const entry of tbs.revokedCertificates ?? []) {
    revoked.add(normalizeSerial(Buffer.from(entry.userCertificate).toString('hex')));
  }
  const crl: Crl = {
    der,
    sha256,
    issuerNameDer: Buffer.from(AsnConvert.serialize(tbs.issuer)).toString('hex'),
    thisUpdate: tbs.thisUpdate.getTime(),
    ...(tbs.nextUpdate ? { nextUpdate: tbs.nextUpdate.getTime() } : {}),
    revokedSerials: revoked,
    asn,
  };
  parsed.set(sha256, crl);
  return crl;
}

/** The issuer's name matches and its key verifies the CRL signature. */
export function isCrlIssuedBy(crl: Crl, issuer: Certificate): boolean {
  if (crl.issuerNameDer !== issuer.subjectNameDer) return false;
  const key = `${crl.sha256}:${issuer.sha256}`;
  const hit = signatures.get(key);
  if (hit !== undefined) return hit;
  // The outer and inner algorithm identifiers must agree (RFC 5280 5.1.1.2).
  const outer = crl.asn.signatureAlgorithm;
  const inner = crl.asn.tbsCertList.signature;
  const sameAlgorithm =
    outer.algorithm === inner.algorithm &&
    Buffer.compare(Buffer.from(outer.parameters ?? new ArrayBuffer(0)), Buffer.from(inner.parameters ?? new ArrayBuffer(0))) === 0;
  const ok =
    sameAlgorithm &&
    verifyWithAlgorithm(outer, new Uint8Array(crl.asn.tbsCertListRaw!), new Uint8Array(crl.asn.signature), issuer.publicKey);
  signatures.set(key, ok);
  return ok;
}

/** thisUpdate <= at <= nextUpdate (a CRL without nextUpdate is current from thisUpdate on). */
export function isCrlCurrentAt(crl: Crl, at: Date): boolean {
  const t = at.getTime();
  if (crl.thisUpdate.getTime() > t) return false;
  return crl.nextUpdate === undefined || t <= crl.nextUpdate.getTime();
}

export function isRevoked(crl: Crl, cert: Certificate): boolean {
  return crl.revokedSerials.has(cert.serial);
}
