// The AR4SI trustworthiness vector (draft-ietf-rats-ar4si, section 2.3; EAR carries it as
// `ear.trustworthiness-vector`), derived from the rule outcomes of one appraisal.
// Each rule speaks for one trustworthiness claim; a claim's value is the worst tier among
// its rules: 2 (affirming tier), 32 (warning tier: a failed warn rule), 96 (contraindicated
// tier: a failed deny rule). A claim no rule spoke for is 0, "no claim" (section 2.3.1).

import type { RuleOutcome } from './types.ts';
import type { TrustClaim } from './schema.ts';
import { TRUST_CLAIMS } from './schema.ts';

export const AFFIRMING = 2;
export const WARNING = 32;
export const CONTRAINDICATED = 96;
export const NO_CLAIM = 0;

// Which claim each declarative rule speaks for. Measurements and signed identities of
// the launched code: executables. Launch options that change how much the host can see
// or do (debug, migration agent, SMT, VMPL, host data, TD attributes, owner config):
// configuration. The platform's genuineness and patch level: hardware.
const EXECUTABLES = /^(azure\.pcrs\.\d+|snp\.(measurements|familyId|imageId|idKeyDigests|authorKeyDigests|requireAuthorKey|minGuestSvn)|tdx\.(mrtd|rtmr\.\d|mrServiceTd|eventLog\.(required|bootAppDigests))|sgx\.(mrenclave|mrsigner|isvProdId|minIsvSvn))$/;
const CONFIGURATION = /^(azure\.(requireSecureBoot|requireTpmEnabled)|snp\.(allowDebug|allowMigrationAgent|allowSmt|minPolicyAbi|requireSingleSocket|vmpl|hostData)|tdx\.(allowDebug|allowMigratable|requireSeptVeDisable|mrConfigId|mrOwner|mrOwnerConfig|allowTrailingBytes|eventLog\.kernelCmdline)|sgx\.(allowDebug|allowTrailingBytes))$/;
const HARDWARE = /^(tee|snp\.(minTcb|minFirmware|platformInfo\.[A-Za-z]+|products|signers)|tdx\.(acceptedTcbStatuses|warnTcbStatuses|forbiddenAdvisories|minTcbEvaluationDataNumber)|sgx\.(acceptedTcbStatuses|warnTcbStatuses))$/;

/** The claims a declarative rule speaks for. CEL rules carry theirs (see evaluate). */
export function claimsOfRule(id: string): TrustClaim[] {
  // Evidence that failed verification: neither the instance nor the hardware is what it claims.
  if (id === 'evidence.verified') return ['instance-identity', 'hardware'];
  // No verified TPM quote: nothing ties the Azure report to this instance.
  if (id === 'azure.tpmQuote') return ['instance-identity'];
  // Claims that contradict the result, or do not have the Claims shape: nothing is known about the instance.
  if (id === 'evidence.claims' || /^(snp|tdx|sgx)\.claims$/.test(id)) return ['instance-identity'];
  if (EXECUTABLES.test(id)) return ['executables'];
  if (CONFIGURATION.test(id)) return ['configuration'];
  if (HARDWARE.test(id)) return ['hardware'];
  return ['configuration'];
}

function tier(r: RuleOutcome): number {
  if (r.ok) return AFFIRMING;
  return r.effect === 'deny' ? CONTRAINDICATED : WARNING;
}

/** `claimOf` maps a rule to its claims; by default claimsOfRule. */
export function trustworthinessVector(rules: readonly RuleOutcome[], claimOf: (r: RuleOutcome) => readonly TrustClaim[] = (r) => claimsOfRule(r.id)): Record<string, number> {
  const v: Record<string, number> = {};
  for (const c of TRUST_CLAIMS) v[c] = NO_CLAIM;
  // Claims of evidence that did not verify vouch for nothing: a rule that passed on them
  // makes no claim (0) rather than affirming (2); a failure seen on them still counts.
  const unverified = rules.some((r) => r.id === 'evidence.verified' && !r.ok);
  for (const r of rules) {
    if (unverified && r.ok) continue;
    const t = tier(r);
    for (const c of claimOf(r)) v[c] = Math.max(v[c] ?? NO_CLAIM, t);
  }
  return v;
}
