// Declarative rules of the `azure` policy block, on the claims of az-snp-vtpm / az-tdx-vtpm
// evidence (verifier/azure/claims.ts). `azure.tpmQuote` always applies: an Azure hardware
// report proves nothing fresh about the guest on its own (its REPORT_DATA is the paravisor's
// runtime-data digest, not a nonce), so without a verified TPM quote it is never accepted.

import type { Claims } from '../result.ts';
import { allowedHexRule, fail, pass } from './outcome.ts';
import type { AllowedHex, AzurePolicy } from './schema.ts';
import type { PolicyContext, RuleOutcome } from './types.ts';

export function validateAzure(policy: AzurePolicy, claims: Claims, ctx: PolicyContext): RuleOutcome[] {
  const out: RuleOutcome[] = [];
  const tpm = claims.tpm;
  const verified = claims.azure === true && tpm?.quoteVerified === true;
  out.push(
    verified
      ? pass('azure.tpmQuote', 'the TPM quote is signed by the HCL attestation key and its PCR digest matches', true, true)
      : fail('azure.tpmQuote', 'the Azure report comes without a verified TPM quote', true, tpm?.quoteVerified ?? null),
  );
  const vm = claims.vm ?? {};
  if (policy.requireSecureBoot === true) {
    out.push(vm.secureBoot === true ? pass('azure.requireSecureBoot', 'the VM booted with secure boot', true, true) : fail('azure.requireSecureBoot', 'the VM configuration does not say secure boot is on', true, vm.secureBoot ?? null));
  }
  if (policy.requireTpmEnabled === true) {
    out.push(vm.tpmEnabled === true ? pass('azure.requireTpmEnabled', 'the VM has its vTPM enabled', true, true) : fail('azure.requireTpmEnabled', 'the VM configuration does not say the vTPM is enabled', true, vm.tpmEnabled ?? null));
  }
  for (const [index, allowed] of Object.entries(policy.pcrs ?? {})) {
    if (!allowed) continue;
    const found = tpm && Object.hasOwn(tpm.pcrs, index) ? tpm.pcrs[index] : undefined;
    out.push(allowedHexRule(`azure.pcrs.${index}`, `PCR ${index}`, allowed as AllowedHex, found, ctx));
  }
  return out;
}
