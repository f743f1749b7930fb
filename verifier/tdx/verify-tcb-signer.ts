// Who signed a TCB Info or QE Identity: an Intel SGX TCB Signing certificate, optionally
// followed by the root, chained to a pinned Intel SGX Root CA and valid at the verification
// time, whose key verifies the document's signature over its bytes as served. One rule for
// both places that judge it: verification of a quote
// (verify-evidence.ts) and the import of a collateral bundle (collateral/verify-entry.ts),
// so a document a site imports is exactly one the verifier would accept, and back.
//
// The signer's role is told by its CN containing "SGX TCB Signing", as Intel's QVL does:
// QuoteVerification/QVL/Src/AttestationLibrary/src/Verifiers/TCBSigningChain.cpp
// (TCBSigningChain::verify: `commonNameContains(tcbSigningCert->getSubject(),
// constants::SGX_TCB_SIGNING_CN_PHRASE)`, else STATUS_SGX_TCB_SIGNING_CERT_MISSING), with
// SGX_TCB_SIGNING_CN_PHRASE = "SGX TCB Signing" (CertVerification/X509Constants.cpp) and
// BaseVerifier::commonNameContains a substring search. What makes the signer Intel's is the
// pinned root's signature (trust-chain.ts), not its name; the CN only keeps the root's other
// children (the PCK Platform/Processor CAs) from signing collateral.

import type { IntelAnchor } from '../anchors.ts';
import { BoundedCache } from '../x509/bounded-cache.ts';
import { verifyP256 } from './ecdsa-p256.ts';
import { parseCertificates, type Certificate } from '../x509/certificate.ts';
import { chainToAnchor, commonName, invalidAt, type AnchorMatch, type AnchorResult } from './trust-chain.ts';

/** QVL's SGX_TCB_SIGNING_CN_PHRASE. */
const TCB_SIGNING_CN_PHRASE = 'SGX TCB Signing';

export type TcbSigningChain =
  | { ok: true; signer: Certificate; match: AnchorMatch }
  /** The PEM does not parse. */
  | { ok: false; problem: 'unreadable'; message: string }
  /** Not 1 or 2 certificates. */
  | { ok: false; problem: 'length'; count: number }
  /** The first certificate is not a TCB Signing certificate. */
  | { ok: false; problem: 'not-tcb-signing'; commonName: string }
  /** Not signed by a pinned root, or the carried root is not the pinned one (trust-chain.ts). */
  | { ok: false; problem: 'untrusted'; signer: Certificate; detail: string; expected: unknown; found: unknown }
  /** Chains to another pinned root than `sameRootAs`. */
  | { ok: false; problem: 'other-root'; signer: Certificate; match: AnchorMatch; required: AnchorMatch }
  /** The signer or the root is not valid at `at`: `invalid` as trust-chain.ts invalidAt. */
  | { ok: false; problem: 'expired'; signer: Certificate; match: AnchorMatch; invalid: string[] };

export interface TcbSigningChainOptions {
  /** Names the chain in a parse error ("TCB Info issuer chain"). */
  label: string;
  /**
   * The root the quote's PCK chain reached, when judging a quote: with several anchors (a
   * development simulator's beside Intel's), QVL verifies a quote and its collateral under
   * one trusted root, and a genuine quote judged by collateral a simulator signed would not
   * be marked simulated.
   */
  sameRootAs?: AnchorMatch;
}

// Collateral from one source carries the same chain text on every use: parsed once, and
// which anchor it reaches (which does not change with time) remembered per parsed chain.
const parsedChains = new BoundedCache<string, Certificate[]>(64);
const chainTrust = new WeakMap<Certificate[], { anchors: readonly IntelAnchor[]; result: AnchorResult }>();

function signingChain(pem: string, anchors: readonly IntelAnchor[], at: Date, options: TcbSigningChainOptions): TcbSigningChain {
  let certs = parsedChains.get(pem);
  if (!certs) {
    try {
      certs = parseCertificates(pem, options.label);
    } catch (err) {
      return { ok: false, problem: 'unreadable', message: (err as Error).message };
    }
    parsedChains.set(pem, certs);
  }
  const [signer, carriedRoot] = certs;
  if (!signer || certs.length > 2) return { ok: false, problem: 'length', count: certs.length };
  const cn = commonName(signer);
  if (!cn.includes(TCB_SIGNING_CN_PHRASE)) return { ok: false, problem: 'not-tcb-signing', commonName: cn };
  let trust = chainTrust.get(certs);
  if (!trust || trust.anchors !== anchors) {
    trust = { anchors, result: chainToAnchor(signer, carriedRoot, anchors) };
    chainTrust.set(certs, trust);
  }
  const r = trust.result;
  if (!r.ok) return { ok: false, problem: 'untrusted', signer, detail: r.detail, expected: r.expected, found: r.found };
  if (options.sameRootAs && r.match.anchor !== options.sameRootAs.anchor) {
    return { ok: false, problem: 'other-root', signer, match: r.match, required: options.sameRootAs };
  }
  const invalid = invalidAt([signer, r.match.root], at);
  if (invalid.length > 0) return { ok: false, problem: 'expired', signer, match: r.match, invalid };
  return { ok: true, signer, match: r.match };
}

// A document's signature depends only on the document and the signing certificate: checked
// once per pair (everything time-bound is evaluated on every use). Both are cached objects,
// so the memo hangs off them (no key strings to build and hash).
const documentSignatures = new WeakMap<object, WeakMap<Certificate, boolean>>();

function signatureOk(doc: SignedDocument, signer: Certificate): boolean {
  let bySigner = documentSignatures.get(doc);
  if (!bySigner) {
    bySigner = new WeakMap();
    documentSignatures.set(doc, bySigner);
  }
  let ok = bySigner.get(signer);
  if (ok === undefined) {
    ok = verifyP256(doc.signedBytes, doc.signature, signer.publicKey);
    bySigner.set(signer, ok);
  }
  return ok;
}

/** A parsed TCB Info or QE Identity (tcb-info.ts, qe-identity.ts): the bytes as served and their signature. */
export interface SignedDocument {
  signedBytes: Buffer;
  signature: Buffer;
}

export interface TcbSignerVerdict {
  chain: TcbSigningChain;
  /**
   * Whether the document's signature verifies with the key of the chain's first certificate,
   * once it is a TCB Signing certificate (also when its chain fails: a separate finding);
   * false when there is no such certificate.
   */
  signatureOk: boolean;
}

/**
 * Whether `doc` is signed by the Intel SGX TCB Signing certificate of `issuerChainPem`, and
 * that certificate chains to a pinned root in `anchors` and is valid at `at`. Never throws.
 */
export function verifyTcbSigner(doc: SignedDocument, issuerChainPem: string, anchors: readonly IntelAnchor[], at: Date, options: TcbSigningChainOptions): TcbSignerVerdict {
  const chain = signingChain(issuerChainPem, anchors, at, options);
  const signer = chain.ok || 'signer' in chain ? chain.signer : undefined;
  return { chain, signatureOk: signer ? signatureOk(doc, signer) : false };
}
