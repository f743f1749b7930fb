// A canonical JSON form of a validated policy, and its SHA-256: the hash that names a
// policy version in results and audit entries. Object keys are sorted (by UTF-16 code
// units, as RFC 8785 JCS section 3.2.3 does), arrays keep their order, no whitespace, and
// strings and numbers are serialised by ECMAScript JSON.stringify (which is what JCS
// specifies for them). The same policy written in YAML or JSON, with keys in any order,
// hashes the same; hex values were already lower-cased by the schema.

import { createHash } from 'node:crypto';
import type { AppraisalPolicy } from './schema.ts';

/**
 * The canonical JSON text of `value`. It is on the hot path of every attestation (the claims
 * digest and each audit entry), so it is one recursive writer, with no filter/map/join chains.
 */
export function canonicalJson(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return quote(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('canonical JSON has no representation for a non-finite number');
      // What JSON.stringify writes for a finite number (ECMA-262 SerializeJSONProperty: ToString).
      return String(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        // An undefined element (or a hole) is written as null, as JSON.stringify does.
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          const v: unknown = value[i];
          out += (i === 0 ? '' : ',') + (v === undefined ? 'null' : canonicalJson(v));
        }
        return `${out}]`;
      }
      // The default sort compares strings by UTF-16 code units, as JCS section 3.2.3 asks.
      // Members whose value is undefined are left out, as JSON.stringify does.
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let out = '{';
      let sep = '';
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined) continue;
        out += `${sep}${quote(k)}:${canonicalJson(v)}`;
        sep = ',';
      }
      return `${out}}`;
    }
    default:
      throw new TypeError(`canonical JSON has no representation for a ${typeof value}`);
  }
}

// Printable ASCII (0x20-0x7E) except '"' (0x22) and backslash (0x5C). Without the u flag the
// class is over UTF-16 code units, so any non-ASCII string (surrogates included) fails it.
const PLAIN = /^[\x20\x21\x23-\x5b\x5d-\x7e]*$/;

/**
 * JSON.stringify(s), skipping its cost for the common all-plain string. Identical output:
 * ECMA-262 QuoteJSONString escapes only the code points in its table (0x08, 0x09, 0x0A, 0x0C,
 * 0x0D, 0x22, 0x5C), other code points below 0x20 and lone surrogates, and copies every other
 * code point unchanged between two '"'; a PLAIN string has none of those.
 */
function quote(s: string): string {
  return PLAIN.test(s) ? `"${s}"` : JSON.stringify(s);
}

export function canonicalPolicyJson(policy: AppraisalPolicy): string {
  return canonicalJson(policy);
}

/** SHA-256 (lower-case hex) of canonicalPolicyJson(policy). */
export function policyHash(policy: AppraisalPolicy): string {
  return createHash('sha256').update(canonicalPolicyJson(policy), 'utf8').digest('hex');
}
