// The appraisal policy the server seeds at first start as policy `default`.

/**
 * Denies debug guests and any Intel TCB status other than UpToDate; accepts every TEE,
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
name: default
description: Genuine, up-to-date hardware and no debug guests; any measurement.
tees: [sev-snp, tdx, sgx]
snp:
  allowDebug: false
  allowMigrationAgent: false
tdx:
  allowDebug: false
  acceptedTcbStatuses: [UpToDate]
sgx:
  allowDebug: false
  acceptedTcbStatuses: [UpToDate]
`;
