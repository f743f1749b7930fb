// The resource answer of the KBS protocol: a flattened JWE JSON (kbs-types `Response`:
// protected, encrypted_key, iv, ciphertext, tag; no aad) to the session's tee-pubkey, as
// trustee's kbs/src/jwe/mod.rs builds it:
//   EC P-256 / P-521  alg ECDH-ES+A256KW, `epk` in the protected header (RFC 7518 4.6);
//   RSA               alg RSA-OAEP-256 (RFC 7518 4.3);
//   enc A256GCM over the value, AAD = the base64url protected header (RFC 7516 5.1 step 14).
// The agent does not take the protected header as sent: it parses it and serialises it
// again (kbs-types ProtectedHeader::generate_aad) to get the AAD, so the header must already
// be in that form (server/kbs/jwe-header.ts) or every decryption fails. jose's own JWE
// output orders `epk` differently, so only node:crypto primitives are used here.

import { constants, createCipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, publicEncrypt, randomBytes } from 'node:crypto';
import { serialiseProtectedHeader } from './jwe-header.ts';
import type { KbsTeeKey } from './tee-pubkey.ts';

export const KBS_JWE_ENC = 'A256GCM';
const ECDH_ES_A256KW = 'ECDH-ES+A256KW';
const RSA_OAEP_256 = 'RSA-OAEP-256';
/** RFC 3394 section 2.2.3.1 default initial value. */
const KW_IV = Buffer.from('A6A6A6A6A6A6A6A6', 'hex');

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/**
 * The Concat KDF of NIST SP 800-56A 5.8.1 with SHA-256 as RFC 7518 4.6.2 instantiates it for
 * a 256-bit key (one round): SHA-256(00000001 || Z || len(alg) || alg || len(apu)=0 ||
 * len(apv)=0 || 256). apu and apv are empty, as trustee and the agent use them.
 */
function concatKdf(z: Buffer, alg: string): Buffer {
  const algId = Buffer.from(alg, 'ascii');
  return createHash('sha256').update(u32(1)).update(z).update(u32(algId.length)).update(algId).update(u32(0)).update(u32(0)).update(u32(256)).digest();
}

export interface KbsJwe {
  protected: string;
  encrypted_key: string;
  iv: string;
  ciphertext: string;
  tag: string;
}

/** Encrypt `value` to `key`; returns the flattened JWE in trustee's member order. */
export function encryptToKbsKey(value: Uint8Array, key: KbsTeeKey): KbsJwe {
  const cek = randomBytes(32);
  let header: string;
  let encryptedKey: Buffer;
  try {
    if (key.kty === 'RSA') {
      header = serialiseProtectedHeader(RSA_OAEP_256, KBS_JWE_ENC, {});
      const rsa = createPublicKey({ key: { kty: 'RSA', n: key.n, e: key.e }, format: 'jwk' });
      encryptedKey = publicEncrypt({ key: rsa, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, cek);
    } else {
      const recipient = createPublicKey({ key: { kty: 'EC', crv: key.crv, x: key.x, y: key.y }, format: 'jwk' });
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: key.crv });
      const epk = publicKey.export({ format: 'jwk' });
      header = serialiseProtectedHeader(ECDH_ES_A256KW, KBS_JWE_ENC, { epk: { crv: key.crv, kty: 'EC', x: epk.x!, y: epk.y! } });
      const z = diffieHellman({ privateKey, publicKey: recipient });
      const kek = concatKdf(z, ECDH_ES_A256KW);
      try {
        const wrap = createCipheriv('id-aes256-wrap', kek, KW_IV);
        encryptedKey = Buffer.concat([wrap.update(cek), wrap.final()]);
      } finally {
        z.fill(0);
        kek.fill(0);
      }
    }
    const protectedB64 = Buffer.from(header, 'utf8').toString('base64url');
    const iv = randomBytes(12);
    const gcm = createCipheriv('aes-256-gcm', cek, iv, { authTagLength: 16 });
    gcm.setAAD(Buffer.from(protectedB64, 'ascii'));
    const ciphertext = Buffer.concat([gcm.update(value), gcm.final()]);
    return {
      protected: protectedB64,
      encrypted_key: encryptedKey.toString('base64url'),
      iv: iv.toString('base64url'),
      ciphertext: ciphertext.toString('base64url'),
      tag: gcm.getAuthTag().toString('base64url'),
    };
  } finally {
    cek.fill(0);
  }
}
