// The release JWE (server/secrets/release.ts encryptToTeeKey, written with node:crypto for
// speed) against jose, the library the agent decrypts with: every size opens to the exact
// bytes, the header is exactly RFC 7518's, and any change to any part is refused.

import { createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';
import { compactDecrypt, decodeProtectedHeader, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { encryptToTeeKey } from '../../server/secrets/release.ts';

function teePair(): { privateKey: KeyObject; jwk: JWK } {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const j = createPublicKey(privateKey).export({ format: 'jwk' });
  return { privateKey, jwk: { kty: 'EC', crv: 'P-256', x: j.x!, y: j.y! } };
}

const open = async (jwe: string, key: KeyObject) =>
  Buffer.from((await compactDecrypt(jwe, key, { keyManagementAlgorithms: ['ECDH-ES+A256KW'], contentEncryptionAlgorithms: ['A256GCM'] })).plaintext);

describe('encryptToTeeKey', () => {
  it('opens with jose to the exact bytes for every size, with a fresh ephemeral key and IV each time', async () => {
    const key = teePair();
    for (const size of [1, 15, 16, 17, 255, 4096, 65536]) {
      const value = randomBytes(size);
      const jwe = encryptToTeeKey(value, key.jwk);
      expect((await open(jwe, key.privateKey)).equals(value), `size ${size}`).toBe(true);
    }
    const a = encryptToTeeKey(Buffer.from('same'), key.jwk).split('.');
    const b = encryptToTeeKey(Buffer.from('same'), key.jwk).split('.');
    for (let i = 0; i < 5; i++) expect(a[i]).not.toBe(b[i]);
  });

  it('has exactly the RFC 7518 protected header: alg, enc and a public P-256 epk', () => {
    const header = decodeProtectedHeader(encryptToTeeKey(Buffer.from('x'), teePair().jwk));
    expect(Object.keys(header).sort()).toEqual(['alg', 'enc', 'epk']);
    expect(header).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM', epk: { kty: 'EC', crv: 'P-256' } });
    expect(Object.keys(header.epk!).sort()).toEqual(['crv', 'kty', 'x', 'y']);
  });

  it('does not open with another key, nor after any part is changed', async () => {
    const key = teePair();
    const jwe = encryptToTeeKey(Buffer.from('the secret'), key.jwk);
    await expect(open(jwe, teePair().privateKey)).rejects.toThrow();
    const parts = jwe.split('.');
    for (let i = 0; i < 5; i++) {
      const bytes = Buffer.from(parts[i]!, 'base64url');
      bytes[bytes.length - 1]! ^= 1;
      const changed = parts.map((p, j) => (j === i ? bytes.toString('base64url') : p)).join('.');
      await expect(open(changed, key.privateKey), `part ${i}`).rejects.toThrow();
    }
  });
});
