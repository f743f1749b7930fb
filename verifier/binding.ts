// The REPORT_DATA binding of DESIGN.md: the hardware report proves both freshness (the
// server's nonce) and possession of the TEE key (its RFC 7638 thumbprint), so a result
// token bound to that key (`cnf`) is useless to anyone without the guest's private key.
//   REPORT_DATA = SHA-512("tessera-attest-v1" || nonce || SHA-256 JWK thumbprint)

import { createHash } from 'node:crypto';
import type { JWK } from 'jose';

export const BINDING_LABEL = 'tessera-attest-v1';

/**
 * The raw 32-byte RFC 7638 SHA-256 thumbprint of an EC public JWK (the TEE key is EC P-256).
 * Computed here rather than with jose's calculateJwkThumbprint because that one goes through
 * WebCrypto's async digest, which costs more than the rest of the binding on the attest hot
 * path; test/binding.test.ts checks that both agree. RFC 7638 section 3.2: the required
 * members of an EC key, lexicographic order, no whitespace.
 */
export function jwkThumbprintBytes(jwk: JWK): Buffer {
  if (jwk.kty !== 'EC' || typeof jwk.crv !== 'string' || typeof jwk.x !== 'string' || typeof jwk.y !== 'string') {
    throw new TypeError('The TEE public key must be an EC JWK with crv, x and y.');
  }
  const canonical = JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return createHash('sha256').update(canonical, 'utf8').digest();
}

/** The 64-byte REPORT_DATA that binds `nonce` (raw bytes) and the TEE public key. */
export async function expectedReportData(nonce: Uint8Array, teePublicKey: JWK): Promise<Buffer> {
  const thumbprint = jwkThumbprintBytes(teePublicKey);
  return createHash('sha512').update(BINDING_LABEL, 'utf8').update(nonce).update(thumbprint).digest();
}
