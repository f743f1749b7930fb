// POST /kbs/v0/auth: the Request {version, tee, extra-params} opens a session and answers
// the Challenge {nonce, extra-params} (kbs-types Request / Challenge; trustee
// kbs/src/attestation/backend.rs `__auth`).
//
// Version: Trustee accepts exactly 0.4.0 (semver requirement "=0.4.0") and refuses anything
// else with "KBS Client Protocol Version Mismatch: expect =0.4.0 while the request is <v>";
// we answer the same sentence, with the same type.
//
// Hash negotiation: the agent lists `supported-hash-algorithms` in extra-params and reads
// `selected-hash-algorithm` back, defaulting to SHA-384 when the answer has none
// (rcar_client.rs get_hash_algorithm). Trustee's built-in attestation service selects only
// for IBM SE and otherwise answers extra-params "" and hashes with SHA-384 (trustee
// kbs/src/attestation/mod.rs generate_extra_params, coco/builtin.rs verify). We do the same,
// except that a client whose list leaves SHA-384 out is given SHA-512 or SHA-256 if it
// offers one, named in `selected-hash-algorithm`, instead of a digest it cannot compute.

import type { KbsHashAlgorithm } from './report-data.ts';
import { authFailed } from './errors.ts';
import { isKbsTee, type KbsTee } from './tees.ts';

export const KBS_PROTOCOL_VERSION = '0.4.0';
const SUPPORTED_HASH_ALGORITHMS = 'supported-hash-algorithms';
const SELECTED_HASH_ALGORITHM = 'selected-hash-algorithm';

export interface AuthRequest {
  tee: KbsTee;
  hash: KbsHashAlgorithm;
  /** The Challenge's extra-params: "" unless a hash other than SHA-384 was selected. */
  extraParams: string | Record<string, string>;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function negotiate(extra: unknown): Pick<AuthRequest, 'hash' | 'extraParams'> {
  if (!isRecord(extra) || !(SUPPORTED_HASH_ALGORITHMS in extra)) return { hash: 'sha384', extraParams: '' };
  const list = extra[SUPPORTED_HASH_ALGORITHMS];
  if (!Array.isArray(list)) throw authFailed('kbs_extra_params_invalid', `extra-params.${SUPPORTED_HASH_ALGORITHMS} must be an array of hash algorithm names`);
  const offered = new Set(list.filter((v): v is string => typeof v === 'string').map((v) => v.toLowerCase()));
  if (offered.has('sha384')) return { hash: 'sha384', extraParams: '' };
  for (const hash of ['sha512', 'sha256'] as const) {
    if (offered.has(hash)) return { hash, extraParams: { [SELECTED_HASH_ALGORITHM]: hash } };
  }
  throw authFailed('kbs_hash_unsupported', `none of the offered hash algorithms (${[...offered].join(', ') || 'none'}) is one this server computes (sha384, sha512, sha256)`);
}

/** Read a Request body (already JSON-parsed). Throws KbsError with Trustee's wording. */
export function readAuthRequest(body: unknown): AuthRequest {
  if (!isRecord(body)) throw authFailed('kbs_request_invalid', 'deserialize Request: expected a JSON object {version, tee, extra-params}');
  const { version, tee } = body;
  if (typeof version !== 'string') throw authFailed('kbs_request_invalid', 'deserialize Request: missing field `version`');
  if (version !== KBS_PROTOCOL_VERSION) {
    throw authFailed('kbs_version_mismatch', `KBS Client Protocol Version Mismatch: expect =${KBS_PROTOCOL_VERSION} while the request is ${version.slice(0, 64)}`);
  }
  if (!isKbsTee(tee)) {
    throw authFailed('kbs_tee_unsupported', `tee ${JSON.stringify(typeof tee === 'string' ? tee.slice(0, 32) : tee ?? null)} is not one this server verifies (snp, tdx, az-snp-vtpm, az-tdx-vtpm)`);
  }
  return { tee, ...negotiate(body['extra-params']) };
}
