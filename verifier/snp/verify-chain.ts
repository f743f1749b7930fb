// The certificate chain of an SEV-SNP report: VCEK -> ASK -> ARK, or VLEK -> ASVK -> ARK
// (AMD 57230 "VCEK Certificate and KDS Interface Specification"; ASVK: SEV-SNP ABI
// spec §3.3 "VLEK"). The ARK is the product's pinned anchor, never the one that came with
// the evidence. A chain handed in must be the right one: a root that is not the pinned
// ARK, or an intermediate of another product or of the other signer kind, fails a check
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

export interface ChainInput {
  product: SnpProduct;
  kind: SignerKind;
  signer: Certificate;
  intermediate: Certificate;
  /** True when the intermediate came with the evidence or the caller (so it must be checked for being the right one). */
  intermediateSupplied: boolean;
  /** A root that came with the evidence: compared with the pinned ARK, never trusted. */
  suppliedRoot?: Certificate;
  anchor: AmdAnchor;
  anchors: readonly AmdAnchor[];
  at: Date;
}

const intermediateName = (kind: SignerKind): string => (kind === 'VCEK' ? 'ASK' : 'ASVK');

/** The CN of a subject or issuer DN string, for short messages (the full DN goes in expected/found). */
const cn = (dn: string): string => /(?:^|, )CN=([^,]*)/.exec(dn)?.[1] ?? dn;

/** The chain checks, in order. Pure apart from the signature caches of verifier/x509. */
export function checkChain(input: ChainInput): { checks: Check[]; ark: Certificate } {
  const { product, kind, signer, intermediate, anchor, at } = input;
  const checks: Check[] = [];
  const ark = anchorCertificate(anchor.arkDer, `ARK-${product}`);
  const iName = intermediateName(kind);

  if (input.suppliedRoot) {
    const root = input.suppliedRoot;
    const ok = root.sha256 === ark.sha256;
    checks.push({
      id: 'snp.chain.ark-pinned',
      ok,
      detail: ok
        ? `The supplied root is the pinned ARK-${product}.`
        : `The supplied root (${cn(root.subject)}) is not the pinned ARK-${product}; a root sent with the evidence is never trusted.`,
      ...(ok ? {} : { expected: ark.sha256, found: root.sha256 }),
    });
  }

  if (input.intermediateSupplied) {
    const id = identifyIntermediate(intermediate, input.anchors);
    const ok = id.product === product && id.kind === kind;
    const describe = (i: IntermediateIdentity): string =>
      i.kind === undefined ? 'not an AMD ASK or ASVK' : `${intermediateName(i.kind)} of ${i.product ?? 'an unknown product'}`;
    checks.push({
      id: 'snp.chain.intermediate-kind',
      ok,
      detail: ok
        ? `The supplied intermediate is the ${iName} of ${product}, as a ${kind} needs.`
        : `A ${kind} for ${product} must be issued by the ${iName} of ${product}, but the supplied intermediate (${cn(intermediate.subject)}) is ${describe(id)}.`,
      ...(ok ? {} : { expected: `${iName} of ${product}`, found: describe(id) }),
    });
  }

  const iSigned = isIssuedBy(intermediate, ark);
  checks.push({
    id: 'snp.chain.intermediate-signed-by-ark',
    ok: iSigned,
    detail: iSigned
      ? `The ${iName} (${cn(intermediate.subject)}) is signed by the pinned ARK-${product}.`
      : `The ${iName} (${cn(intermediate.subject)}) is not signed by the pinned ARK-${product}.`,
    ...(iSigned ? {} : { expected: `issued by ${ark.subject}`, found: `issuer ${intermediate.issuer}` }),
  });

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
    [`ARK-${product}`, ark],
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
  return { checks, ark };
}
