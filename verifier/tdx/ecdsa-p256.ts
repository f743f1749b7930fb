// ECDSA P-256 with SHA-256 over raw r||s signatures and raw x||y keys: how every signature
// inside a DCAP quote and every Intel collateral signature is encoded (Intel SGX ECDSA
// Quote Library API, "ECDSA 256-bit Quote Signature Data Structure"). node:crypto,
// synchronous, with imported keys cached: this is the hot path.

import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { BoundedCache } from '../x509/bounded-cache.ts';

// SubjectPublicKeyInfo DER prefix for an uncompressed P-256 point (RFC 5480):
// SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING 0x00 0x04 ... }.
const P256_SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a8648ce3d03010703420004', 'hex');

const keys = new BoundedCache<string, KeyObject | null>(4096);

/** The KeyObject of a raw 64-byte P-256 public key, or null when it is not a point on the curve. */
export function p256KeyFromRaw(raw: Buffer): KeyObject | null {
  if (raw.length !== 64) return null;
  const id = raw.toString('latin1');
  const hit = keys.get(id);
  if (hit !== undefined) return hit;
  let key: KeyObject | null;
  try {
    key = createPublicKey({ key: Buffer.concat([P256_SPKI_PREFIX, raw]), format: 'der', type: 'spki' });
  } catch {
    key = null;
  }
  keys.set(id, key);
  return key;
}

/** True when the 64-byte r||s `signature` over `data` verifies under `key`. Never throws. */
export function verifyP256(data: Uint8Array, signature: Uint8Array, key: KeyObject): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify('sha256', data, { key, dsaEncoding: 'ieee-p1363' }, signature);
  } catch {
    return false;
  }
}
