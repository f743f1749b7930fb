// The appraisal policy the server seeds at first start as policy `default`.

/**
 * Denies debug guests and any Intel TCB status other than UpToDate, and Azure reports
 * without a verified TPM quote or secure boot; accepts every TEE,
 * and ANY measurement. It answers "is this genuine, patched hardware running a
 * non-debug guest?", not "is this my workload?": pin measurements (or a reference-value
 * set) in your own policy before releasing anything that matters.
 */
export const DEFAULT_APPRAISAL_POLICY = `# tessera default appraisal policy (seeded as \`default\`).
#
# Accepts genuine SEV-SNP, TDX and SGX evidence from non-debug guests on platforms
# whose TCB is UpToDate. It accepts ANY measurement: it says nothing about WHICH
# software runs in the guest. Pin measurements (snp.measurements, tdx.mrtd,
# tdx.rtmr, sgx.mrenclave, or a reference-value set) in your own policy.
# Azure confidential VMs (az-snp-vtpm, az-tdx-vtpm) are appraised by the snp or tdx
# block, and only with a verified TPM quote (azure.tpmQuote, always on) from a VM that
# booted with secure boot; pin PCRs with azure.pcrs.
name: default
description: Genuine, up-to-date hardware and no debug guests; any measurement.
tees: [sev-snp, tdx, sgx, az-snp-vtpm, az-tdx-vtpm]
snp:
  allowDebug: false
  allowMigrationAgent: false
tdx:
  allowDebug: false
  acceptedTcbStatuses: [UpToDate]
sgx:
  allowDebug: false
  acceptedTcbStatuses: [UpToDate]
azure:
  requireSecureBoot: true
`;
