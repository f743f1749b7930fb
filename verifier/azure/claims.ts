// Claims of Azure vTPM evidence: the hardware report's claims as for bare SNP / TDX
// (verifier/snp/claims.ts, verifier/tdx/claims.ts), under the Azure tee, with `azure: true`,
// the TPM quote (`tpm.pcrs`, `tpm.nonce`) and the runtime data's VM configuration (`vm`).

import type { AzureVmClaims, Claims, Tee, TpmClaims } from '../result.ts';

export function azureClaims(inner: Claims, tee: Extract<Tee, 'az-snp-vtpm' | 'az-tdx-vtpm'>, tpm: TpmClaims, vm: AzureVmClaims): Claims {
  return { ...inner, tee, azure: true, tpm, vm };
}
