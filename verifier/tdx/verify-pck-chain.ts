// The PCK certificate chain carried in the quote: PCK leaf <- Intel SGX PCK Platform or
// Processor CA <- Intel SGX Root CA (pinned), each valid at the verification time, with the
// PCK CRL of the leaf's issuer and the Root CA CRL (signature, thisUpdate/nextUpdate,
// revoked serials). QVL Verifiers/PckCertVerifier.cpp, PckCrlVerifier.cpp and
// QuoteVerifier.cpp 4.1.2.4.4 - 4.1.2.4.7; Intel "SGX PCK Certificate and CRL Profile".

import { EvidenceFormatError } from '../errors.ts';
import type { IntelAnchor } from '../anchors.ts';
import type { Check } from '../result.ts';
import { BoundedCache } from '../x509/bounded-cache.ts';
import { isIssuedBy, parseCertificates, type Certificate } from '../x509/certificate.ts';
import { isCrlCurrentAt, isCrlIssuedBy, isRevoked, type Crl } from '../x509/crl.ts';
import { fail, iso, pass } from './check.ts';
import { pckExtension, type PckExtension } from './pck-extensions.ts';
import { chainToAnchor, commonName, invalidAt, type AnchorMatch } from './trust-chain.ts';

export type PckCa = 'platform' | 'processor';

export interface PckChain {
  leaf: Certificate;
  intermediate: Certificate;
  /** The root certificate the quote carries (informational; never trusted). */
  carriedRoot?: Certificate;
  pckCa: PckCa;
  extension: PckExtension;
}

const CA_NAMES: Record<string, PckCa> = {
  'Intel SGX PCK Platform CA': 'platform',
  'Intel SGX PCK Processor CA': 'processor',
};

// Quotes from one platform carry the same chain text: parse it once (the chain's trust is
// still evaluated on every use).
const parsedChains = new BoundedCache<string, PckChain>(1024);

/** Parse the PEM chain from the quote's certification data (cached by its text). Throws EvidenceFormatError. */
export function parsePckChain(pem: string): PckChain {
  const hit = parsedChains.get(pem);
  if (hit) return hit;
  const chain = parseChainUncached(pem);
  parsedChains.set(pem, chain);
  return chain;
}

// Only PEM CERTIFICATE blocks, whitespace and trailing NULs: bytes a PEM reader would skip
// are covered by no signature, so nothing else may hide there.
const PEM_CHAIN = /^(?:\s*-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+-----END CERTIFICATE-----)+\s*$/;

function parseChainUncached(pem: string): PckChain {
  if (!PEM_CHAIN.test(pem.replace(/\0+$/, ''))) {
    throw new EvidenceFormatError(
      'intel_pck_chain_encoding',
      'The PCK certificate chain is not PEM (only CERTIFICATE blocks, whitespace and trailing NULs are allowed).',
    );
  }
  const certs = parseCertificates(pem, 'PCK certificate chain');
  if (certs.length < 2 || certs.length > 3) {
    throw new EvidenceFormatError(
      'intel_pck_chain_length',
      `The PCK certificate chain has ${certs.length} certificates; expected the PCK leaf, its CA and optionally the root.`,
    );
  }
  const [leaf, intermediate, carriedRoot] = certs as [Certificate, Certificate, Certificate | undefined];
  const pckCa = CA_NAMES[commonName(intermediate)];
  if (!pckCa) {
    throw new EvidenceFormatError(
      'intel_pck_chain_issuer',
      `The PCK certificate's CA is "${commonName(intermediate)}", neither Intel SGX PCK Platform CA nor Processor CA.`,
    );
  }
  return { leaf, intermediate, ...(carriedRoot ? { carriedRoot } : {}), pckCa, extension: pckExtension(leaf) };
}

export interface PckChainVerification {
  checks: Check[];
  anchor?: AnchorMatch;
}

// The chain's signatures and the anchor it reaches do not change with time: remembered per
// parsed chain (itself cached) and anchor list. Validity is checked on every use.
const chainTrust = new WeakMap<PckChain, { anchors: readonly IntelAnchor[]; prefix: string; check: Check; anchor?: AnchorMatch }>();

/** `<tee>.pck.chain` and `<tee>.pck.validity`. */
export function verifyPckChain(chain: PckChain, anchors: readonly IntelAnchor[], at: Date, prefix: string): PckChainVerification {
  let trust = chainTrust.get(chain);
  if (!trust || trust.anchors !== anchors || trust.prefix !== prefix) {
    const t = chainSignatures(chain, anchors, prefix);
    trust = { anchors, prefix, ...t };
    chainTrust.set(chain, trust);
  }
  const anchor = trust.anchor;
  const checks: Check[] = [{ ...trust.check }];
  const expired = invalidAt([chain.leaf, chain.intermediate, ...(anchor ? [anchor.root] : [])], at);
  checks.push(
    expired.length === 0
      ? pass(`${prefix}.pck.validity`, `The PCK leaf, its CA and the root are valid at ${iso(at)}.`)
      : fail(`${prefix}.pck.validity`, `Certificates of the PCK chain are not valid at ${iso(at)}.`, `valid at ${iso(at)}`, expired),
  );
  return { checks, ...(anchor ? { anchor } : {}) };
}

function chainSignatures(chain: PckChain, anchors: readonly IntelAnchor[], prefix: string): { check: Check; anchor?: AnchorMatch } {
  const id = `${prefix}.pck.chain`;
  if (!commonName(chain.leaf).includes('SGX PCK Certificate')) {
    return { check: fail(id, 'The PCK leaf is not an Intel SGX PCK Certificate.', 'CN contains "SGX PCK Certificate"', commonName(chain.leaf)) };
  }
  if (!isIssuedBy(chain.leaf, chain.intermediate)) {
    return {
      check: fail(id, `The PCK leaf is not signed by ${chain.intermediate.subject}.`, { issuer: chain.intermediate.subject }, { issuer: chain.leaf.issuer }),
    };
  }
  const r = chainToAnchor(chain.intermediate, chain.carriedRoot, anchors);
  if (!r.ok) return { check: fail(id, r.detail, r.expected, r.found) };
  return {
    check: pass(id, `PCK leaf <- ${commonName(chain.intermediate)} <- pinned Intel SGX Root CA: every signature verifies.`),
    anchor: r.match,
  };
}

/**
 * Why a CRL is not current at `at`, or undefined when it is. A CRL served stale (the vendor
 * unreachable; the cache bounds how long) may be past nextUpdate, with a warning.
 */
function currency(crl: Crl, at: Date, name: string, stale: boolean, warnings: string[]): { detail: string; expected: string; found: unknown } | undefined {
  if (isCrlCurrentAt(crl, at)) return undefined;
  const found = { thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate?.toISOString() };
  if (stale && crl.thisUpdate.getTime() <= at.getTime()) {
    warnings.push(`The ${name} is served stale: past its nextUpdate ${found.nextUpdate} because the vendor could not be reached.`);
    return undefined;
  }
  return { detail: `The ${name} is not current at ${iso(at)}.`, expected: `thisUpdate <= ${iso(at)} <= nextUpdate`, found };
}

/**
 * `<tee>.pck.crl`: the CRL must be issued (name and signature) by the leaf's own CA, be
 * current, and not list the leaf. QVL QuoteVerifier.cpp 4.1.2.4.6 - 4.1.2.4.7.
 */
export function checkPckCrl(crl: Crl, chain: PckChain, at: Date, prefix: string, stale = false, warnings: string[] = []): Check {
  const id = `${prefix}.pck.crl`;
  if (!isCrlIssuedBy(crl, chain.intermediate)) {
    return fail(id, `The PCK CRL is not issued by the PCK leaf's CA (${commonName(chain.intermediate)}).`, chain.intermediate.subject, 'a CRL with another issuer or a bad signature');
  }
  const notCurrent = currency(crl, at, 'PCK CRL', stale, warnings);
  if (notCurrent) return fail(id, notCurrent.detail, notCurrent.expected, notCurrent.found);
  if (isRevoked(crl, chain.leaf)) {
    return fail(id, `The PCK certificate (serial ${chain.leaf.serial}) is revoked.`, 'not revoked', { revokedSerial: chain.leaf.serial });
  }
  return pass(id, `The PCK CRL of ${commonName(chain.intermediate)} is signed, current, and does not list the PCK certificate.`);
}

/**
 * `<tee>.root-ca.crl`: the Intel SGX Root CA CRL, signed by the pinned root and current,
 * must not list the PCK CA or the TCB Signing certificates in use.
 */
export function checkRootCaCrl(
  crl: Crl,
  root: Certificate,
  certs: readonly Certificate[],
  at: Date,
  prefix: string,
  stale = false,
  warnings: string[] = [],
): Check {
  const id = `${prefix}.root-ca.crl`;
  if (!isCrlIssuedBy(crl, root)) {
    return fail(id, 'The Root CA CRL is not signed by the pinned Intel SGX Root CA.', root.subject, 'a CRL with another issuer or a bad signature');
  }
  const notCurrent = currency(crl, at, 'Root CA CRL', stale, warnings);
  if (notCurrent) return fail(id, notCurrent.detail, notCurrent.expected, notCurrent.found);
  const revoked = certs.filter((c) => isRevoked(crl, c));
  if (revoked.length > 0) {
    return fail(id, 'The Root CA CRL revokes a certificate in use.', 'not revoked', revoked.map((c) => `${c.subject} (serial ${c.serial})`));
  }
  return pass(id, 'The Root CA CRL is signed by the pinned root, current, and revokes none of the intermediate certificates in use.');
}
