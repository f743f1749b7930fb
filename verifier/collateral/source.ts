// The one interface through which both verifiers obtain collateral they were not handed
// with the evidence. Implementations: HTTP clients for AMD KDS and Intel PCS, the
// persistent cache in front of them, offline bundles. Every document returned here is
// untrusted bytes: the verifiers check each one against the pinned roots on every use.

import type { SnpProduct } from '../snp/product.ts';

export interface CollateralDocument {
  /** The document as served: DER for certificates and CRLs, the raw JSON body for TCB Info / QE Identity, PEM for AMD cert_chain. */
  bytes: Uint8Array;
  /** Intel PCS: the issuer chain (PEM) from the response header. */
  issuerChain?: string;
  /** Where it came from: `cache`, `amd-kds`, `intel-pcs`, `bundle`, ... */
  source: string;
  /** True when served past its nextUpdate because the vendor could not be reached. */
  stale?: boolean;
}

/** SNP TCB components as AMD KDS names them in the VCEK URL (blSPL, teeSPL, snpSPL, ucodeSPL, fmcSPL). */
export interface SnpTcbParts {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  /** Turin and later only. */
  fmc?: number;
}

export type SnpSignerKind = 'vcek' | 'vlek';
export type IntelTee = 'tdx' | 'sgx';
export type PckCa = 'platform' | 'processor';

/**
 * Each method resolves with the document or rejects with CollateralUnavailableError
 * naming it. None of them verifies anything.
 */
export interface CollateralSource {
  /** AMD KDS /vcek/v1/{product}/{hwid}?blSPL=..: the VCEK, DER. */
  snpVcek(req: { product: SnpProduct; hwId: string; tcb: SnpTcbParts }): Promise<CollateralDocument>;
  /** AMD KDS /{vcek|vlek}/v1/{product}/cert_chain: intermediate (ASK or ASVK) then ARK, PEM. */
  snpCertChain(req: { product: SnpProduct; signer: SnpSignerKind }): Promise<CollateralDocument>;
  /** AMD KDS /{vcek|vlek}/v1/{product}/crl: the CRL signed by the ARK, DER. */
  snpCrl(req: { product: SnpProduct; signer: SnpSignerKind }): Promise<CollateralDocument>;
  /** Intel PCS v4 /{tdx|sgx}/certification/v4/tcb?fmspc=..: the JSON body; issuerChain from TCB-Info-Issuer-Chain. */
  intelTcbInfo(req: { tee: IntelTee; fmspc: string }): Promise<CollateralDocument>;
  /** Intel PCS v4 /{tdx|sgx}/certification/v4/qe/identity: the JSON body; issuerChain from SGX-Enclave-Identity-Issuer-Chain. */
  intelQeIdentity(req: { tee: IntelTee }): Promise<CollateralDocument>;
  /** Intel PCS v4 /sgx/certification/v4/pckcrl?ca=..&encoding=der: DER; issuerChain from SGX-PCK-CRL-Issuer-Chain. */
  intelPckCrl(req: { ca: PckCa }): Promise<CollateralDocument>;
  /** The Intel SGX Root CA CRL, DER. */
  intelRootCaCrl(): Promise<CollateralDocument>;
}
