// A canonical JSON form of a validated policy, and its SHA-256: the hash that names a
// policy version in results and audit entries. Object keys are sorted (by UTF-16 code
// units, as RFC 8785 JCS section 3.2.3 does), arrays keep their order, no whitespace, and
// strings and numbers are serialised by ECMAScript JSON.stringify (which is what JCS
// specifies for them). The same policy written in YAML or JSON, with keys in any order,
// hashes the same; hex values were already lower-cased by the schema.

import { createHash } from 'node:crypto';
import type { AppraisalPolicy } from './schema.ts';

export function canonicalJson(value: unknown): string {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for a non-finite number');
    return JSON.stringify(value);
  }
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v === undefined ? null : v)).join(',')}]`;
  if (typeof value === 'object') {
    const obj = value as Record<string, unknown>;
    const keys = Object.keys(obj)
      .filter((k) => obj[k] !== undefined)
      .sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(obj[k])}`).join(',')}}`;
  }
  throw new TypeError(`canonical JSON has no representation for a ${typeof value}`);
}

export function canonicalPolicyJson(policy: AppraisalPolicy): string {
  return canonicalJson(policy);
}

/** SHA-256 (lower-case hex) of canonicalPolicyJson(policy). */
export function policyHash(policy: AppraisalPolicy): string {
  return createHash('sha256').update(canonicalPolicyJson(policy), 'utf8').digest('hex');
}
