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
  /** TDX only: the CC event log (ACPI CCEL table data), replayed against the quote's RTMRs (verifier/tdx/eventlog/). */
  eventLog?: Uint8Array;
};

/** A TPM2_Quote as the Azure vTPM evidence carries it (az-cvm-vtpm `Quote`). */
export interface AzureTpmQuote {
  /** RSASSA-PKCS1-v1_5 SHA-256 signature by the AK: bare, or a TPMT_SIGNATURE. */
  signature: Uint8Array;
  /** The TPMS_ATTEST that was signed. */
  message: Uint8Array;
  /** The PCR values of the quote's selection, in selection order (sha256: 24 of 32 bytes). */
  pcrs: Uint8Array[];
}

/** What both Azure vTPM evidence kinds carry (verifier/azure/). */
export interface AzureVtpmParts {
  /** The attestation-agent's evidence version: 0 (legacy field names), 1, 2 (user-data holds the report data). */
  version: number;
  tpmQuote: AzureTpmQuote;
  /** The HCL report read from the vTPM NV index 0x01400001. */
  hclReport: Uint8Array;
}

/** Azure confidential VM, SEV-SNP: the SNP report is inside the HCL report. */
export type AzSnpVtpmEvidence = AzureVtpmParts & {
  tee: 'az-snp-vtpm';
  /** The VCEK (and, when given, ASK/ARK) as for bare SNP evidence. */
  certificates?: SnpCertificates;
  crl?: Uint8Array;
};

/** Azure confidential VM, TDX: the TD quote comes beside the HCL report. */
export type AzTdxVtpmEvidence = AzureVtpmParts & {
  tee: 'az-tdx-vtpm';
  tdQuote: Uint8Array;
  collateral?: IntelCollateral;
};

export type AzureEvidence = AzSnpVtpmEvidence | AzTdxVtpmEvidence;

export type Evidence = SnpEvidence | IntelEvidence | AzureEvidence;

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
  /**
   * Azure vTPM evidence: the nonce the TPM quote's extraData must equal (and, for agent
   * evidence v2, the prefix of the runtime data's user-data). Without it those two checks
   * are not made and the result warns: the caller must compare claims.tpm.nonce itself.
   */
  nonce?: Uint8Array;
}
