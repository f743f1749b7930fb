// REPORT_DATA of the KBS protocol (version 0.4.0): the hash of the RFC 8785 canonical JSON of
// the runtime data exactly as the agent builds it ({nonce, tee-pubkey, additional-evidence?}),
// zero-padded to 64 bytes (guest-components attestation-agent/kbs_protocol/src/client/
// rcar_client.rs; trustee kbs/src/attestation/backend.rs). SHA-384 unless extra-params
// negotiated another. JCS comes from the `canonicalize` package, not a hand-written one.

import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

export const KBS_HASH_ALGORITHMS = ['sha256', 'sha384', 'sha512'] as const;
export type KbsHashAlgorithm = (typeof KBS_HASH_ALGORITHMS)[number];

export function isKbsHashAlgorithm(value: unknown): value is KbsHashAlgorithm {
  return typeof value === 'string' && (KBS_HASH_ALGORITHMS as readonly string[]).includes(value);
}

/** The 64-byte REPORT_DATA the evidence must carry for `runtimeData` (a JSON value). */
export function kbsReportData(runtimeData: unknown, hash: KbsHashAlgorithm = 'sha384'): Buffer {
  const canonical = canonicalize(runtimeData);
  if (canonical === undefined) throw new TypeError('runtime-data has no JSON form');
  const out = Buffer.alloc(64);
  createHash(hash).update(canonical, 'utf8').digest().copy(out);
  return out;
}
