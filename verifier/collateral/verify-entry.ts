// Verifying one collateral document on its own, against the pinned roots, before it is
// loaded from a bundle (an air-gapped site must not take a file's word for anything).
// The same rules the verifiers apply on use, built from their pieces:
//  - VCEK: VCEK <- ASK <- pinned ARK (verifier/snp/verify-chain.ts checkChain), and its
//    hwID / SPL extensions are the chip and TCB its key names;
//  - AMD cert_chain: the intermediate is the right ASK/ASVK, signed by the pinned ARK, and
//    the root is the pinned ARK;
//  - AMD CRL: signed by the pinned ARK;
//  - TCB Info / QE Identity: signed (over the bytes as served) by an Intel SGX TCB Signing
//    certificate that chains to the pinned Intel SGX Root CA, judged by the verifier's own
//    verifier/tdx/verify-tcb-signer.ts, and the document is the one its key names (TDX/SGX
//    id, FMSPC);
//  - PCK CRL: signed by the Platform/Processor CA its key names, chained to the pinned root;
//  - Root CA CRL: signed by the pinned root.
// Every certificate and document must be valid at `at`.

import type { TrustAnchors } from '../anchors.ts';
import { EvidenceFormatError } from '../errors.ts';
import { amdExtensions } from '../snp/extensions.ts';
import { amdSignatureAlgorithm, checkChain, identifyIntermediate } from '../snp/verify-chain.ts';
import { parseQeIdentity } from '../tdx/qe-identity.ts';
import { parseTcbInfo } from '../tdx/tcb-info.ts';
import { chainToAnchor, commonName, invalidAt } from '../tdx/trust-chain.ts';
import { verifyTcbSigner, type SignedDocument } from '../tdx/verify-tcb-signer.ts';
import { isIssuedBy, isValidAt, parseCertificateDer, parseCertificates, type Certificate } from '../x509/certificate.ts';
import { isCrlCurrentAt, isCrlIssuedBy, parseCrl, type Crl } from '../x509/crl.ts';
import type { CollateralRequest } from './document.ts';
import type { CollateralEntry } from './store.ts';

export type EntryVerdict = { ok: true } | { ok: false; reason: string };

const OK: EntryVerdict = { ok: true };
const no = (reason: string): EntryVerdict => ({ ok: false, reason });

function window(from: Date, until: Date | undefined, at: Date, what: string): EntryVerdict {
  const t = at.getTime();
  if (t < from.getTime()) return no(`the ${what} is not valid before ${from.toISOString()}`);
  if (until && t > until.getTime()) return no(`the ${what} expired at ${until.toISOString()}`);
  return OK;
}

function crlCurrent(crl: Crl, at: Date, what: string): EntryVerdict {
  if (isCrlCurrentAt(crl, at)) return OK;
  return window(crl.thisUpdate, crl.nextUpdate, at, what);
}

/** A PCK CRL's issuer chain: its first certificate must have CN `cn` (the CA the CRL's key names) and chain to a pinned root. */
function intelSigner(pem: string | undefined, cn: string, anchors: TrustAnchors, at: Date): Certificate | string {
  if (!pem) return 'it has no issuer chain';
  const certs = parseCertificates(pem, 'issuer chain');
  const [signer, carriedRoot] = certs;
  if (!signer || certs.length > 2) return `its issuer chain holds ${certs.length} certificates, not the signer and the root`;
  if (commonName(signer) !== cn) return `its issuer chain starts with "${commonName(signer)}", not "${cn}"`;
  const r = chainToAnchor(signer, carriedRoot, anchors.intel);
  if (!r.ok) return r.detail.replace(/\.$/, '');
  const expired = invalidAt([signer, r.match.root], at);
  if (expired.length > 0) return `its issuer chain is not valid at ${at.toISOString()}: ${expired.join('; ')}`;
  return signer;
}

/**
 * The signer of a TCB Info / QE Identity, by the very rule verification applies
 * (verifier/tdx/verify-tcb-signer.ts: a CN containing "SGX TCB Signing", as Intel's QVL).
 */
function tcbSigner(doc: SignedDocument, pem: string | undefined, anchors: TrustAnchors, at: Date): EntryVerdict {
  if (!pem) return no('it has no issuer chain');
  const { chain, signatureOk } = verifyTcbSigner(doc, pem, anchors.intel, at, { label: 'issuer chain' });
  if (!chain.ok) {
    switch (chain.problem) {
      case 'unreadable':
        return no(chain.message.replace(/\.$/, ''));
      case 'length':
        return no(`its issuer chain holds ${chain.count} certificates, not the signer and the root`);
      case 'not-tcb-signing':
        return no(`its issuer chain starts with "${chain.commonName}", not "Intel SGX TCB Signing"`);
      case 'untrusted':
        return no(chain.detail.replace(/\.$/, ''));
      case 'expired':
        return no(`its issuer chain is not valid at ${at.toISOString()}: ${chain.invalid.join('; ')}`);
      case 'other-root': // only when a quote's PCK root is required, which an entry on its own has not
        return no('its issuer chain reaches another pinned root than required');
    }
  }
  if (!signatureOk) return no('its signature does not verify under the Intel SGX TCB Signing key');
  return OK;
}

function verifySnp(request: Extract<CollateralRequest, { kind: 'snp-vcek' | 'snp-cert-chain' | 'snp-crl' }>, entry: CollateralEntry, anchors: TrustAnchors, at: Date): EntryVerdict {
  const anchor = anchors.amd.find((a) => a.product === request.product);
  if (!anchor) return no(`no ARK is pinned for ${request.product}`);
  const ark = parseCertificateDer(anchor.arkDer, `ARK-${request.product}`);

  if (request.kind === 'snp-crl') {
    const crl = parseCrl(entry.bytes, 'AMD CRL');
    if (!isCrlIssuedBy(crl, ark)) return no(`it is not signed by the pinned ARK-${request.product}`);
    return crlCurrent(crl, at, 'CRL');
  }

  if (request.kind === 'snp-cert-chain') {
    const certs = parseCertificates(entry.bytes, 'AMD cert_chain');
    const [intermediate, root] = certs;
    if (!intermediate || !root || certs.length !== 2) return no(`it holds ${certs.length} certificates, not the intermediate and the ARK`);
    if (root.sha256 !== ark.sha256) return no(`its root is not the pinned ARK-${request.product}`);
    const kind = request.signer === 'vcek' ? 'VCEK' : 'VLEK';
    const id = identifyIntermediate(intermediate, anchors.amd);
    if (id.product !== request.product || id.kind !== kind) {
      return no(`its intermediate (${intermediate.subject}) is not the ${kind === 'VCEK' ? 'ASK' : 'ASVK'} of ${request.product}`);
    }
    if (!isIssuedBy(intermediate, ark)) return no(`its intermediate is not signed by the pinned ARK-${request.product}`);
    const alg = amdSignatureAlgorithm(intermediate);
    if (alg !== true) return no(`its intermediate is signed with ${alg}, not AMD's RSASSA-PSS SHA-384`);
    if (!isValidAt(intermediate, at)) return window(intermediate.notBefore, intermediate.notAfter, at, 'intermediate certificate');
    return OK;
  }

  // VCEK
  const vcek = parseCertificateDer(entry.bytes, 'VCEK certificate');
  if (!anchor.askDer) return no(`no ASK is pinned for ${request.product}`);
  const ask = parseCertificateDer(anchor.askDer, `ASK-${request.product}`);
  // Only this anchor: a cached VCEK must chain to the product it was fetched for.
  const claimed = { product: request.product, from: `The KDS request for ${request.product}` };
  const chain = checkChain({ kind: 'VCEK', signer: vcek, intermediate: ask, intermediateSupplied: false, claimed, anchors: [anchor], at });
  const failed = chain.checks.filter((c) => !c.ok);
  if (failed.length > 0) return no(failed.map((c) => c.detail.replace(/\.$/, '')).join('; '));
  // The key says which chip and TCB this VCEK is for; the certificate must say the same
  // (AMD 57230 Table "VCEK certificate extensions"), or it would be served for the wrong one.
  const ext = amdExtensions(vcek);
  const hwId = request.product === 'Turin' ? ext.hwID?.slice(0, 16) : ext.hwID;
  if (hwId !== request.hwId) return no(`its hwID extension (${ext.hwID ?? 'none'}) is not the chip ${request.hwId}`);
  const t = request.tcb;
  const want = { blSPL: t.bootloader, teeSPL: t.tee, snpSPL: t.snp, ucodeSPL: t.microcode, ...(t.fmc !== undefined ? { fmcSPL: t.fmc } : {}) };
  for (const [name, value] of Object.entries(want)) {
    const found = ext[name as keyof typeof want];
    if (found !== value) return no(`its ${name} extension is ${found ?? 'absent'}, not ${value}`);
  }
  return OK;
}

function verifyIntel(request: Exclude<CollateralRequest, { kind: 'snp-vcek' | 'snp-cert-chain' | 'snp-crl' }>, entry: CollateralEntry, anchors: TrustAnchors, at: Date): EntryVerdict {
  switch (request.kind) {
    case 'intel-tcb-info':
    case 'intel-qe-identity': {
      const text = Buffer.from(entry.bytes).toString('utf8');
      let doc: { signedBytes: Buffer; signature: Buffer; issueDate: Date; nextUpdate: Date };
      let mismatch: string | undefined;
      if (request.kind === 'intel-tcb-info') {
        const info = parseTcbInfo(text);
        const id = request.tee === 'tdx' ? 'TDX' : 'SGX';
        if (info.body.id !== id) mismatch = `it is a TCB Info of id ${info.body.id}, not ${id}`;
        else if (info.fmspc !== request.fmspc) mismatch = `it is for FMSPC ${info.fmspc}, not ${request.fmspc}`;
        doc = info;
      } else {
        const identity = parseQeIdentity(text);
        const id = request.tee === 'tdx' ? 'TD_QE' : 'QE';
        if (identity.body.id !== id) mismatch = `it is the identity of ${identity.body.id}, not ${id}`;
        doc = identity;
      }
      if (mismatch) return no(mismatch);
      const signed = tcbSigner(doc, entry.issuerChain, anchors, at);
      if (!signed.ok) return signed;
      return window(doc.issueDate, doc.nextUpdate, at, request.kind === 'intel-tcb-info' ? 'TCB Info' : 'QE Identity');
    }
    case 'intel-pck-crl': {
      const crl = parseCrl(entry.bytes, 'PCK CRL');
      const cn = request.ca === 'platform' ? 'Intel SGX PCK Platform CA' : 'Intel SGX PCK Processor CA';
      const issuer = intelSigner(entry.issuerChain, cn, anchors, at);
      if (typeof issuer === 'string') return no(issuer);
      if (!isCrlIssuedBy(crl, issuer)) return no(`it is not signed by the ${cn} of its issuer chain`);
      return crlCurrent(crl, at, 'CRL');
    }
    case 'intel-root-ca-crl': {
      const crl = parseCrl(entry.bytes, 'Root CA CRL');
      const root = anchors.intel.map((a) => parseCertificateDer(a.rootDer, 'Intel SGX Root CA')).find((r) => isCrlIssuedBy(crl, r));
      if (!root) return no('it is not signed by a pinned Intel SGX Root CA');
      return crlCurrent(crl, at, 'CRL');
    }
  }
}

/**
 * Whether `entry` (named by `request`) is a genuine, current document at `at` under
 * `anchors`. Never throws: an unreadable document is a verdict with the parser's reason.
 */
export function verifyCollateralEntry(request: CollateralRequest, entry: CollateralEntry, anchors: TrustAnchors, at: Date): EntryVerdict {
  try {
    switch (request.kind) {
      case 'snp-vcek':
      case 'snp-cert-chain':
      case 'snp-crl':
        return verifySnp(request, entry, anchors, at);
      default:
        return verifyIntel(request, entry, anchors, at);
    }
  } catch (err) {
    if (err instanceof EvidenceFormatError) return no(err.message.replace(/\.$/, ''));
    throw err;
  }
}
