// Building blocks of declarative rules: one RuleOutcome per policy field, with what was
// expected and what was found, and the lookups those rules share.

import type { PolicyContext, RuleOutcome } from './types.ts';
import type { AllowedHex } from './schema.ts';

export function pass(id: string, detail: string, expected: unknown, found: unknown, effect: 'deny' | 'warn' = 'deny'): RuleOutcome {
  return { id, ok: true, effect, detail, expected, found };
}

export function fail(id: string, detail: string, expected: unknown, found: unknown, effect: 'deny' | 'warn' = 'deny'): RuleOutcome {
  return { id, ok: false, effect, detail, expected, found };
}

/**
 * A report field from the TEE-specific part of the claims (`claims.snp`, `claims.tdx`,
 * `claims.sgx`: every report field by its camelCase name, as verifier/snp/claims.ts and
 * verifier/tdx/claims.ts write them). Absent is `undefined`, which every rule treats as
 * a failure.
 */
export function reportField(section: Record<string, unknown> | undefined, name: string): unknown {
  return section && Object.hasOwn(section, name) ? section[name] : undefined;
}

/** A hex claim value, lower-cased; undefined when absent or not a string. */
export function hexValue(v: unknown): string | undefined {
  return typeof v === 'string' ? v.toLowerCase() : undefined;
}

/** An integer claim value (a safe integer, or a decimal / 0x-hex string); undefined otherwise. */
export function intValue(v: unknown): number | undefined {
  if (typeof v === 'number' && Number.isSafeInteger(v)) return v;
  if (typeof v === 'string' && /^(0x[0-9a-f]+|[0-9]+)$/i.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

/**
 * Check a hex claim against allowed values (inline, or a named reference-value set).
 * A missing set, an empty set or a missing claim fails: fail closed.
 */
export function allowedHexRule(id: string, what: string, allowed: AllowedHex, found: unknown, ctx: PolicyContext): RuleOutcome {
  const value = hexValue(found);
  let values: string[];
  let expected: unknown;
  if (Array.isArray(allowed)) {
    values = allowed;
    expected = allowed;
  } else {
    // Own properties only: a set named `constructor` must not find Object's.
    const set = Object.hasOwn(ctx.referenceValues, allowed.referenceValues) ? ctx.referenceValues[allowed.referenceValues] : undefined;
    expected = { referenceValues: allowed.referenceValues };
    if (!Array.isArray(set)) return fail(id, `${what}: reference-value set '${allowed.referenceValues}' does not exist`, expected, value ?? null);
    if (set.length === 0) return fail(id, `${what}: reference-value set '${allowed.referenceValues}' is empty`, expected, value ?? null);
    values = set;
  }
  if (value === undefined) return fail(id, `${what} is not in the claims`, expected, null);
  const from = Array.isArray(allowed) ? 'the allowed values' : `reference-value set '${allowed.referenceValues}'`;
  return values.some((v) => typeof v === 'string' && v.toLowerCase() === value)
    ? pass(id, `${what} is in ${from}`, expected, value)
    : fail(id, `${what} ${value} is not in ${from}`, expected, value);
}

/** `found >= min`; a missing claim fails. */
export function minimumRule(id: string, what: string, min: number, found: unknown): RuleOutcome {
  const n = intValue(found);
  if (n === undefined) return fail(id, `${what} is not in the claims`, { min }, found ?? null);
  return n >= min ? pass(id, `${what} ${n} is at least ${min}`, { min }, n) : fail(id, `${what} ${n} is below the minimum ${min}`, { min }, n);
}

/** A boolean property of the guest that the policy forbids unless allowed. */
export function forbiddenUnlessAllowed(id: string, what: string, allowed: boolean, found: boolean | undefined): RuleOutcome {
  if (found === undefined) return fail(id, `${what}: not in the claims`, allowed ? 'any' : false, null);
  if (allowed) return pass(id, `${what} is allowed by the policy (found ${found})`, 'any', found);
  return found ? fail(id, `${what} is set, and the policy does not allow it`, false, true) : pass(id, `${what} is not set`, false, false);
}

/** Intel TCB status rules shared by TDX and SGX: accepted (deny) and warn statuses. */
export function tcbStatusRules(prefix: string, status: unknown, accepted: readonly string[], warn: readonly string[] | undefined): RuleOutcome[] {
  const out: RuleOutcome[] = [];
  const s = typeof status === 'string' ? status : undefined;
  const acceptable = [...accepted, ...(warn ?? []).filter((w) => !accepted.includes(w))];
  const id = `${prefix}.acceptedTcbStatuses`;
  if (s === undefined) out.push(fail(id, 'the TCB status is not in the claims', acceptable, null));
  else if (acceptable.includes(s)) out.push(pass(id, `TCB status ${s} is accepted`, acceptable, s));
  else out.push(fail(id, `TCB status ${s} is not accepted`, acceptable, s));
  if (warn) {
    const wid = `${prefix}.warnTcbStatuses`;
    if (s !== undefined && warn.includes(s)) out.push(fail(wid, `TCB status ${s} is accepted with a warning`, `not one of ${warn.join(', ')}`, s, 'warn'));
    else out.push(pass(wid, `TCB status ${s ?? '(absent)'} needs no warning`, `not one of ${warn.join(', ')}`, s ?? null, 'warn'));
  }
  return out;
}
