// The policy engine's public API: parse and hash appraisal policies, evaluate them on
// verification results, and compile and evaluate release policies.

export type { EarStatus, RuleOutcome, PolicyDecision, PolicyContext, PolicyIssue } from './types.ts';
export { PolicyValidationError } from './types.ts';
export type { AppraisalPolicy, PolicyRule, TrustClaim } from './schema.ts';
export { appraisalPolicySchema, TRUST_CLAIMS } from './schema.ts';
export { INTEL_TCB_STATUSES } from '../result.ts';
export { parseAppraisalPolicy, MAX_POLICY_SOURCE_LENGTH } from './parse.ts';
export { canonicalJson, canonicalPolicyJson, policyHash } from './canonical.ts';
export { evaluateAppraisalPolicy, statusOf } from './evaluate.ts';
export { DEFAULT_APPRAISAL_POLICY } from './default-policy.ts';
export type { ReleasePolicy, ReleasePolicyOptions } from './release.ts';
export { compileReleasePolicy, evaluateReleasePolicy } from './release.ts';
