// Appraisal policy documents in, validated policies out. JSON or YAML text (or an
// already-parsed value, e.g. a JSON request body). Everything wrong with a document is
// reported at once, each problem at its field path; CEL rules are compiled here, so a
// policy whose rules do not compile is never stored.

import YAML from 'yaml';
import type { z } from 'zod';
import { PolicyValidationError } from './types.ts';
import type { PolicyIssue } from './types.ts';
import { appraisalPolicySchema } from './schema.ts';
import type { AppraisalPolicy } from './schema.ts';
import { compiledPolicy } from './compiled.ts';

/** Largest policy document accepted, in characters: policies are small; this bounds parsing work. */
export const MAX_POLICY_SOURCE_LENGTH = 256 * 1024;

/** `snp.minTcb.bootloader`, `rules[2].expr`. */
export function issuePath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else out += out ? `.${String(p)}` : String(p);
  }
  return out;
}

/** zod issues as PolicyIssues; an unknown key points at the key itself. */
export function zodIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): PolicyIssue[] {
  const out: PolicyIssue[] = [];
  for (const i of issues) {
    const path = [...prefix, ...i.path];
    if (i.code === 'unrecognized_keys') {
      for (const k of i.keys) out.push({ path: issuePath([...path, k]), message: 'unknown field' });
    } else if (i.code === 'invalid_union') {
      out.push(...unionIssues(i, path));
    } else {
      out.push({ path: issuePath(path), message: i.message });
    }
  }
  return out;
}

/**
 * A value that matches no branch of a union (a list of values or `{ referenceValues }`;
 * VMPLs or `{ max }`; TCB minimums or per-product ones). Explain it with the branch the
 * value was meant for: branches whose shape does not fit at all (a type error at the
 * root) are dropped, then the branch with the fewest unknown keys at its root, then the
 * fewest problems. When no branch fits, say what the field takes (the union's message).
 */
function unionIssues(i: z.core.$ZodIssueInvalidUnion, path: readonly PropertyKey[]): PolicyIssue[] {
  const rootUnknown = (b: readonly z.core.$ZodIssue[]) => b.filter((e) => e.code === 'unrecognized_keys' && e.path.length === 0).length;
  const candidates = i.errors
    .filter((b) => !b.some((e) => e.code === 'invalid_type' && e.path.length === 0))
    .sort((a, b) => rootUnknown(a) - rootUnknown(b) || a.length - b.length);
  const best = candidates[0];
  return best ? zodIssues(best, path) : [{ path: issuePath(path), message: i.message }];
}

function parseText(source: string, format: 'json' | 'yaml' | undefined): unknown {
  if (source.length > MAX_POLICY_SOURCE_LENGTH) {
    throw new PolicyValidationError([{ path: '', message: `the document is larger than ${MAX_POLICY_SOURCE_LENGTH} characters` }]);
  }
  // The yaml package parses both: JSON is YAML 1.2 (with the `json` schema, only JSON
  // scalars). Unlike JSON.parse, it rejects duplicate keys, which would otherwise let a
  // reviewer read one value while the later one silently wins.
  const doc = YAML.parseDocument(source, { schema: format === 'json' ? 'json' : 'core', uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new PolicyValidationError(doc.errors.map((e) => ({ path: '', message: `${format === 'json' ? 'JSON' : 'YAML'} syntax: ${(e.message.split('\n')[0] ?? '').replace(/:$/, '')}` })));
  }
  try {
    return doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    throw new PolicyValidationError([{ path: '', message: e instanceof Error ? e.message : String(e) }]);
  }
}

/**
 * Validate an appraisal policy document. `source` is JSON or YAML text (format guessed
 * when not given: YAML, of which JSON is a subset) or an already-parsed value. Throws
 * PolicyValidationError listing every problem with its field path, including CEL rules
 * that do not compile (`rules[2].expr: ...`).
 */
export function parseAppraisalPolicy(source: string | unknown, format?: 'json' | 'yaml'): AppraisalPolicy {
  const value = typeof source === 'string' ? parseText(source, format) : source;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new PolicyValidationError([{ path: '', message: 'a policy is a mapping (object) of fields' }]);
  }
  const parsed = appraisalPolicySchema.safeParse(value);
  if (!parsed.success) throw new PolicyValidationError(zodIssues(parsed.error.issues));
  const policy = parsed.data;
  const celIssues: PolicyIssue[] = [];
  for (const r of compiledPolicy(policy).rules) {
    if (r.error !== undefined) celIssues.push({ path: `rules[${r.index}].expr`, message: `rule '${r.rule.name}' does not compile: ${r.error}` });
  }
  if (celIssues.length > 0) throw new PolicyValidationError(celIssues);
  // Frozen: the compiled rules are cached by this object's identity, and a version is
  // immutable; a caller that edits it must parse a new document instead.
  return deepFreeze(policy);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
