// The KBS runtime data and the REPORT_DATA that binds it, built the way the CoCo
// attestation-agent builds them (confidential-containers/guest-components @8246e5e0,
// attestation-agent/kbs_protocol/src/client/rcar_client.rs, `get_composite_evidence`):
//
//   runtime data  = { "nonce": <challenge nonce>, "tee-pubkey": <TeePubKey JWK>,
//                     "additional-evidence": <string, "" when there is no extra device> }
//   REPORT_DATA   = hash( RFC 8785 JCS(runtime data) ), zero-padded to 64 bytes
//
// The hash is SHA-384 unless the challenge's extra-params name `selected-hash-algorithm`
// (case-insensitive; rcar_client.rs `get_hash_algorithm`). The padding is the attester's:
// attester/src/snp/mod.rs and tdx/mod.rs `report_data.resize(64, 0)`.
// The agent canonicalises with serde_json_canonicalizer; the `canonicalize` package is the
// same RFC 8785 algorithm.

import canonicalize from 'canonicalize';
import { createHash } from 'node:crypto';
import type { TeePubKey } from './tee-key.ts';

/** kbs-types `HashAlgorithm` names as the agent lists them in `supported-hash-algorithms`. */
export const HASH_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];
export const DEFAULT_HASH_ALGORITHM: HashAlgorithm = 'sha384';
export const HASH_BYTES: Record<HashAlgorithm, number> = { sha256: 32, sha384: 48, sha512: 64 };

export const REPORT_DATA_LENGTH = 64;

export interface RuntimeData {
  nonce: string;
  'tee-pubkey': TeePubKey;
}

/** The object whose JCS is hashed into REPORT_DATA (the "primary runtime data" of rcar_client.rs). */
export function primaryRuntimeData(runtime: RuntimeData, additionalEvidence = ''): Record<string, unknown> {
  return { 'tee-pubkey': runtime['tee-pubkey'], nonce: runtime.nonce, 'additional-evidence': additionalEvidence };
}

/** RFC 8785 canonical JSON text. */
export function jcs(value: unknown): string {
  const text = canonicalize(value);
  if (text === undefined) throw new TypeError('value has no JSON form');
  return text;
}

/**
 * The hash the challenge selects: `extra-params["selected-hash-algorithm"]`, else SHA-384.
 * Like the agent, anything that is not a string, or not one of the names, is an error.
 */
export function selectedHashAlgorithm(extraParams: unknown): HashAlgorithm {
  if (extraParams === null || typeof extraParams !== 'object' || !('selected-hash-algorithm' in extraParams)) return DEFAULT_HASH_ALGORITHM;
  const value = (extraParams as Record<string, unknown>)['selected-hash-algorithm'];
  if (typeof value !== 'string') throw new TypeError(`selected-hash-algorithm must be a string, got ${JSON.stringify(value)}`);
  const name = value.toLowerCase();
  if (!(HASH_ALGORITHMS as readonly string[]).includes(name)) throw new TypeError(`unknown hash algorithm "${value}" (the agent knows ${HASH_ALGORITHMS.join(', ')})`);
  return name as HashAlgorithm;
}

export function digest(algorithm: HashAlgorithm, data: string | Uint8Array): Buffer {
  return createHash(algorithm).update(data).digest();
}

/** REPORT_DATA: the hash of the JCS of the primary runtime data, zero-padded to 64 bytes. */
export function kbsReportData(runtime: RuntimeData, algorithm: HashAlgorithm = DEFAULT_HASH_ALGORITHM, additionalEvidence = ''): Buffer {
  const hash = digest(algorithm, jcs(primaryRuntimeData(runtime, additionalEvidence)));
  const out = Buffer.alloc(REPORT_DATA_LENGTH);
  hash.copy(out);
  return out;
}
