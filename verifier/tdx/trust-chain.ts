// Chaining an Intel certificate (PCK Platform/Processor CA, or the TCB Signing certificate)
// to a pinned Intel SGX Root CA. The anchor is found by signature, with the anchor's own key;
// a root certificate carried in the evidence or collateral is never trusted, and when present
// it must have exactly the anchor's key (a look-alike root with Intel's name and another key
// fails here). QVL Verifiers/PckCertVerifier.cpp and TCBSigningChain.cpp also require the
// trusted root to match by key ("root CA in chain is not the trusted root"). It must also be
// signed by that key: the carried bytes are part of what was attested, and an altered copy
// (a flipped date or signature byte leaves the key intact) is not Intel's certificate. A
// re-issued root with the same key still passes.

import type { IntelAnchor } from '../anchors.ts';
import { isIssuedBy, isValidAt, parseCertificateDer, type Certificate } from '../x509/certificate.ts';
import { spkiSha256 } from './intel-root.ts';

export interface AnchorMatch {
  anchor: IntelAnchor;
  root: Certificate;
}

export type AnchorResult = { ok: true; match: AnchorMatch } | { ok: false; detail: string; expected: unknown; found: unknown };

const anchorRootCache = new WeakMap<IntelAnchor, Certificate>();

function anchorRoots(anchors: readonly IntelAnchor[]): AnchorMatch[] {
  return anchors.map((anchor) => {
    let root = anchorRootCache.get(anchor);
    if (!root) {
      root = parseCertificateDer(anchor.rootDer, 'Intel SGX Root CA anchor');
      anchorRootCache.set(anchor, root);
    }
    return { anchor, root };
  });
}

/** The pinned root certificates, parsed (once per anchor). */
export function anchorCertificates(anchors: readonly IntelAnchor[]): Certificate[] {
  return anchorRoots(anchors).map((r) => r.root);
}

/** Which anchor issued `cert`; `carriedRoot` (the chain's own root, if any) must carry that anchor's key. */
export function chainToAnchor(cert: Certificate, carriedRoot: Certificate | undefined, anchors: readonly IntelAnchor[]): AnchorResult {
  const roots = anchorRoots(anchors);
  const pinned = roots.map((r) => spkiSha256(r.root));
  const match = roots.find((r) => isIssuedBy(cert, r.root));
  if (!match) {
    return {
      ok: false,
      detail: `${cert.subject} is not signed by a pinned Intel SGX Root CA key.`,
      expected: { rootSpkiSha256: pinned },
      found: { issuer: cert.issuer, ...(carriedRoot ? { carriedRootSpkiSha256: spkiSha256(carriedRoot) } : {}) },
    };
  }
  if (carriedRoot && spkiSha256(carriedRoot) !== spkiSha256(match.root)) {
    return {
      ok: false,
      detail: `The root certificate carried with ${cert.subject} has a different key from the pinned Intel SGX Root CA.`,
      expected: { rootSpkiSha256: spkiSha256(match.root) },
      found: { rootSpkiSha256: spkiSha256(carriedRoot) },
    };
  }
  if (carriedRoot && !isIssuedBy(carriedRoot, match.root)) {
    return {
      ok: false,
      detail: `The root certificate carried with ${cert.subject} has the pinned key but is not signed by it: altered, or not issued by Intel.`,
      expected: 'a root certificate self-signed by the pinned Intel SGX Root CA key',
      found: { subject: carriedRoot.subject, serial: carriedRoot.serial },
    };
  }
  return { ok: true, match };
}

/** Certificates not valid at `at`, as `subject (notBefore .. notAfter)` strings. */
export function invalidAt(certs: readonly Certificate[], at: Date): string[] {
  return certs.filter((c) => !isValidAt(c, at)).map((c) => `${c.subject} (${c.notBefore.toISOString()} .. ${c.notAfter.toISOString()})`);
}

const commonNames = new WeakMap<Certificate, string>();

/** The CN of a certificate's subject (cached: X509Certificate.subject is recomputed on each read). */
export function commonName(cert: Certificate): string {
  let cn = commonNames.get(cert);
  if (cn === undefined) {
    const line = cert.x509.subject.split('\n').find((l) => l.startsWith('CN='));
    cn = line ? line.slice(3) : '';
    commonNames.set(cert, cn);
  }
  return cn;
}
