// What a verification takes: the evidence, and everything else as explicit inputs.
// Nothing in verifier/ reads the clock, the network or the disk on its own.

import type { TrustAnchors } from './anchors.ts';
import type { CollateralSource } from './collateral/source.ts';

/** Certificates that came with SNP evidence (extended report cert table, configfs auxblob, or the caller). DER. */
export interface SnpCertificates {
  vcek?: Uint8Array;
  vlek?: Uint8Array;
  ask?: Uint8Array;
  asvk?: Uint8Array;
  /** Informational only: compared against the pinned ARK, never trusted. */
  ark?: Uint8Array;
}

/** Intel collateral as Intel PCS serves it (one field per response). */
export interface IntelCollateral {
  /** Raw PCS body `{"tcbInfo":{...},"signature":"..."}`, exactly as served. */
  tcbInfo: string;
  tcbInfoIssuerChain: string;
  /** Raw PCS body `{"enclaveIdentity":{...},"signature":"..."}`. */
  qeIdentity: string;
  qeIdentityIssuerChain: string;
  /** DER (or PEM) CRL of the CA that issued the PCK leaf. */
  pckCrl?: Uint8Array;
  pckCrlIssuerChain?: string;
  /** DER (or PEM) Intel SGX Root CA CRL. */
  rootCaCrl?: Uint8Array;
}

export type SnpEvidence = {
  tee: 'sev-snp';
  /** The 1184-byte ATTESTATION_REPORT. */
  report: Uint8Array;
  certificates?: SnpCertificates;
  /** AMD KDS CRL for the product and signer kind, DER. */
  crl?: Uint8Array;
};

export type IntelEvidence = {
  tee: 'tdx' | 'sgx';
  quote: Uint8Array;
  collateral?: IntelCollateral;
};

export type Evidence = SnpEvidence | IntelEvidence;

/**
 * CRL handling. `require`: no CRL is a failed check. `prefer` (default): check it when
 * it can be had, else warn. `off`: skip, and the result records that it was skipped.
 */
export type CrlMode = 'require' | 'prefer' | 'off';

export interface VerifyOptions {
  /** The instant at which certificates, CRLs and TCB documents must be valid. */
  at: Date;
  /** Defaults to the production anchors pinned in the code. */
  anchors?: TrustAnchors;
  /** Where to get collateral the evidence did not carry. Without one, missing collateral fails closed. */
  collateral?: CollateralSource;
  crl?: CrlMode;
}
