// What a collateral document *is*: the request that names it, its cache key, and a human
// name for messages. The cache, the bundle and the CLI all speak about documents through
// these, so that "the VCEK for chip X at TCB Y" has one key everywhere.

import { EvidenceFormatError } from '../errors.ts';
import { SNP_PRODUCTS, type SnpProduct } from '../snp/product.ts';
import type { CollateralDocument, CollateralSource, IntelTee, PckCa, SnpSignerKind, SnpTcbParts } from './source.ts';

export type CollateralKind =
  | 'snp-vcek'
  | 'snp-cert-chain'
  | 'snp-crl'
  | 'intel-tcb-info'
  | 'intel-qe-identity'
  | 'intel-pck-crl'
  | 'intel-root-ca-crl';

export const COLLATERAL_KINDS: readonly CollateralKind[] = [
  'snp-vcek',
  'snp-cert-chain',
  'snp-crl',
  'intel-tcb-info',
  'intel-qe-identity',
  'intel-pck-crl',
  'intel-root-ca-crl',
];

export type CollateralRequest =
  | { kind: 'snp-vcek'; product: SnpProduct; hwId: string; tcb: SnpTcbParts }
  | { kind: 'snp-cert-chain'; product: SnpProduct; signer: SnpSignerKind }
  | { kind: 'snp-crl'; product: SnpProduct; signer: SnpSignerKind }
  | { kind: 'intel-tcb-info'; tee: IntelTee; fmspc: string }
  | { kind: 'intel-qe-identity'; tee: IntelTee }
  | { kind: 'intel-pck-crl'; ca: PckCa }
  | { kind: 'intel-root-ca-crl' };

/** Which vendor service serves a kind of document. */
export type CollateralVendor = 'amd-kds' | 'intel-pcs';

export function vendorOf(kind: CollateralKind): CollateralVendor {
  return kind.startsWith('snp-') ? 'amd-kds' : 'intel-pcs';
}

function bad(message: string): never {
  throw new EvidenceFormatError('collateral_request_invalid', message);
}

function spl(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 255) bad(`The ${name} SPL must be an integer 0..255, got ${String(v)}.`);
  return v;
}

/**
 * The hardware id as AMD KDS takes it in the VCEK URL. Milan and Genoa: the 64-byte
 * CHIP_ID. Turin: only the first 8 bytes (the rest of CHIP_ID is zero; AMD KDS spec for
 * Turin, and go-sev-guest kds/kds.go uses the 8-byte form for Turin too).
 */
export function kdsHwId(product: SnpProduct, hwId: string): string {
  const hex = hwId.toLowerCase();
  if (!/^([0-9a-f]{2})+$/.test(hex)) bad(`The hardware id must be hex, got "${hwId.slice(0, 20)}".`);
  if (product === 'Turin') {
    if (hex.length === 16) return hex;
    if (hex.length === 128 && /^0+$/.test(hex.slice(16))) return hex.slice(0, 16);
    bad(`A Turin hardware id is 8 bytes (or a 64-byte CHIP_ID whose last 56 bytes are zero), got ${hex.length / 2} bytes.`);
  }
  if (hex.length !== 128) bad(`A ${product} hardware id is the 64-byte CHIP_ID, got ${hex.length / 2} bytes.`);
  if (/^0+$/.test(hex)) bad('The CHIP_ID is all zeros (MASK_CHIP_ID is set): AMD KDS cannot serve a VCEK for it.');
  return hex;
}

function normalizeFmspc(fmspc: string): string {
  const f = fmspc.toLowerCase();
  if (!/^[0-9a-f]{12}$/.test(f)) bad(`An FMSPC is 6 bytes of hex, got "${fmspc.slice(0, 20)}".`);
  return f;
}

function product(p: unknown): SnpProduct {
  if (!SNP_PRODUCTS.includes(p as SnpProduct)) bad(`Unknown SEV-SNP product "${String(p)}" (expected ${SNP_PRODUCTS.join(', ')}).`);
  return p as SnpProduct;
}

/** Validate and canonicalise a request (lower-case hex, Turin's 8-byte hwid). Throws EvidenceFormatError. */
export function normalizeRequest<R extends CollateralRequest>(req: R): R {
  return normalize(req) as R;
}

function normalize(req: CollateralRequest): CollateralRequest {
  switch (req.kind) {
    case 'snp-vcek': {
      const p = product(req.product);
      const tcb: SnpTcbParts = {
        bootloader: spl('blSPL', req.tcb.bootloader),
        tee: spl('teeSPL', req.tcb.tee),
        snp: spl('snpSPL', req.tcb.snp),
        microcode: spl('ucodeSPL', req.tcb.microcode),
      };
      // Turin VCEKs are keyed by FMC SPL as well (go-sev-guest kds TCBVersionTurin.tcbArgs).
      if (p === 'Turin') tcb.fmc = spl('fmcSPL', req.tcb.fmc);
      else if (req.tcb.fmc !== undefined) bad(`The FMC SPL exists only on Turin, not ${p}.`);
      return { kind: 'snp-vcek', product: p, hwId: kdsHwId(p, req.hwId), tcb };
    }
    case 'snp-cert-chain':
    case 'snp-crl':
      if (req.signer !== 'vcek' && req.signer !== 'vlek') bad(`The signer kind must be vcek or vlek, got "${String(req.signer)}".`);
      return { kind: req.kind, product: product(req.product), signer: req.signer };
    case 'intel-tcb-info':
      if (req.tee !== 'tdx' && req.tee !== 'sgx') bad(`The TEE must be tdx or sgx, got "${String(req.tee)}".`);
      return { kind: req.kind, tee: req.tee, fmspc: normalizeFmspc(req.fmspc) };
    case 'intel-qe-identity':
      if (req.tee !== 'tdx' && req.tee !== 'sgx') bad(`The TEE must be tdx or sgx, got "${String(req.tee)}".`);
      return { kind: req.kind, tee: req.tee };
    case 'intel-pck-crl':
      if (req.ca !== 'platform' && req.ca !== 'processor') bad(`The PCK CA must be platform or processor, got "${String(req.ca)}".`);
      return { kind: req.kind, ca: req.ca };
    case 'intel-root-ca-crl':
      return { kind: req.kind };
  }
}

function tcbString(t: SnpTcbParts): string {
  return `${t.fmc !== undefined ? `fmc=${t.fmc},` : ''}bl=${t.bootloader},tee=${t.tee},snp=${t.snp},ucode=${t.microcode}`;
}

/** The cache key of a (normalised) request: `kind/part/part`. */
export function documentKey(request: CollateralRequest): string {
  const r = normalizeRequest(request);
  switch (r.kind) {
    case 'snp-vcek':
      return `snp-vcek/${r.product}/${r.hwId}/${tcbString(r.tcb)}`;
    case 'snp-cert-chain':
    case 'snp-crl':
      return `${r.kind}/${r.product}/${r.signer}`;
    case 'intel-tcb-info':
      return `intel-tcb-info/${r.tee}/${r.fmspc}`;
    case 'intel-qe-identity':
      return `intel-qe-identity/${r.tee}`;
    case 'intel-pck-crl':
      return `intel-pck-crl/${r.ca}`;
    case 'intel-root-ca-crl':
      return 'intel-root-ca-crl';
  }
}

/** The request a key names (the inverse of documentKey). Throws EvidenceFormatError for a key it did not make. */
export function requestFromKey(key: string): CollateralRequest {
  const parts = key.split('/');
  const kind = parts[0] as CollateralKind;
  const n = parts.length;
  let req: CollateralRequest | undefined;
  if (kind === 'snp-vcek' && n === 4) {
    const m = /^(?:fmc=(\d+),)?bl=(\d+),tee=(\d+),snp=(\d+),ucode=(\d+)$/.exec(parts[3]!);
    if (m) {
      const tcb: SnpTcbParts = { bootloader: Number(m[2]), tee: Number(m[3]), snp: Number(m[4]), microcode: Number(m[5]) };
      if (m[1] !== undefined) tcb.fmc = Number(m[1]);
      req = { kind, product: parts[1] as SnpProduct, hwId: parts[2]!, tcb };
    }
  } else if ((kind === 'snp-cert-chain' || kind === 'snp-crl') && n === 3) {
    req = { kind, product: parts[1] as SnpProduct, signer: parts[2] as SnpSignerKind };
  } else if (kind === 'intel-tcb-info' && n === 3) {
    req = { kind, tee: parts[1] as IntelTee, fmspc: parts[2]! };
  } else if (kind === 'intel-qe-identity' && n === 2) {
    req = { kind, tee: parts[1] as IntelTee };
  } else if (kind === 'intel-pck-crl' && n === 2) {
    req = { kind, ca: parts[1] as PckCa };
  } else if (kind === 'intel-root-ca-crl' && n === 1) {
    req = { kind };
  }
  if (!req) throw new EvidenceFormatError('collateral_key_malformed', `"${key.slice(0, 120)}" is not a collateral document key.`);
  const normal = normalizeRequest(req);
  // Only canonical keys are accepted, so one document cannot hide under two keys.
  if (documentKey(normal) !== key) throw new EvidenceFormatError('collateral_key_malformed', `"${key.slice(0, 120)}" is not in canonical form.`);
  return normal;
}

const TEE_NAME: Record<IntelTee, string> = { tdx: 'TDX', sgx: 'SGX' };

/** A human name for the document, used in every message about it. */
export function describeDocument(request: CollateralRequest): string {
  const r = request;
  switch (r.kind) {
    case 'snp-vcek':
      return `AMD ${r.product} VCEK for chip ${r.hwId.slice(0, 16)}… at TCB ${tcbString(r.tcb)}`;
    case 'snp-cert-chain':
      return `AMD ${r.product} ${r.signer.toUpperCase()} certificate chain (${r.signer === 'vcek' ? 'ASK' : 'ASVK'} and ARK)`;
    case 'snp-crl':
      return `AMD ${r.product} ${r.signer.toUpperCase()} CRL`;
    case 'intel-tcb-info':
      return `Intel ${TEE_NAME[r.tee]} TCB Info for FMSPC ${r.fmspc}`;
    case 'intel-qe-identity':
      return `Intel ${r.tee === 'tdx' ? 'TD_QE' : 'QE'} Identity`;
    case 'intel-pck-crl':
      return `Intel SGX PCK ${r.ca === 'platform' ? 'Platform' : 'Processor'} CA CRL`;
    case 'intel-root-ca-crl':
      return 'Intel SGX Root CA CRL';
  }
}

/** Ask `source` for the document `request` names. */
export function fetchDocument(source: CollateralSource, request: CollateralRequest): Promise<CollateralDocument> {
  const r = request;
  switch (r.kind) {
    case 'snp-vcek':
      return source.snpVcek({ product: r.product, hwId: r.hwId, tcb: r.tcb });
    case 'snp-cert-chain':
      return source.snpCertChain({ product: r.product, signer: r.signer });
    case 'snp-crl':
      return source.snpCrl({ product: r.product, signer: r.signer });
    case 'intel-tcb-info':
      return source.intelTcbInfo({ tee: r.tee, fmspc: r.fmspc });
    case 'intel-qe-identity':
      return source.intelQeIdentity({ tee: r.tee });
    case 'intel-pck-crl':
      return source.intelPckCrl({ ca: r.ca });
    case 'intel-root-ca-crl':
      return source.intelRootCaCrl();
  }
}
