// SEV-SNP evidence in, verdict out. Two layers:
//  - verifySnpReport(): synchronous, everything as input (report, certificates, CRL,
//    time, anchors). One ECDSA P-384 verify per call once the chain is cached.
//  - prepareSnpEvidence(): fetches what the evidence did not carry (VCEK, cert_chain, CRL)
//    through options.collateral. Its result is plain data, so the core can run elsewhere
//    (the server runs it on a worker thread: server/verification/).
// verifyEvidence() (verifier/verify-evidence.ts) runs the two in turn.
// Order of the checks: product, chain, report signature, binding, revocation. All of them
// run (a denial lists every failure), except those that need something an earlier step
// could not establish (no pinned ARK signed the intermediate -> no anchor product, no CRL).
// The anchor is the one whose ARK signed the ASK/ASVK in use, not the product claimed.

import { CollateralUnavailableError } from '../errors.ts';
import type { AmdAnchor } from '../anchors.ts';
import type { CollateralDocument, SnpTcbParts } from '../collateral/source.ts';
import type { CrlMode, SnpCertificates, SnpEvidence, VerifyOptions } from '../evidence.ts';
import { PRODUCTION_ANCHORS } from '../production-anchors.ts';
import type { Check, CollateralUse, VerificationResult } from '../result.ts';
import { parseCertificateDer, parseCertificates } from '../x509/certificate.ts';
import { parseCrl } from '../x509/crl.ts';
import { parseReport, type SnpReport } from './abi/report.ts';
import { decodeTcb, tcbParts } from './abi/tcb.ts';
import { snpClaims } from './claims.ts';
import { amdExtensions } from './extensions.ts';
import type { SnpProduct } from './product.ts';
import { describeCpuid, productFromCpuid, productFromName, reportCpuid } from './product-of.ts';
import { checkHwIdBinding, checkProductBinding, checkSignerKind, checkTcbBinding, chipIdMasked } from './verify-binding.ts';
import { anchorCertificate, checkChain, embeddedIntermediateOf, type ClaimedProduct, type SignerKind } from './verify-chain.ts';
import { checkCrl } from './verify-crl.ts';
import { checkReportSignature } from './verify-signature.ts';

type DocName = 'vcek' | 'vlek' | 'ask' | 'asvk' | 'ark' | 'crl';

/** Everything the synchronous core verifies a report with. */
export interface SnpMaterial {
  /** DER (the certificates of the evidence, the caller's, or fetched ones). */
  certificates: SnpCertificates;
  /** AMD CRL, DER or PEM. */
  crl?: Uint8Array;
  /** Where each document came from, for result.collateral (default `evidence`). */
  sources?: Partial<Record<DocName, { source: string; stale?: boolean }>>;
}

export interface SnpCoreOptions {
  at: Date;
  anchors?: { amd: readonly AmdAnchor[] };
  crl?: CrlMode;
}

/** What AMD KDS needs to serve a report's VCEK: /vcek/v1/{product}/{hwId}?blSPL=... */
export interface SnpVcekRequest {
  /** From CPUID (report v3+); undefined for a version 2 report, whose product the caller must know. */
  product?: SnpProduct;
  /** Hex: 64 bytes of CHIP_ID, or the first 8 on Turin (KDS spec 57230, "Turin hwid"). */
  hwId: string;
  /** REPORTED_TCB, decoded for the product (Milan/Genoa layout when the product is unknown). */
  tcb: SnpTcbParts;
}

export function snpVcekRequest(input: Uint8Array | SnpReport): SnpVcekRequest {
  const report = input instanceof Uint8Array ? parseReport(input) : input;
  const cpuid = reportCpuid(report);
  const product = cpuid ? productFromCpuid(cpuid) : undefined;
  const hwId = product === 'Turin' ? report.chipId.subarray(0, 8).toString('hex') : report.chipId.toString('hex');
  const tcb = tcbParts(decodeTcb(report.reportedTcb, product ?? 'Milan'));
  return { ...(product ? { product } : {}), hwId, tcb };
}

function signerKindOf(report: SnpReport, certs: SnpCertificates): SignerKind {
  // The report says which key signed it; with no usable answer (NONE), go by what was supplied.
  if (report.keyInfo.signingKey === 'VLEK') return 'VLEK';
  if (report.keyInfo.signingKey === 'VCEK') return 'VCEK';
  return certs.vlek && !certs.vcek ? 'VLEK' : 'VCEK';
}

/** Verify a report with the given material, synchronously. Throws EvidenceFormatError / CollateralUnavailableError. */
export function verifySnpReport(input: Uint8Array | SnpReport, material: SnpMaterial, options: SnpCoreOptions): VerificationResult {
  if (!(options.at instanceof Date) || Number.isNaN(options.at.getTime())) throw new RangeError('options.at must be a valid Date.');
  const report = input instanceof Uint8Array ? parseReport(input) : input;
  const anchors = options.anchors?.amd ?? PRODUCTION_ANCHORS.amd;
  const certs = material.certificates;
  const src = (d: DocName): { source: string; stale?: boolean } => material.sources?.[d] ?? { source: 'evidence' };
  const checks: Check[] = [];
  const warnings: string[] = [...report.warnings];
  const collateral: CollateralUse[] = [];
  const use = (kind: string, cert: { sha256: string }, from: { source: string; stale?: boolean }): void => {
    collateral.push({ kind, sha256: cert.sha256, source: from.source, ...(from.stale ? { stale: true } : {}) });
  };

  // The signer: the certificate of the kind KEY_INFO names; if only the other kind came, it
  // is used and the signer-kind check says so.
  const wanted = signerKindOf(report, certs);
  const signerDer = wanted === 'VCEK' ? (certs.vcek ?? certs.vlek) : (certs.vlek ?? certs.vcek);
  if (!signerDer) {
    throw new CollateralUnavailableError(
      wanted.toLowerCase(),
      `The ${wanted} certificate that signed this report is needed: it came neither with the evidence nor from a collateral source.`,
    );
  }
  const suppliedKind: SignerKind = signerDer === certs.vcek ? 'VCEK' : 'VLEK';
  const signer = parseCertificateDer(signerDer, `${suppliedKind} certificate`);
  use(suppliedKind.toLowerCase(), signer, src(suppliedKind === 'VCEK' ? 'vcek' : 'vlek'));
  const ext = amdExtensions(signer);

  // The intermediate that came with the evidence, in the slot of the signer's kind or (wrongly) the other.
  const iDer = suppliedKind === 'VCEK' ? (certs.ask ?? certs.asvk) : (certs.asvk ?? certs.ask);
  const iSlot: DocName = iDer === certs.ask ? 'ask' : 'asvk';
  const suppliedIntermediate = iDer ? parseCertificateDer(iDer, 'intermediate certificate') : undefined;
  const suppliedRoot = certs.ark ? parseCertificateDer(certs.ark, 'root certificate') : undefined;

  // The product the evidence claims: the report's CPUID (v3+), else the signer's
  // productName. It does not pick the anchor: the ARK that signed the intermediate does
  // (verify-chain.ts), and the claim must agree with it (snp.chain.anchor-product).
  let claimed: ClaimedProduct | undefined;
  const cpuid = reportCpuid(report);
  const cpuidProduct = cpuid ? productFromCpuid(cpuid) : undefined;
  if (cpuid) {
    if (cpuidProduct) claimed = { product: cpuidProduct, from: `The report's CPUID (${describeCpuid(cpuid)})` };
    else {
      checks.push({
        id: 'snp.product',
        ok: false,
        detail: `The report's CPUID (${describeCpuid(cpuid)}) is not an SEV-SNP product this verifier knows (Milan, Genoa, Turin).`,
        expected: 'Milan, Genoa or Turin',
        found: describeCpuid(cpuid),
      });
    }
  } else {
    if (report.cpuid) warnings.push(`The report is version ${report.version} but its CPUID fields are zero; the product was taken from the ${suppliedKind}.`);
    const named = productFromName(ext.productName);
    if (named) claimed = { product: named, from: `The ${suppliedKind}'s productName ${ext.productName}` };
  }

  // The intermediate in use: the one supplied, else the embedded ASK/ASVK that signed the
  // signer (else the claimed product's, or any, so the chain checks say what is wrong).
  let intermediate = suppliedIntermediate;
  let iSource = src(iSlot);
  if (!intermediate) {
    const embeddedDer = (a: (typeof anchors)[number]) => (suppliedKind === 'VCEK' ? a.askDer : a.asvkDer);
    const fallback = anchors.find((a) => a.product === claimed?.product && embeddedDer(a)) ?? anchors.find((a) => embeddedDer(a));
    intermediate =
      embeddedIntermediateOf(signer, suppliedKind, anchors, claimed?.product) ??
      (fallback ? anchorCertificate(embeddedDer(fallback)!, `${suppliedKind === 'VCEK' ? 'ASK' : 'ASVK'}-${fallback.product}`) : undefined);
    if (!intermediate) {
      throw new CollateralUnavailableError(
        suppliedKind === 'VCEK' ? 'ask' : 'asvk',
        `The ${suppliedKind === 'VCEK' ? 'ASK' : 'ASVK'}${claimed ? ` of ${claimed.product}` : ''} is needed and was neither supplied nor embedded.`,
      );
    }
    iSource = { source: 'embedded' };
  }

  const chain = checkChain({
    kind: suppliedKind,
    signer,
    intermediate,
    intermediateSupplied: suppliedIntermediate !== undefined,
    ...(suppliedRoot ? { suppliedRoot } : {}),
    ...(claimed ? { claimed } : {}),
    anchors,
    at: options.at,
  });
  checks.push(...chain.checks);
  use(suppliedKind === 'VCEK' ? 'ask' : 'asvk', intermediate, iSource);
  // The product the report is read as (TCB layout, claims): the signed claim, else (no
  // claim) the product of the ARK that signed the chain. When the two differ the result
  // is refused anyway (snp.chain.anchor-product names both).
  const product: SnpProduct | undefined = claimed?.product ?? chain.anchor?.product;
  const simulated = chain.anchor?.simulated === true;
  const ark = chain.ark;
  if (ark) {
    use('ark', ark, { source: 'embedded' });
    if (suppliedRoot && suppliedRoot.sha256 !== ark.sha256) use('supplied-root', suppliedRoot, src('ark'));

    // Revocation, against the ARK in use.
    const crl = material.crl ? parseCrl(material.crl, 'AMD CRL') : undefined;
    if (crl) collateral.push({ kind: 'crl', sha256: crl.sha256, source: src('crl').source, ...(src('crl').stale ? { stale: true } : {}) });
    const revocation = checkCrl({
      ...(crl ? { crl } : {}),
      ...(src('crl').stale ? { stale: true } : {}),
      mode: options.crl ?? 'prefer',
      ark,
      product: chain.anchor!.product,
      subjects: [
        [suppliedKind, signer],
        [suppliedKind === 'VCEK' ? 'ASK' : 'ASVK', intermediate],
      ],
      at: options.at,
    });
    checks.push(...revocation.checks);
    warnings.push(...revocation.warnings);
  } else if (suppliedRoot) {
    use('supplied-root', suppliedRoot, src('ark'));
  }

  checks.push(checkReportSignature(report, signer.publicKey, suppliedKind));

  checks.push(checkSignerKind(report, suppliedKind));
  if (product) checks.push(checkTcbBinding(decodeTcb(report.reportedTcb, product), ext, product, suppliedKind));
  if (cpuidProduct) checks.push(checkProductBinding(cpuidProduct, ext, suppliedKind));
  const hw = checkHwIdBinding(report, ext, suppliedKind);
  if (hw) checks.push(hw);
  else if (suppliedKind === 'VCEK') warnings.push('CHIP_ID is masked (all zeros, SNP_CONFIG MASK_CHIP_ID): the VCEK could not be tied to a chip by its hwID.');

  if (simulated) warnings.push('This evidence chains to a SIMULATED AMD root (development mode): it proves nothing about real hardware.');
  const cspId = suppliedKind === 'VLEK' ? ext.cspID : undefined;
  return {
    verified: checks.every((c) => c.ok),
    tee: 'sev-snp',
    ...(product ? { product } : {}),
    signer: suppliedKind,
    claims: snpClaims(report, {
      ...(product ? { product } : {}),
      signer: suppliedKind,
      ...(cspId !== undefined ? { cspId } : {}),
      simulated,
    }),
    checks,
    warnings,
    collateral,
  };
}

function isUnavailable(err: unknown): err is CollateralUnavailableError {
  return err instanceof CollateralUnavailableError;
}

/**
 * A document from the collateral source. The source contract is to reject with
 * CollateralUnavailableError only; anything else it throws (a bug, a raw network error) is
 * turned into one, so verifyEvidence raises nothing but the two verifier errors (as the
 * Intel side does).
 */
async function fetchDocument(document: string, get: () => Promise<CollateralDocument>): Promise<CollateralDocument> {
  try {
    return await get();
  } catch (err) {
    if (isUnavailable(err)) throw err;
    throw new CollateralUnavailableError(document, `The ${document} could not be obtained from the collateral source: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/** A report with every document its verification needs: plain data, nothing left to fetch. */
export interface PreparedSnpEvidence {
  tee: 'sev-snp';
  report: Uint8Array;
  material: SnpMaterial;
  at: Date;
  crl: CrlMode;
}

/**
 * Parse the report (malformed evidence is refused here) and fetch through options.collateral
 * what the evidence did not carry: the VCEK, the product's cert_chain when the anchor embeds
 * no intermediate, and the CRL unless the CRL mode is off.
 */
export async function prepareSnpEvidence(evidence: SnpEvidence, options: VerifyOptions): Promise<PreparedSnpEvidence> {
  // A copy, taken before any await: the caller may reuse its buffer while collateral is fetched.
  const bytes = Uint8Array.from(evidence.report);
  const report = parseReport(bytes);
  const anchors = options.anchors ?? PRODUCTION_ANCHORS;
  const certificates: SnpCertificates = { ...(evidence.certificates ?? {}) };
  const sources: NonNullable<SnpMaterial['sources']> = {};
  const source = options.collateral;
  const kind = signerKindOf(report, certificates);
  const request = snpVcekRequest(report);
  const record = (name: DocName, doc: CollateralDocument): void => {
    sources[name] = { source: doc.source, ...(doc.stale ? { stale: true } : {}) };
  };

  if (!certificates.vcek && !certificates.vlek) {
    if (kind === 'VLEK') {
      throw new CollateralUnavailableError('vlek', 'The report is signed by a VLEK, which AMD KDS does not serve publicly: the evidence must carry the VLEK certificate.');
    }
    if (!source) throw new CollateralUnavailableError('vcek', 'The VCEK that signed this report is needed: the evidence does not carry it and no collateral source was given.');
    if (!request.product) {
      throw new CollateralUnavailableError('vcek', `A version ${report.version} report does not name its product, so its VCEK cannot be fetched: supply the VCEK.`);
    }
    if (chipIdMasked(report)) {
      throw new CollateralUnavailableError('vcek', 'CHIP_ID is masked (all zeros) in this report, so its VCEK cannot be looked up: supply the VCEK.');
    }
    const vcekRequest = { product: request.product, hwId: request.hwId, tcb: request.tcb };
    const doc = await fetchDocument('vcek', () => source.snpVcek(vcekRequest));
    certificates.vcek = doc.bytes;
    record('vcek', doc);
  }

  // The product decides which anchor, cert_chain and CRL apply; as in the core.
  const signerKind: SignerKind = certificates.vcek && (kind === 'VCEK' || !certificates.vlek) ? 'VCEK' : 'VLEK';
  let product = request.product;
  if (!product && !reportCpuid(report)) {
    const der = signerKind === 'VCEK' ? certificates.vcek : certificates.vlek;
    if (der) product = productFromName(amdExtensions(parseCertificateDer(der, `${signerKind} certificate`)).productName);
  }
  const anchor = product ? anchors.amd.find((a) => a.product === product) : undefined;
  const kdsSigner = signerKind === 'VCEK' ? 'vcek' : 'vlek';

  const hasIntermediate = certificates.ask !== undefined || certificates.asvk !== undefined;
  const embedded = anchor && (signerKind === 'VCEK' ? anchor.askDer : anchor.asvkDer);
  if (product && anchor && !hasIntermediate && !embedded && source) {
    const doc = await fetchDocument('cert_chain', () => source.snpCertChain({ product, signer: kdsSigner }));
    const [intermediate, root] = parseCertificates(doc.bytes, 'AMD cert_chain');
    if (intermediate) {
      if (signerKind === 'VCEK') certificates.ask = intermediate.der;
      else certificates.asvk = intermediate.der;
      record(signerKind === 'VCEK' ? 'ask' : 'asvk', doc);
    }
    if (root && !certificates.ark) {
      certificates.ark = root.der;
      record('ark', doc);
    }
  }

  const mode = options.crl ?? 'prefer';
  let crl = evidence.crl;
  if (!crl && mode !== 'off' && product && source) {
    try {
      const doc = await fetchDocument('crl', () => source.snpCrl({ product, signer: kdsSigner }));
      crl = doc.bytes;
      record('crl', doc);
    } catch (err) {
      // prefer: go on without it (the result warns); require: the document is needed.
      if (!isUnavailable(err) || mode === 'require') throw err;
    }
  }

  return { tee: 'sev-snp', report: bytes, material: { certificates, ...(crl ? { crl } : {}), sources }, at: options.at, crl: mode };
}
