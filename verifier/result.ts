// The verdict every verifier returns, and the claims model a policy speaks about.
// Plain JSON-serialisable data only (hex strings, numbers, booleans): results are
// stored, signed into tokens and evaluated by CEL, so no bigint, Buffer or Date here.

export type Tee = 'sev-snp' | 'tdx' | 'sgx' | 'az-snp-vtpm' | 'az-tdx-vtpm';
export const TEES: readonly Tee[] = ['sev-snp', 'tdx', 'sgx', 'az-snp-vtpm', 'az-tdx-vtpm'];

/** One named check. A denial lists every check with ok=false. */
export interface Check {
  /** Stable, dotted id, e.g. `snp.report.signature` or `tdx.collateral.tcb-info.validity`. */
  id: string;
  ok: boolean;
  /** One human sentence: what was checked and, when it failed, why. */
  detail: string;
  expected?: unknown;
  found?: unknown;
}

/**
 * Intel's TCB evaluation outcomes (QVL TcbStatus.h, QvE sgx_ql_qv_result_t terms): the one
 * list the type, the policy schema and the TCB evaluation all derive from.
 */
export const INTEL_TCB_STATUSES = [
  'UpToDate',
  'SWHardeningNeeded',
  'ConfigurationNeeded',
  'ConfigurationAndSWHardeningNeeded',
  'OutOfDate',
  'OutOfDateConfigurationNeeded',
  'TDRelaunchAdvised',
  'TDRelaunchAdvisedConfigurationNeeded',
  'Revoked',
  'TcbNotSupported',
] as const;

/** Intel's TCB evaluation outcome (QVL terms). */
export type IntelTcbStatus = (typeof INTEL_TCB_STATUSES)[number];

export interface TcbClaims {
  /** Intel: the combined TCB status. SNP: absent (AMD publishes no status; policy sets minimums). */
  status?: string;
  /** Intel: tcbDate of the matched level (ISO-8601). */
  date?: string;
  advisoryIds?: string[];
  evaluationDataNumber?: number;
  /** SNP: REPORTED_TCB components by name (bootloader, tee, snp, microcode, fmc?). */
  reported?: Record<string, number>;
  [k: string]: unknown;
}

export interface PlatformClaims {
  /** SNP: Milan | Genoa | Turin. */
  product?: string;
  /** SNP: CHIP_ID hex (may be zeros when MASK_CHIP_ID is set). */
  chipId?: string;
  /** Intel: FMSPC hex, lower case. */
  fmspc?: string;
  /** VCEK | VLEK | PCK */
  signer?: string;
  /** SNP VLEK: the cloud service provider id from the VLEK certificate. */
  cspId?: string;
}

export interface Claims {
  tee: Tee;
  /** SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE; lower-case hex. */
  measurement: string;
  /** REPORT_DATA, 64 bytes, lower-case hex. */
  reportData: string;
  /** SNP guest policy DEBUG bit, TDX TDATTRIBUTES.DEBUG, SGX ATTRIBUTES.DEBUG. */
  debug: boolean;
  tcb: TcbClaims;
  platform: PlatformClaims;
  /** Every SNP report field by name. */
  snp?: Record<string, unknown>;
  /** Every TD report field by name, with `rtmr: [4 hex strings]`. */
  tdx?: Record<string, unknown>;
  /** Every SGX report body field by name. */
  sgx?: Record<string, unknown>;
  /** Azure vTPM evidence only: true. */
  azure?: true;
  /** Azure vTPM evidence: the TPM quote (verifier/azure/claims.ts). */
  tpm?: TpmClaims;
  /** Azure vTPM evidence: the HCL runtime data's VM configuration. */
  vm?: AzureVmClaims;
  /** Present (true) only when the evidence chained to a simulator root (development mode). */
  simulated?: true;
  /** KBS protocol only: the init-data the guest was launched with, bound by HOST_DATA / MRCONFIGID (server/kbs/init-data.ts). */
  initData?: InitDataClaims;
}

/** The init-data of a Confidential Containers guest (trustee kbs/docs/initdata.md): its `data` table, cdh.toml and aa.toml parsed. */
export interface InitDataClaims {
  version: string;
  algorithm: string;
  /** The digest of the TOML document as sent, lower-case hex. */
  digest: string;
  data: Record<string, unknown>;
}

export interface TpmClaims {
  /** PCR index (decimal string) -> value, lower-case hex, for the quote's sha256 selection. */
  pcrs: Record<string, string>;
  /** The quote's extraData (qualifying data), lower-case hex. */
  nonce: string;
  /** True when the quote is signed by the HCL attestation key and its PCR digest matched. */
  quoteVerified: boolean;
  /** The attestation-agent evidence version (0, 1, 2). */
  evidenceVersion: number;
}

export interface AzureVmClaims {
  secureBoot?: boolean;
  tpmEnabled?: boolean;
  consoleEnabled?: boolean;
  tpmPersisted?: boolean;
  vmId?: string;
  /** The runtime data's user-data, lower-case hex. */
  userData?: string;
}

/** Which collateral document a verification used, for the audit trail. */
export interface CollateralUse {
  /** e.g. `vcek`, `ask`, `ark`, `crl`, `tcb-info`, `qe-identity`, `pck-crl`, `root-ca-crl`. */
  kind: string;
  sha256: string;
  /** Where it came from: `evidence`, `cache`, `amd-kds`, `intel-pcs`, `bundle`, `input`, `embedded`. */
  source: string;
  /** True when served past its nextUpdate because the vendor was unreachable. */
  stale?: boolean;
}

/**
 * Intel: who the platform and its Quoting Enclave are, from the PCK certificate's SGX
 * extension (Intel "SGX PCK Certificate and CRL Profile" 1.5: PPID, PCE-ID) and the QE
 * report matched against the QE Identity. Kept in the stored result (the fleet view,
 * server/fleet/) and not in the claims: the PPID names one machine to whoever reads a token,
 * so only its SHA-256 is kept, and a policy has no use for it.
 */
export interface IntelPlatformResult {
  /** SHA-256 (hex) of the 16-byte PPID: one physical platform. */
  ppidSha256: string;
  /** PCE-ID, lower-case hex. */
  pceId: string;
  qe: {
    /** ISVSVN of the QE report. */
    isvSvn: number;
    /** The QE Identity level the QE met (QVL EnclaveReportVerifier terms; NotSupported: none). */
    status: 'UpToDate' | 'OutOfDate' | 'Revoked' | 'NotSupported';
    /** tcbDate of that level. */
    tcbDate?: string;
  };
}

export interface IntelTcbResult {
  status: IntelTcbStatus;
  advisoryIds: string[];
  tcbDate?: string;
  evaluationDataNumber?: number;
}

export interface VerificationResult {
  /** True only when every check passed. */
  verified: boolean;
  tee: Tee;
  /** SNP product (Milan, Genoa, Turin); absent for Intel. */
  product?: string;
  /** VCEK, VLEK or PCK. */
  signer?: string;
  /** The normalised claims, present whenever the evidence parsed (policy must only trust them when verified). */
  claims?: Claims;
  checks: Check[];
  warnings: string[];
  /** Intel only. */
  tcb?: IntelTcbResult;
  /** Intel only: the platform's and the QE's identity. */
  platform?: IntelPlatformResult;
  collateral: CollateralUse[];
}

/** The checks that failed, in order: what a denial reports. */
export function failedChecks(result: Pick<VerificationResult, 'checks'>): Check[] {
  return result.checks.filter((c) => !c.ok);
}
