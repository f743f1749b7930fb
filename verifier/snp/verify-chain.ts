// The certificate chain of an SEV-SNP report: VCEK -> ASK -> ARK, or VLEK -> ASVK -> ARK
// (AMD 57230 "VCEK Certificate and KDS Interface Specification"; ASVK: SEV-SNP ABI
// spec §3.3 "VLEK"). The ARK is a pinned anchor, never the one that came with the evidence,
// and which one is decided by the key that signed the ASK/ASVK in use, not by the product
// the evidence names; that claim must then agree (snp.chain.anchor-product). go-sev-guest
// (verify/verify.go) instead picks the roots by product line (DefaultRootCerts[product],
// the VCEK issuer CN must be "SEV-<Platform>") and fails the chain if they did not sign it:
// the same refusal, but without naming which product the chain really is. A chain handed
// in must be the right one: a root that is not the ARK in use, or an intermediate of
// another product or of the other signer kind, fails a check
// (it is not silently replaced by the right one: the sender got something wrong, and an
// operator should see it). Every AMD signature in the chain is RSASSA-PSS with SHA-384
// (MGF1-SHA-384, salt 48): AMD issues nothing else, so anything else is refused.

import { AsnConvert } from '@peculiar/asn1-schema';
import { AlgorithmIdentifier } from '@peculiar/asn1-x509';
import { RsaSaPssParams } from '@peculiar/asn1-rsa';
import type { AmdAnchor } from '../anchors.ts';
import type { Check } from '../result.ts';
import { isIssuedBy, isValidAt, parseCertificateDer, type Certificate } from '../x509/certificate.ts';
import type { SnpProduct } from './product.ts';
import { SNP_PRODUCTS } from './product.ts';

export type SignerKind = 'VCEK' | 'VLEK';

const RSA_PSS = '1.2.840.113549.1.1.10';
const SHA384 = '2.16.840.1.101.3.4.2.2';
const MGF1 = '1.2.840.113549.1.1.8';

const pssCache = new WeakMap<Certificate, string | true>();

/** True when the certificate is signed with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48; else what it uses. */
export function amdSignatureAlgorithm(cert: Certificate): string | true {
  const hit = pssCache.get(cert);
  if (hit !== undefined) return hit;
  let result: string | true;
  try {
    const alg = cert.signatureAlgorithm;
    if (alg.algorithm !== RSA_PSS || !alg.parameters) result = `algorithm ${alg.algorithm}`;
    else {
      const p = AsnConvert.parse(alg.parameters, RsaSaPssParams);
      const mgfHash = p.maskGenAlgorithm.parameters
        ? AsnConvert.parse(p.maskGenAlgorithm.parameters, AlgorithmIdentifier).algorithm
        : undefined;
      if (p.hashAlgorithm.algorithm !== SHA384) result = `RSASSA-PSS with hash ${p.hashAlgorithm.algorithm}`;
      else if (p.maskGenAlgorithm.algorithm !== MGF1 || mgfHash !== SHA384) result = 'RSASSA-PSS with a mask generation other than MGF1-SHA-384';
      else if (p.saltLength !== 48) result = `RSASSA-PSS with salt length ${p.saltLength}`;
      else result = true;
    }
  } catch {
    result = 'an unreadable signature algorithm';
  }
  pssCache.set(cert, result);
  return result;
}

const anchorCerts = new WeakMap<Uint8Array, Certificate>();

/**
 * A certificate of a trust anchor (pinned ARK, embedded ASK/ASVK), parsed once per anchor
 * buffer: anchors live as long as the process, so this skips even the hash that keys the
 * general certificate cache.
 */
export function anchorCertificate(der: Uint8Array, what: string): Certificate {
  let cert = anchorCerts.get(der);
  if (!cert) {
    cert = parseCertificateDer(der, what);
    anchorCerts.set(der, cert);
  }
  return cert;
}

/** What an intermediate is: which product and which signer kind it issues for. */
export interface IntermediateIdentity {
  product?: SnpProduct;
  kind?: SignerKind;
}

/**
 * Identify an intermediate: first by identity with an embedded ASK/ASVK of any anchor, else
 * by AMD's naming (CN "SEV-<Product>" issues VCEKs, "SEV-VLEK-<Product>" issues VLEKs).
 */
export function identifyIntermediate(cert: Certificate, anchors: readonly AmdAnchor[]): IntermediateIdentity {
  for (const a of anchors) {
    if (a.askDer && anchorCertificate(a.askDer, `ASK-${a.product}`).sha256 === cert.sha256) return { product: a.product, kind: 'VCEK' };
    if (a.asvkDer && anchorCertificate(a.asvkDer, `ASVK-${a.product}`).sha256 === cert.sha256) return { product: a.product, kind: 'VLEK' };
  }
  const m = /^SEV-(VLEK-)?([A-Za-z]+)$/.exec(cn(cert.subject));
  if (!m) return {};
  const product = SNP_PRODUCTS.find((p) => p === m[2]);
  return { ...(product ? { product } : {}), kind: m[1] ? 'VLEK' : 'VCEK' };
}

/** The product the evidence claims, and where the claim comes from (for messages). */
export interface ClaimedProduct {
  product: SnpProduct;
  /** e.g. "the report's CPUID", "the VCEK's productName Milan-B0". */
  from: string;
}

export interface ChainInput {
  kind: SignerKind;
  signer: Certificate;
  intermediate: Certificate;
  /** True when the intermediate came with the evidence or the caller (so it must be checked for being the right one). */
  intermediateSupplied: boolean;
  /** A root that came with the evidence: compared with the pinned ARK, never trusted. */
  suppliedRoot?: Certificate;
  /** What the evidence says it is; undefined when it names no known product. */
  claimed?: ClaimedProduct;
  anchors: readonly AmdAnchor[];
  at: Date;
}

const intermediateName = (kind: SignerKind): string => (kind === 'VCEK' ? 'ASK' : 'ASVK');

/** The CN of a subject or issuer DN string, for short messages (the full DN goes in expected/found). */
const cn = (dn: string): string => /(?:^|, )CN=([^,]*)/.exec(dn)?.[1] ?? dn;

const arkOf = (a: AmdAnchor): Certificate => anchorCertificate(a.arkDer, `ARK-${a.product}`);

/** The anchors with those of `first` in front: the claimed product's ARK is tried first, so the common case costs one (cached) signature check. */
function inOrder(anchors: readonly AmdAnchor[], first: SnpProduct | undefined): AmdAnchor[] {
  return first === undefined ? [...anchors] : [...anchors.filter((a) => a.product === first), ...anchors.filter((a) => a.product !== first)];
}

/**
 * The anchor whose pinned ARK signed `intermediate`: the trust anchor is chosen by the key
 * that signed the ASK/ASVK in use, never by the product the evidence names (that claim is
 * then held against the anchor's product). AMD KDS (57230, "cert_chain") serves each
 * product's ASK and ASVK under that product's own ARK, so at most one pinned product ARK
 * signs a genuine intermediate; a simulator ARK (development mode) has its own key.
 */
export function anchorOfIntermediate(intermediate: Certificate, anchors: readonly AmdAnchor[], first?: SnpProduct): AmdAnchor | undefined {
  return inOrder(anchors, first).find((a) => isIssuedBy(intermediate, arkOf(a)));
}

/**
 * With no intermediate supplied: the embedded ASK (VCEK) or ASVK (VLEK) of the anchor whose
 * intermediate signed `signer`, else undefined.
 */
export function embeddedIntermediateOf(signer: Certificate, kind: SignerKind, anchors: readonly AmdAnchor[], first?: SnpProduct): Certificate | undefined {
  for (const a of inOrder(anchors, first)) {
    const der = kind === 'VCEK' ? a.askDer : a.asvkDer;
    if (!der) continue;
    const cert = anchorCertificate(der, `${intermediateName(kind)}-${a.product}`);
    if (isIssuedBy(signer, cert)) return cert;
  }
  return undefined;
}

const pinnedList = (anchors: readonly AmdAnchor[]) =>
  anchors.map((a) => ({ ark: `ARK-${a.product}`, sha256: arkOf(a).sha256, ...(a.simulated ? { simulated: true } : {}) }));

/**
 * The chain checks, in order. The anchor is the one whose ARK signed the intermediate; the
 * checks that need it (snp.chain.anchor-product, revocation) are left out when no pinned
 * ARK signed it. Pure apart from the signature caches of verifier/x509.
 */
export function checkChain(input: ChainInput): { checks: Check[]; anchor?: AmdAnchor; ark?: Certificate } {
  const { kind, signer, intermediate, claimed, anchors, at } = input;
  const checks: Check[] = [];
  const iName = intermediateName(kind);
  const anchor = anchorOfIntermediate(intermediate, anchors, claimed?.product);
  const ark = anchor ? arkOf(anchor) : undefined;

  if (input.suppliedRoot) {
    const root = input.suppliedRoot;
    // The root sent must be the ARK in use; with none in use, at least a pinned one.
    const candidates = anchor ? [anchor] : anchors;
    const ok = candidates.some((a) => arkOf(a).sha256 === root.sha256);
    const which = anchor ? `the pinned ARK-${anchor.product}` : 'a pinned ARK';
    checks.push({
      id: 'snp.chain.ark-pinned',
      ok,
      detail: ok
        ? `The supplied root is ${which}.`
        : `The supplied root (${cn(root.subject)}) is not ${which}${anchor ? `, the ARK that signed the ${iName}` : ''}; a root sent with the evidence is never trusted.`,
      ...(ok ? {} : { expected: ark ? ark.sha256 : candidates.map((a) => arkOf(a).sha256), found: root.sha256 }),
    });
  }

  if (input.intermediateSupplied) {
    const id = identifyIntermediate(intermediate, anchors);
    const product = anchor?.product ?? claimed?.product;
    const ok = id.kind === kind && (product === undefined || id.product === product);
    const describe = (i: IntermediateIdentity): string =>
      i.kind === undefined ? 'not an AMD ASK or ASVK' : `${intermediateName(i.kind)} of ${i.product ?? 'an unknown product'}`;
    const want = `${iName}${product ? ` of ${product}` : ''}`;
    checks.push({
      id: 'snp.chain.intermediate-kind',
      ok,
      detail: ok
        ? `The supplied intermediate is the ${want}, as a ${kind} needs.`
        : `A ${kind} must be issued by the ${want}, but the supplied intermediate (${cn(intermediate.subject)}) is ${describe(id)}.`,
      ...(ok ? {} : { expected: want, found: describe(id) }),
    });
  }

  checks.push(
    anchor
      ? {
          id: 'snp.chain.intermediate-signed-by-ark',
          ok: true,
          detail: `The ${iName} (${cn(intermediate.subject)}) is signed by the pinned ARK-${anchor.product}: the chain is ${anchor.product}'s${anchor.simulated ? ' (a SIMULATED root)' : ''}.`,
        }
      : {
          id: 'snp.chain.intermediate-signed-by-ark',
          ok: false,
          detail: `The ${iName} (${cn(intermediate.subject)}, issuer ${cn(intermediate.issuer)}) is signed by none of the pinned ARKs (${anchors.map((a) => `ARK-${a.product}`).join(', ') || 'none configured'}): it is forged, altered, or from a root this verifier does not trust.`,
          expected: { signedByOneOf: pinnedList(anchors) },
          found: { issuer: intermediate.issuer, sha256: intermediate.sha256 },
        },
  );

  if (anchor) {
    // The claim is held against the ARK, not the other way round: a Genoa VCEK presented
    // with Milan's ASK, or a Milan chain claimed to be Genoa, is refused here by name.
    const ok = claimed === undefined || claimed.product === anchor.product;
    checks.push({
      id: 'snp.chain.anchor-product',
      ok,
      detail:
        claimed === undefined
          ? `The evidence names no product; the ARK that signed the ${iName} makes it ${anchor.product}.`
          : ok
            ? `${claimed.from} names ${claimed.product}, the product of the ARK that signed the ${iName}.`
            : `${claimed.from} names ${claimed.product}, but the ${iName} in use is signed by ARK-${anchor.product}: the evidence and its chain are of different products.`,
      ...(ok ? {} : { expected: { product: anchor.product, by: `ARK-${anchor.product}`, sha256: ark!.sha256 }, found: { product: claimed!.product, from: claimed!.from } }),
    });
  }
  const sSigned = isIssuedBy(signer, intermediate);
  checks.push({
    id: 'snp.chain.signer-signed-by-intermediate',
    ok: sSigned,
    detail: sSigned
      ? `The ${kind} is signed by the ${iName} (${cn(intermediate.subject)}).`
      : signer.issuerNameDer !== intermediate.subjectNameDer
        ? `The ${kind} was issued by ${cn(signer.issuer)}, not by the ${iName} (${cn(intermediate.subject)}).`
        : `The ${kind}'s signature does not verify under the ${iName} key: the certificate was altered or forged.`,
    ...(sSigned ? {} : { expected: `signed by ${intermediate.subject}`, found: `issuer ${signer.issuer}` }),
  });

  const algProblems: string[] = [];
  for (const [name, cert] of [
    [kind, signer],
    [iName, intermediate],
  ] as const) {
    const alg = amdSignatureAlgorithm(cert);
    if (alg !== true) algProblems.push(`${name}: ${alg}`);
  }
  checks.push({
    id: 'snp.chain.signature-algorithm',
    ok: algProblems.length === 0,
    detail:
      algProblems.length === 0
        ? `The ${kind} and ${iName} signatures are RSASSA-PSS with SHA-384, as AMD issues them.`
        : `AMD signs with RSASSA-PSS, SHA-384, MGF1-SHA-384, salt 48; found ${algProblems.join('; ')}.`,
    ...(algProblems.length === 0 ? {} : { expected: 'RSASSA-PSS SHA-384', found: algProblems }),
  });

  const expired: string[] = [];
  for (const [name, cert] of [
    [kind, signer],
    [iName, intermediate],
    ...(anchor && ark ? ([[`ARK-${anchor.product}`, ark]] as const) : []),
  ] as const) {
    if (!isValidAt(cert, at)) expired.push(`${name} valid ${cert.notBefore.toISOString()} to ${cert.notAfter.toISOString()}`);
  }
  checks.push({
    id: 'snp.chain.validity',
    ok: expired.length === 0,
    detail:
      expired.length === 0
        ? `Every certificate of the chain is valid at ${at.toISOString()}.`
        : `Not valid at ${at.toISOString()}: ${expired.join('; ')}.`,
    ...(expired.length === 0 ? {} : { expected: `valid at ${at.toISOString()}`, found: expired }),
  });
  return { checks, ...(anchor && ark ? { anchor, ark } : {}) };
}
