// The REPORT_DATA binding of DESIGN.md: the hardware report proves both freshness (the
// server's nonce) and possession of the TEE key (its RFC 7638 thumbprint), so a result
// token bound to that key (`cnf`) is useless to anyone without the guest's private key.
//   REPORT_DATA = SHA-512("tessera-attest-v1" || nonce || SHA-256 JWK thumbprint)

import { createHash } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';

export const BINDING_LABEL = 'tessera-attest-v1';

/** The raw 32-byte RFC 7638 SHA-256 thumbprint of a public JWK. */
export async function jwkThumbprintBytes(jwk: JWK): Promise<Buffer> {
  return Buffer.from(await calculateJwkThumbprint(jwk, 'sha256'), 'base64url');
}

/** The 64-byte REPORT_DATA that binds `nonce` (raw bytes) and the TEE public key. */
export async function expectedReportData(nonce: Uint8Array, teePublicKey: JWK): Promise<Buffer> {
  const thumbprint = await jwkThumbprintBytes(teePublicKey);
  return createHash('sha512').update(BINDING_LABEL, 'utf8').update(nonce).update(thumbprint).digest();
}
