// Release policies on secrets (issue 6): which attestation results may have a secret.
// Three gates, in order, each fail-closed, reported as one RuleOutcome:
//   1. the result's EAR status is accepted (default: affirming only);
//   2. the appraisal policy that produced it is accepted (when the release policy names any);
//   3. the CEL expression holds. Variables: claims, tcb (= claims.tcb), status, policyId,
//      refs (reference-value sets), e.g. `claims.tee == "sev-snp" && claims.measurement in refs.web_prod`.

import type { Claims } from '../result.ts';
import { compile, compileErrorMessage, makeEnv } from './cel.ts';
import type { CelProgram } from './cel.ts';
import { PolicyValidationError } from './types.ts';
import type { EarStatus, PolicyContext, RuleOutcome } from './types.ts';
import { fail, pass } from './outcome.ts';

export const RELEASE_VARIABLES = ['claims', 'tcb', 'status', 'policyId', 'refs'] as const;
const releaseEnv = makeEnv(RELEASE_VARIABLES);

const EAR_STATUSES: readonly EarStatus[] = ['affirming', 'warning', 'contraindicated'];

export interface ReleasePolicyOptions {
  /** EAR statuses whose results may have the secret. Default: ['affirming']. */
  acceptedStatuses?: readonly EarStatus[];
  /**
   * Appraisal policy names whose results are accepted. Default: any. A result's policyId
   * matches a name when it equals it or starts with it followed by `@` or `:` (a version).
   */
  appraisalPolicies?: readonly string[];
}

export interface ReleasePolicy {
  readonly expr: string;
  readonly acceptedStatuses: readonly EarStatus[];
  readonly appraisalPolicies?: readonly string[];
  readonly program: CelProgram;
}

const programs = new Map<string, CelProgram>();
const MAX_PROGRAMS = 1024;

/** Compile a release policy once (cached by expression). Throws PolicyValidationError with the CEL error. */
export function compileReleasePolicy(expr: string, options: ReleasePolicyOptions = {}): ReleasePolicy {
  const issues = [];
  if (typeof expr !== 'string' || expr.trim() === '') issues.push({ path: 'expr', message: 'expected a CEL expression' });
  else if (expr.length > 4096) issues.push({ path: 'expr', message: 'a CEL expression is at most 4096 characters' });
  const acceptedStatuses = options.acceptedStatuses ?? ['affirming'];
  if (acceptedStatuses.length === 0 || acceptedStatuses.some((s) => !EAR_STATUSES.includes(s))) {
    issues.push({ path: 'acceptedStatuses', message: `expected one or more of ${EAR_STATUSES.join(', ')}` });
  }
  if (options.appraisalPolicies && (options.appraisalPolicies.length === 0 || options.appraisalPolicies.some((p) => typeof p !== 'string' || p === ''))) {
    issues.push({ path: 'appraisalPolicies', message: 'expected one or more policy names' });
  }
  if (issues.length > 0) throw new PolicyValidationError(issues);
  let program = programs.get(expr);
  if (!program) {
    try {
      program = compile(releaseEnv, expr);
    } catch (e) {
      throw new PolicyValidationError([{ path: 'expr', message: `does not compile: ${compileErrorMessage(e)}` }]);
    }
    if (programs.size >= MAX_PROGRAMS) {
      const oldest = programs.keys().next();
      if (!oldest.done) programs.delete(oldest.value);
    }
    programs.set(expr, program);
  }
  return { expr, acceptedStatuses, ...(options.appraisalPolicies ? { appraisalPolicies: options.appraisalPolicies } : {}), program };
}

function policyMatches(policyId: string, name: string): boolean {
  return policyId === name || policyId.startsWith(`${name}@`) || policyId.startsWith(`${name}:`);
}

/** Decide one release. Never throws: an expression that errors is a failed outcome. */
export function evaluateReleasePolicy(
  policy: ReleasePolicy,
  input: { claims: Claims; status: EarStatus; policyId?: string },
  ctx: PolicyContext,
): RuleOutcome {
  if (!policy.acceptedStatuses.includes(input.status)) {
    return fail('release.status', `the attestation result is ${input.status}; the release policy accepts ${policy.acceptedStatuses.join(' or ')}`, policy.acceptedStatuses, input.status);
  }
  if (policy.appraisalPolicies) {
    const id = input.policyId;
    if (id === undefined || !policy.appraisalPolicies.some((n) => policyMatches(id, n))) {
      return fail('release.appraisalPolicy', `the result was appraised under ${id ?? 'an unnamed policy'}, which the release policy does not accept`, policy.appraisalPolicies, id ?? null);
    }
  }
  const r = policy.program({ claims: input.claims, tcb: input.claims.tcb, status: input.status, policyId: input.policyId ?? '', refs: ctx.referenceValues });
  if (!r.ok) return fail('release.expr', `the release policy could not be evaluated: ${r.error}; it fails closed`, policy.expr, { error: r.error });
  return r.value ? pass('release.expr', 'the release policy holds', policy.expr, true) : fail('release.expr', 'the release policy is false for these claims', policy.expr, false);
}
