// The client's JWE side (guest-agent/kbs/jwe.ts, tee-key.ts): the agent's AAD held to
// kbs-types' own tests, Concat KDF and AES key wrap held to their RFCs, interoperation with
// jose (an independent JOSE implementation), and responses made the way Trustee makes them.

import { createPrivateKey, createPublicKey, diffieHellman } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { FlattenedEncrypt, flattenedDecrypt } from 'jose';
import { describe, expect, it } from 'vitest';
import { aesKeyUnwrap, aesKeyWrap, agentAad, agentHeaderJson, concatKdf, decodeProtectedHeader, decryptContent, fromBase64url, JweError, parseKbsResponse, type ProtectedHeader } from '../../guest-agent/kbs/jwe.ts';
import { TEE_KEY_ALGORITHMS, TeeKeyPair } from '../../guest-agent/kbs/tee-key.ts';
import { trusteeJwe } from './trustee-jwe.ts';

const FIXTURES = new URL('../fixtures/kbs/', import.meta.url);
const kbsTypes = JSON.parse(readFileSync(new URL('kbs-types-protected-header.json', FIXTURES), 'utf8'));
const payload = Buffer.from('a resource: 32 bytes of key material, or a config file');

function jweErrorCode(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    if (err instanceof JweError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('kbs-types ProtectedHeader vectors', () => {
  it.each(kbsTypes.generate_aad as { test: string; header: ProtectedHeader; aad: string }[])('$test: generate_aad', (v) => {
    expect(agentAad(v.header).toString('ascii')).toBe(v.aad);
  });

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- vector records, checked member by member
  it.each(kbsTypes.parse as any[])('$test: the Response parses', (v) => {
    const r = parseKbsResponse(v.response);
    expect(decodeProtectedHeader(r.protected)).toEqual(v.header);
    for (const k of ['encrypted_key', 'iv', 'ciphertext', 'tag'] as const) expect(fromBase64url(r[k], k).toString()).toBe(v[k]);
    expect(r.aad ?? null).toBe(v.aad);
  });

  it('a nested epk is re-serialised sorted (crv, kty, x), without the trailing newline it arrived with', () => {
    const v = kbsTypes.parse.find((p: { test: string }) => p.test === 'parse_response_nested_protected_header');
    const header = decodeProtectedHeader(v.response.protected);
    expect(agentAad(header).toString('ascii')).toBe(v.derived_agent_aad);
    expect(agentAad(header).toString('ascii')).not.toBe(v.response.protected);
  });

  it('alg and enc come first whatever order they arrive in; the other members sort by key', () => {
    const header = decodeProtectedHeader(Buffer.from('{"zip":"x","enc":"A256GCM","b":{"y":1,"a":[2,{"d":0,"c":0}]},"alg":"RSA-OAEP-256"}').toString('base64url'));
    expect(agentHeaderJson(header)).toBe('{"alg":"RSA-OAEP-256","enc":"A256GCM","b":{"a":[2,{"c":0,"d":0}],"y":1},"zip":"x"}');
  });
});

describe('Concat KDF and AES key wrap, from their specifications', () => {
  it('RFC 7518 appendix C: ECDH-ES with the appendix keys, "A128GCM", apu Alice, apv Bob', () => {
    const alice = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', x: 'gI0GAILBdu7T53akrFmMyGcsF3n5dO7MmwNBHKW5SV0', y: 'SLW_xSffzlPWrHEVI30DHM_4egVwt3NQqeUD7nMFpps', d: '0_NxaRPUMQoAJt50Gz8YiTr8gRTwyEaCumd-MToTmIo' }, format: 'jwk' });
    const bob = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: 'weNJy2HscCSM6AEDTDg04biOvhFhyyWvOHQfeF_PxMQ', y: 'e8lnCO-AlStT-NJVX-crhB7QRYhiix03illJOVAOyck' }, format: 'jwk' });
    const z = diffieHellman({ privateKey: alice, publicKey: bob });
    expect([...z]).toEqual([158, 86, 217, 29, 129, 113, 53, 211, 114, 131, 66, 131, 191, 132, 38, 156, 251, 49, 110, 163, 218, 128, 106, 72, 246, 218, 167, 121, 140, 254, 144, 196]);
    expect(concatKdf(z, 'A128GCM', 16, Buffer.from('Alice'), Buffer.from('Bob')).toString('base64url')).toBe('VqqN6vgjbSBcIijNcacQGg');
    expect(concatKdf(z, 'A128GCM', 16).toString('base64url')).not.toBe('VqqN6vgjbSBcIijNcacQGg');
  });

  const kek = Buffer.from('000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F', 'hex');
  const keyData = Buffer.from('00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F', 'hex');
  const wrapped = Buffer.from('28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21', 'hex');

  it('RFC 3394 section 4.6: wrap 256 bits of key data with a 256-bit KEK, and unwrap it', () => {
    expect(aesKeyWrap(kek, keyData).equals(wrapped)).toBe(true);
    expect(aesKeyUnwrap(kek, wrapped).equals(keyData)).toBe(true);
  });

  it('every flipped byte of the wrapped key fails the integrity check', () => {
    for (let i = 0; i < wrapped.length; i++) {
      const bad = Buffer.from(wrapped);
      bad[i]! ^= 0x01;
      expect(jweErrorCode(() => aesKeyUnwrap(kek, bad))).toBe('jwe_key_unwrap');
    }
    expect(jweErrorCode(() => aesKeyUnwrap(kek, wrapped.subarray(0, 20)))).toBe('jwe_key_unwrap');
  });
});

describe('tee keys (keypair.rs export_pubkey)', () => {
  it('defaults to EC P-256 with ECDH-ES+A256KW; P-521 and RSA-OAEP-256 on request', () => {
    const p256 = TeeKeyPair.generate().exportPubkey();
    expect(p256).toMatchObject({ kty: 'EC', crv: 'P-256', alg: 'ECDH-ES+A256KW' });
    if (p256.kty === 'EC') expect([fromBase64url(p256.x, 'x').length, fromBase64url(p256.y, 'y').length]).toEqual([32, 32]);
    const p521 = TeeKeyPair.generate('ECDH-ES+A256KW-P521').exportPubkey();
    expect(p521).toMatchObject({ kty: 'EC', crv: 'P-521', alg: 'ECDH-ES+A256KW' });
    if (p521.kty === 'EC') expect([fromBase64url(p521.x, 'x').length, fromBase64url(p521.y, 'y').length]).toEqual([66, 66]);
    const rsa = TeeKeyPair.generate('RSA-OAEP-256').exportPubkey();
    expect(rsa).toMatchObject({ kty: 'RSA', alg: 'RSA-OAEP-256', e: 'AQAB' });
    if (rsa.kty === 'RSA') expect(fromBase64url(rsa.n, 'n').length).toBe(256);
  });
});

describe.each(TEE_KEY_ALGORITHMS)('%s: responses made as Trustee makes them', (algorithm) => {
  const key = TeeKeyPair.generate(algorithm);

  it('decrypt', () => {
    expect(key.decryptResponse(trusteeJwe(key.exportPubkey(), payload)).equals(payload)).toBe(true);
  });

  it('an `aad` member is ignored, as by the agent', () => {
    expect(key.decryptResponse(trusteeJwe(key.exportPubkey(), payload, { aad: 'fakeaad' })).equals(payload)).toBe(true);
  });

  it('the same header in another byte order does not decrypt (the AAD is the agent form, not the bytes received)', () => {
    const reordered = trusteeJwe(key.exportPubkey(), payload, { headerJson: (h) => JSON.stringify({ enc: h.enc, alg: h.alg, ...(h.epk ? { epk: h.epk } : {}) }) });
    expect(jweErrorCode(() => key.decryptResponse(reordered))).toBe('jwe_decrypt');
    const spaced = trusteeJwe(key.exportPubkey(), payload, { headerJson: (h) => JSON.stringify(h, null, 1) });
    expect(jweErrorCode(() => key.decryptResponse(spaced))).toBe('jwe_decrypt');
  });

  it('a flipped ciphertext or tag byte does not decrypt', () => {
    for (const member of ['ciphertext', 'tag'] as const) {
      const r = trusteeJwe(key.exportPubkey(), payload);
      const b = fromBase64url(r[member], member);
      b[0]! ^= 1;
      expect(jweErrorCode(() => key.decryptResponse({ ...r, [member]: b.toString('base64url') }))).toBe('jwe_decrypt');
    }
  });

  it('a response to another key does not open', () => {
    const other = TeeKeyPair.generate(algorithm);
    expect(jweErrorCode(() => key.decryptResponse(trusteeJwe(other.exportPubkey(), payload)))).toMatch(/^jwe_(key_unwrap|decrypt)$/);
  });
});

describe('interoperation with jose (an independent JOSE implementation)', () => {
  it.each(['ECDH-ES+A256KW-P256', 'ECDH-ES+A256KW-P521'] as const)('%s: the client unwraps the content key jose wrapped; jose header order is not the agent form', async (algorithm) => {
    const key = TeeKeyPair.generate(algorithm);
    const pub = key.exportPubkey();
    if (pub.kty !== 'EC') throw new Error('expected an EC key');
    const jwe = await new FlattenedEncrypt(payload).setProtectedHeader({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' }).encrypt(createPublicKey({ key: { kty: 'EC', crv: pub.crv, x: pub.x, y: pub.y }, format: 'jwk' }));
    const response = parseKbsResponse(jwe);
    const header = decodeProtectedHeader(response.protected);
    const cek = key.unwrapCek(header, fromBase64url(response.encrypted_key, 'encrypted_key'));
    // With the AAD jose used (the bytes it sent), the unwrapped key opens the content...
    expect(decryptContent(cek, response, Buffer.from(response.protected, 'ascii')).equals(payload)).toBe(true);
    // ...but jose writes epk as x, crv, kty, y, so the agent's AAD differs and the agent refuses it.
    expect(agentHeaderJson(header)).not.toBe(fromBase64url(response.protected, 'protected').toString());
    expect(jweErrorCode(() => key.decryptResponse(jwe))).toBe('jwe_decrypt');
  });

  it('RSA-OAEP-256: jose writes {"alg","enc"}, which is the agent form, so the agent opens it', async () => {
    const key = TeeKeyPair.generate('RSA-OAEP-256');
    const pub = key.exportPubkey();
    if (pub.kty !== 'RSA') throw new Error('expected an RSA key');
    const jwe = await new FlattenedEncrypt(payload).setProtectedHeader({ alg: 'RSA-OAEP-256', enc: 'A256GCM' }).encrypt(createPublicKey({ key: { kty: 'RSA', n: pub.n, e: pub.e }, format: 'jwk' }));
    expect(key.decryptResponse(jwe).equals(payload)).toBe(true);
  });

  it('jose opens what a Trustee-style KBS sends (the header is valid JOSE)', async () => {
    const key = TeeKeyPair.generate();
    const r = trusteeJwe(key.exportPubkey(), payload);
    const { plaintext } = await flattenedDecrypt(r, key.privateKey);
    expect(Buffer.from(plaintext).equals(payload)).toBe(true);
  });

  it('a P-521 response to a P-256 key is refused by curve before any arithmetic', () => {
    const key = TeeKeyPair.generate();
    const r = trusteeJwe(TeeKeyPair.generate('ECDH-ES+A256KW-P521').exportPubkey(), payload);
    expect(jweErrorCode(() => key.decryptResponse(r))).toBe('jwe_key_mismatch');
  });
});
