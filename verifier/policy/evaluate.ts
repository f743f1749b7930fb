// Appraisal: a verification result and a policy in, a decision that explains itself out.
// Every rule that applies yields one RuleOutcome (passed or failed, with the values it
// saw); the EAR status and the AR4SI trustworthiness vector are derived from them alone.
//
// Rules that always apply, whatever the policy says (fail-closed defaults):
//   tee                       the evidence's TEE is one the policy accepts (all by default)
//   evidence.verified         the evidence verified; if not, the result is contraindicated
//   <tee>.allowDebug          debug guests are denied unless the policy allows them
//   snp.allowMigrationAgent   SEV-SNP guests whose policy allows a migration agent are denied unless allowed
//   tdx.allowMigratable       migratable TDs (TDATTRIBUTES bit 29) are denied unless allowed
//   snp.vmpl                  the guest requested the report (VMPL 0..3, or the policy's list / maximum)
//   tdx|sgx.acceptedTcbStatuses  only UpToDate unless the policy lists others
//   azure.tpmQuote            Azure vTPM evidence: the TPM quote is verified (validate-azure.ts)
// Every other declarative field applies when set, and every CEL rule applies.

import type { Claims, VerificationResult } from '../result.ts';
import { TEES, failedChecks } from '../result.ts';
import type { EarStatus, PolicyContext, PolicyDecision, RuleOutcome } from './types.ts';
import type { AppraisalPolicy, TrustClaim } from './schema.ts';
import { compiledPolicy } from './compiled.ts';
import type { CompiledRule } from './compiled.ts';
import { fail, pass } from './outcome.ts';
import { validateSnp } from './validate-snp.ts';
import { validateSgx, validateTdx } from './validate-tdx.ts';
import { validateAzure } from './validate-azure.ts';
import { claimsOfRule, trustworthinessVector } from './vector.ts';

/** EAR status from rule outcomes: a failed deny rule contraindicates, a failed warn rule warns. */
export function statusOf(rules: readonly RuleOutcome[]): EarStatus {
  if (rules.some((r) => !r.ok && r.effect === 'deny')) return 'contraindicated';
  if (rules.some((r) => !r.ok)) return 'warning';
  return 'affirming';
}

function celRuleOutcome(c: CompiledRule, claims: Claims | undefined, ctx: PolicyContext): RuleOutcome {
  const { rule } = c;
  const id = `rules.${rule.name}`;
  const effect = rule.effect ?? 'deny';
  if (c.error !== undefined) return fail(id, `rule '${rule.name}' does not compile (${c.error}); it fails closed`, rule.expr, { error: c.error }, effect);
  if (!claims) return fail(id, `rule '${rule.name}' has no claims to evaluate (the evidence did not parse)`, rule.expr, null, effect);
  const r = c.program({ claims, tcb: claims.tcb, refs: ctx.referenceValues });
  if (!r.ok) return fail(id, `rule '${rule.name}' could not be evaluated: ${r.error}; it fails closed`, rule.expr, { error: r.error }, effect);
  if (r.value) return pass(id, `rule '${rule.name}' holds`, rule.expr, true, effect);
  return fail(id, rule.message ?? `rule '${rule.name}' is false`, rule.expr, false, effect);
}

function declarativeRules(policy: AppraisalPolicy, claims: Claims, ctx: PolicyContext): RuleOutcome[] {
  try {
    if (claims.tee === 'sev-snp') return validateSnp(policy.snp ?? {}, claims, ctx);
    if (claims.tee === 'tdx') return validateTdx(policy.tdx ?? {}, claims, ctx);
    // Azure: the hardware report as for bare evidence, then the vTPM rules.
    if (claims.tee === 'az-snp-vtpm') return [...validateSnp(policy.snp ?? {}, claims, ctx), ...validateAzure(policy.azure ?? {}, claims, ctx)];
    if (claims.tee === 'az-tdx-vtpm') return [...validateTdx(policy.tdx ?? {}, claims, ctx), ...validateAzure(policy.azure ?? {}, claims, ctx)];
    return validateSgx(policy.sgx ?? {}, claims, ctx);
  } catch (e) {
    // Claims that do not have the Claims shape (e.g. a stored result from an older
    // version, replayed): one failed rule instead of a crash.
    const why = e instanceof Error ? e.message : String(e);
    return [fail(`${claims.tee === 'sev-snp' ? 'snp' : claims.tee}.claims`, `the claims are malformed (${why}); the policy fails closed`, 'claims of the documented shape', null)];
  }
}

/**
 * Evaluate `policy` on a verification result. Never throws on account of the claims:
 * a claim a rule needs that is missing or malformed is a failed rule.
 */
export function evaluateAppraisalPolicy(policy: AppraisalPolicy, result: VerificationResult, ctx: PolicyContext): PolicyDecision {
  const compiled = compiledPolicy(policy);
  const rules: RuleOutcome[] = [];
  const celClaims = new Map<RuleOutcome, readonly TrustClaim[]>();

  const tees = policy.tees ?? TEES;
  rules.push(
    tees.includes(result.tee)
      ? pass('tee', `the policy accepts ${result.tee} evidence`, tees, result.tee)
      : fail('tee', `the policy does not accept ${result.tee} evidence`, tees, result.tee),
  );

  const failed = failedChecks(result);
  if (result.verified && failed.length === 0) {
    rules.push(pass('evidence.verified', 'the evidence verified: every check passed', true, true));
  } else {
    const ids = failed.map((c) => c.id);
    const why = ids.length > 0 ? `failed checks: ${ids.join(', ')}` : 'the result is marked unverified';
    rules.push(fail('evidence.verified', `the evidence did not verify (${why})`, true, ids.length > 0 ? ids : false));
  }

  // The claims of unverified evidence are still evaluated, to explain the decision in full;
  // the evidence.verified failure above keeps the result contraindicated whatever they say.
  const claims = result.claims;
  if (!claims) {
    // Without claims the always-on rules (debug, migration agent, TCB status) cannot run:
    // a result marked verified but carrying none (a stored result of another shape,
    // replayed) must not come out affirming on `tee` and `evidence.verified` alone.
    rules.push(fail('evidence.claims', 'the result carries no claims; every claim-based rule fails closed', 'claims', null));
  } else {
    if (claims.tee !== result.tee) {
      rules.push(fail('evidence.claims', `the claims are for ${claims.tee}, the result for ${result.tee}`, result.tee, claims.tee));
    } else {
      rules.push(...declarativeRules(policy, claims, ctx));
    }
  }

  for (const c of compiled.rules) {
    const outcome = celRuleOutcome(c, claims, ctx);
    celClaims.set(outcome, [c.rule.trustClaim ?? 'configuration']);
    rules.push(outcome);
  }

  const status = statusOf(rules);
  return {
    status,
    allowed: status !== 'contraindicated',
    trustworthinessVector: trustworthinessVector(rules, (r) => celClaims.get(r) ?? claimsOfRule(r.id)),
    rules,
  };
}
