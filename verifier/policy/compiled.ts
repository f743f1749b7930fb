// The CEL rules of appraisal policies, compiled once. Evaluation runs on every
// attestation, so programs are cached: by object identity first (the server keeps the
// parsed active policy), then by policy hash (the same policy parsed again, e.g. on
// another request), in a bounded map.

import { compile, compileErrorMessage, makeEnv } from './cel.ts';
import type { CelProgram } from './cel.ts';
import { policyHash } from './canonical.ts';
import type { AppraisalPolicy, PolicyRule } from './schema.ts';

/** Variables of appraisal rules: the claims, their `tcb` part as a shorthand, and reference-value sets. */
export const APPRAISAL_VARIABLES = ['claims', 'tcb', 'refs'] as const;
const appraisalEnv = makeEnv(APPRAISAL_VARIABLES);

export type CompiledRule = { rule: PolicyRule; index: number } & ({ program: CelProgram; error?: undefined } | { program?: undefined; error: string });

export interface CompiledPolicy {
  hash: string;
  rules: CompiledRule[];
}

const byObject = new WeakMap<AppraisalPolicy, CompiledPolicy>();
const byHash = new Map<string, CompiledPolicy>();
const MAX_BY_HASH = 512;

function compileRules(policy: AppraisalPolicy): CompiledRule[] {
  return (policy.rules ?? []).map((rule, index) => {
    try {
      return { rule, index, program: compile(appraisalEnv, rule.expr) };
    } catch (e) {
      return { rule, index, error: compileErrorMessage(e) };
    }
  });
}

export function compiledPolicy(policy: AppraisalPolicy): CompiledPolicy {
  const cached = byObject.get(policy);
  if (cached) return cached;
  const hash = policyHash(policy);
  let compiled = byHash.get(hash);
  if (!compiled) {
    compiled = { hash, rules: compileRules(policy) };
    if (byHash.size >= MAX_BY_HASH) {
      // Drop the oldest entry (Map iterates in insertion order).
      const oldest = byHash.keys().next();
      if (!oldest.done) byHash.delete(oldest.value);
    }
    byHash.set(hash, compiled);
  }
  byObject.set(policy, compiled);
  return compiled;
}
