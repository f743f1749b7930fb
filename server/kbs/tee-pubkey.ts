// The `tee-pubkey` of the runtime data: kbs-types TeePubKey, tagged by `kty` (serde), as
// the attestation-agent exports it (guest-components kbs_protocol keypair.rs
// export_pubkey): EC {crv, alg, x, y} with alg ECDH-ES+A256KW on P-256 (the agent's
// default) or P-521, or RSA {alg, n, e} with alg RSA-OAEP-256. Trustee also accepts RSA1_5
// (deprecated, and refused here) and the experimental ML-KEM AKP keys (not supported).
//
// What is returned holds exactly the members kbs-types serialises, so the runtime data we
// hash is the one Trustee hashes (it rebuilds `tee-pubkey` from the typed key, dropping any
// unknown member; backend.rs `__attest`).

import { createPublicKey } from 'node:crypto';
import { attestFailed } from './errors.ts';

export type KbsTeeKey =
  | { kty: 'EC'; crv: 'P-256' | 'P-521'; alg: 'ECDH-ES+A256KW'; x: string; y: string }
  | { kty: 'RSA'; alg: 'RSA-OAEP-256'; n: string; e: string };

const bad = (why: string) => attestFailed('kbs_tee_pubkey_invalid', `runtime-data.tee-pubkey: ${why}`);
const B64URL_RE = /^[A-Za-z0-9_-]+$/;

function b64url(v: unknown, field: string): Buffer {
  // Canonical unpadded base64url only: one key, one spelling (and so one REPORT_DATA).
  const bytes = typeof v === 'string' && B64URL_RE.test(v) ? Buffer.from(v, 'base64url') : undefined;
  if (bytes === undefined || bytes.length === 0 || bytes.toString('base64url') !== v) throw bad(`${field} must be base64url without padding`);
  return bytes;
}

export function readTeePubkey(v: unknown): KbsTeeKey {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('expected a JWK object');
  const k = v as Record<string, unknown>;
  if ('d' in k || 'p' in k) throw bad('it contains a private key; send only the public key');
  if (k.kty === 'EC') {
    if (k.crv !== 'P-256' && k.crv !== 'P-521') throw bad(`curve ${JSON.stringify(k.crv)} is not supported (P-256, P-521)`);
    if (k.alg !== 'ECDH-ES+A256KW') throw bad(`alg ${JSON.stringify(k.alg)} is not supported for EC keys (ECDH-ES+A256KW)`);
    const size = k.crv === 'P-256' ? 32 : 66;
    const x = b64url(k.x, 'x');
    const y = b64url(k.y, 'y');
    if (x.length !== size || y.length !== size) throw bad(`x and y of a ${k.crv} key are ${size} bytes each`);
    const key = { kty: 'EC', crv: k.crv, alg: 'ECDH-ES+A256KW', x: k.x as string, y: k.y as string } as const;
    try {
      // Import validates the point (on the curve, not infinity).
      createPublicKey({ key: { kty: 'EC', crv: key.crv, x: key.x, y: key.y }, format: 'jwk' });
    } catch {
      throw bad(`(x, y) is not a point of ${k.crv}`);
    }
    return key;
  }
  if (k.kty === 'RSA') {
    if (k.alg !== 'RSA-OAEP-256') throw bad(`alg ${JSON.stringify(k.alg)} is not supported for RSA keys (RSA-OAEP-256; RSA1_5 is deprecated and refused)`);
    const n = b64url(k.n, 'n');
    b64url(k.e, 'e');
    if (n[0] === 0 || n.length * 8 < 2048) throw bad('the modulus must be at least 2048 bits, without leading zero bytes');
    const key = { kty: 'RSA', alg: 'RSA-OAEP-256', n: k.n as string, e: k.e as string } as const;
    try {
      createPublicKey({ key: { kty: 'RSA', n: key.n, e: key.e }, format: 'jwk' });
    } catch {
      throw bad('n and e are not an RSA public key');
    }
    return key;
  }
  throw bad(`kty ${JSON.stringify(k.kty)} is not supported (EC, RSA)`);
}
