// A resource response made the way Trustee makes it (confidential-containers/trustee
// @78962cd4 kbs/src/jwe/mod.rs `ecdh_es_a256kw_p256`/`_p521`, `rsa_oaep256`): a random
// 32-byte CEK, wrapped with ECDH-ES + Concat KDF + A256KW (or RSA-OAEP-256), the header
// `{alg, enc, epk:{crv, kty, x, y}}` serialised compactly in that order, AES-256-GCM over
// the payload with that header's base64url as AAD, and no `aad` member. Only for tests of the
// client; `headerJson` lets a test emit another byte form of the same header.

import { constants, createCipheriv, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { aesKeyWrap, concatKdf, type KbsResponse } from '../../guest-agent/kbs/jwe.ts';
import type { TeePubKey } from '../../guest-agent/kbs/tee-key.ts';

export interface TrusteeJweOptions {
  /** Replace the header text (same members, another byte form). */
  headerJson?: (header: { alg: string; enc: string; epk?: { crv: string; kty: string; x: string; y: string } }) => string;
  /** Add an `aad` member (the agent ignores it). */
  aad?: string;
}

export function trusteeJwe(pub: TeePubKey, payload: Uint8Array, options: TrusteeJweOptions = {}): KbsResponse {
  const cek = randomBytes(32);
  let header: { alg: string; enc: string; epk?: { crv: string; kty: string; x: string; y: string } };
  let encryptedKey: Buffer;
  if (pub.kty === 'RSA') {
    header = { alg: 'RSA-OAEP-256', enc: 'A256GCM' };
    const key = createPublicKey({ key: { kty: 'RSA', n: pub.n, e: pub.e }, format: 'jwk' });
    encryptedKey = publicEncrypt({ key, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
  } else {
    const peer = createPublicKey({ key: { kty: 'EC', crv: pub.crv, x: pub.x, y: pub.y }, format: 'jwk' });
    const eph = generateKeyPairSync('ec', { namedCurve: pub.crv });
    const z = diffieHellman({ privateKey: eph.privateKey, publicKey: peer });
    encryptedKey = aesKeyWrap(concatKdf(z, 'ECDH-ES+A256KW', 32), cek);
    const e = eph.publicKey.export({ format: 'jwk' });
    header = { alg: 'ECDH-ES+A256KW', enc: 'A256GCM', epk: { crv: pub.crv, kty: 'EC', x: e.x!, y: e.y! } };
  }
  const text = options.headerJson ? options.headerJson(header) : JSON.stringify(header);
  const protectedB64 = Buffer.from(text, 'utf8').toString('base64url');
  const iv = randomBytes(12);
  const c = createCipheriv('aes-256-gcm', cek, iv);
  c.setAAD(Buffer.from(protectedB64, 'ascii'));
  const ciphertext = Buffer.concat([c.update(payload), c.final()]);
  return {
    protected: protectedB64,
    encrypted_key: encryptedKey.toString('base64url'),
    iv: iv.toString('base64url'),
    ciphertext: ciphertext.toString('base64url'),
    tag: c.getAuthTag().toString('base64url'),
    ...(options.aad !== undefined ? { aad: options.aad } : {}),
  };
}
