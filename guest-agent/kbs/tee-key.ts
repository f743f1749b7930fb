// The TEE key of the KBS protocol, as the CoCo attestation-agent makes and uses it
// (guest-components @8246e5e0 attestation-agent/kbs_protocol/src/keypair.rs):
// EC P-256 by default (`TeeKeyAlgorithm::EcdhEsA256KwP256`), P-521 or RSA-2048 on request
// (deps/crypto RSA_PUBKEY_LENGTH = 2048); exported as kbs-types `TeePubKey`
// (`{kty:"EC", crv, alg:"ECDH-ES+A256KW", x, y}` or `{kty:"RSA", alg:"RSA-OAEP-256", n, e}`,
// base64url without padding), and used to open the resource JWE (`decrypt_response`).

import { constants, createPublicKey, diffieHellman, generateKeyPairSync, privateDecrypt, type KeyObject } from 'node:crypto';
import { agentAad, aesKeyUnwrap, concatKdf, decodeProtectedHeader, decryptContent, fromBase64url, JweError, parseKbsResponse, type ProtectedHeader } from './jwe.ts';

export const TEE_KEY_ALGORITHMS = ['ECDH-ES+A256KW-P256', 'ECDH-ES+A256KW-P521', 'RSA-OAEP-256'] as const;
export type TeeKeyAlgorithm = (typeof TEE_KEY_ALGORITHMS)[number];

export type TeePubKey =
  | { kty: 'EC'; crv: 'P-256' | 'P-521'; alg: 'ECDH-ES+A256KW'; x: string; y: string }
  | { kty: 'RSA'; alg: 'RSA-OAEP-256'; n: string; e: string };

const ECDH_ES_A256KW = 'ECDH-ES+A256KW';

export class TeeKeyPair {
  readonly algorithm: TeeKeyAlgorithm;
  readonly privateKey: KeyObject;
  private readonly pub: TeePubKey;

  private constructor(algorithm: TeeKeyAlgorithm, privateKey: KeyObject, pub: TeePubKey) {
    this.algorithm = algorithm;
    this.privateKey = privateKey;
    this.pub = pub;
  }

  static generate(algorithm: TeeKeyAlgorithm = 'ECDH-ES+A256KW-P256'): TeeKeyPair {
    if (algorithm === 'RSA-OAEP-256') {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048, publicExponent: 0x10001 });
      const jwk = publicKey.export({ format: 'jwk' });
      return new TeeKeyPair(algorithm, privateKey, { kty: 'RSA', alg: 'RSA-OAEP-256', n: jwk.n!, e: jwk.e! });
    }
    const crv = algorithm === 'ECDH-ES+A256KW-P521' ? 'P-521' : 'P-256';
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: crv });
    const jwk = publicKey.export({ format: 'jwk' });
    // kbs-types TeePubKey::EC field order (kty is the serde tag, first); JCS sorts anyway.
    return new TeeKeyPair(algorithm, privateKey, { kty: 'EC', crv, alg: ECDH_ES_A256KW, x: jwk.x!, y: jwk.y! });
  }

  /** keypair.rs `export_pubkey`. */
  exportPubkey(): TeePubKey {
    return { ...this.pub };
  }

  /** keypair.rs `unwrap_cek`: the content key from `encrypted_key`, as the header's `alg` says. */
  unwrapCek(header: ProtectedHeader, wrappedCek: Buffer): Buffer {
    if (header.alg === 'RSA-OAEP-256') {
      if (this.pub.kty !== 'RSA') throw new JweError('jwe_key_mismatch', 'Unmatched key. Must be RSA key');
      try {
        return privateDecrypt({ key: this.privateKey, padding: constants.RSA_PKCS1_OAEP_PADDING, oaepHash: 'sha256' }, wrappedCek);
      } catch {
        throw new JweError('jwe_key_unwrap', 'RSA-OAEP-256 decryption of the content key failed');
      }
    }
    if (header.alg === ECDH_ES_A256KW) {
      const epk = header['epk'];
      if (epk === null || typeof epk !== 'object') throw new JweError('jwe_malformed', 'Invalid JWE ProtectedHeader. Without `epk`');
      const { crv, x, y } = epk as Record<string, unknown>;
      if (typeof crv !== 'string') throw new JweError('jwe_malformed', 'Invalid JWE ProtectedHeader. `crv` is not a string');
      if (this.pub.kty !== 'EC') throw new JweError('jwe_key_mismatch', 'Unmatched key. Must be EC key');
      if (crv !== this.pub.crv) throw new JweError('jwe_key_mismatch', `Unmatched curve: ${crv}`);
      // The agent builds the point from x and y alone (ignoring kty); so does this.
      const size = crv === 'P-521' ? 66 : 32;
      const xb = fromBase64url(x, 'epk.x');
      const yb = fromBase64url(y, 'epk.y');
      if (xb.length > size || yb.length > size) throw new JweError('jwe_malformed', `epk coordinates are longer than ${size} bytes`);
      let peer: KeyObject;
      try {
        const pad = (b: Buffer) => Buffer.concat([Buffer.alloc(size - b.length), b]).toString('base64url');
        peer = createPublicKey({ key: { kty: 'EC', crv, x: pad(xb), y: pad(yb) }, format: 'jwk' });
      } catch {
        throw new JweError('jwe_malformed', 'epk is not a point on the curve');
      }
      const z = diffieHellman({ privateKey: this.privateKey, publicKey: peer });
      const kek = concatKdf(z, ECDH_ES_A256KW, 32);
      return aesKeyUnwrap(kek, wrappedCek);
    }
    if (header.alg === 'RSA1_5') throw new JweError('jwe_unsupported', 'RSA1_5 (deprecated by the agent, and refused by Node.js) is not supported');
    throw new JweError('jwe_unsupported', `Unsupported algorithm: ${header.alg}`);
  }

  /** keypair.rs `decrypt_response`: the plaintext of a resource response body. */
  decryptResponse(body: unknown): Buffer {
    const response = parseKbsResponse(body);
    const header = decodeProtectedHeader(response.protected);
    const cek = this.unwrapCek(header, fromBase64url(response.encrypted_key, 'encrypted_key'));
    try {
      // The `aad` member, if any, is ignored, as by the agent.
      return decryptContent(cek, response, agentAad(header));
    } finally {
      cek.fill(0);
    }
  }
}
