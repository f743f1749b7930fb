// The one interface every evidence provider implements: configfs-tsm on real hardware,
// azure-vtpm on Azure confidential VMs, the simulator in development. The agent core never
// knows which one it talks to.

import type { SnpCertificates } from '../../verifier/evidence.ts';
import type { Tee } from '../../verifier/result.ts';

export type ProviderEvidence =
  | {
      tee: 'sev-snp';
      /** The 1184-byte ATTESTATION_REPORT. */
      report: Uint8Array;
      /** Certificates the host supplied with the report (configfs auxblob), DER. */
      certificates?: SnpCertificates;
    }
  | {
      tee: 'tdx';
      /** The DCAP quote (v4 or v5), with its embedded PCK chain. */
      quote: Uint8Array;
      /** The TD event log (CCEL) when the firmware published one (providers/ccel.ts). */
      eventLog?: Uint8Array;
    }
  | {
      tee: 'az-snp-vtpm' | 'az-tdx-vtpm';
      /** The evidence JSON as the CoCo attestation-agent sends it, sent as is. */
      azure: AzureVtpmEvidenceJson;
    };

/**
 * Azure vTPM evidence, version 2 of the CoCo attestation-agent's format (guest-components
 * attester/src/az_snp_vtpm, az_tdx_vtpm): tpm_quote fields hex, the rest base64url.
 * `vcek` is base64url DER, or PEM (VCEK, then ASK and ARK) when the host gave the chain.
 */
export interface AzureVtpmEvidenceJson {
  version: number;
  tpm_quote: { signature: string; message: string; pcrs: string[] };
  hcl_report: string;
  vcek?: string;
  td_quote?: string;
}

export interface EvidenceProvider {
  /** `configfs-tsm`, `azure-vtpm`, `simulator`. */
  readonly name: string;
  /** The TEE this provider produces evidence for. */
  tee(): Promise<Tee>;
  /**
   * Evidence whose REPORT_DATA is exactly `reportData` (64 bytes); on Azure, whose TPM nonce
   * and user-data are its Azure form (verifier/binding.ts azureNonceFromReportData).
   */
  getEvidence(reportData: Uint8Array): Promise<ProviderEvidence>;
}

/**
 * A provider could not produce evidence. `code` is stable:
 * `provider_unavailable` (no such interface here), `provider_permission` (not allowed to use it),
 * `provider_busy` (another writer changed the request under us), `provider_unsupported`
 * (a TEE this agent does not handle), `provider_output` (the interface returned something unusable),
 * `report_data_length`.
 */
export class ProviderError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'ProviderError';
    this.code = code;
  }
}

export const REPORT_DATA_LENGTH = 64;

export function requireReportData(reportData: Uint8Array): void {
  if (reportData.length !== REPORT_DATA_LENGTH) {
    throw new ProviderError('report_data_length', `REPORT_DATA must be exactly ${REPORT_DATA_LENGTH} bytes, got ${reportData.length}.`);
  }
}
