import { createHash, generateKeyPairSync } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import { describe, expect, it } from 'vitest';
import { BINDING_LABEL, expectedReportData, jwkThumbprintBytes } from '../verifier/binding.ts';

const ecJwk = (curve: string): JWK => generateKeyPairSync('ec', { namedCurve: curve }).publicKey.export({ format: 'jwk' }) as JWK;

describe('REPORT_DATA binding', () => {
  it('computes the RFC 7638 thumbprint exactly as jose does, whatever the member order or extra members', async () => {
    for (const curve of ['P-256', 'P-384', 'P-256', 'P-256']) {
      const jwk = ecJwk(curve);
      const shuffled: JWK = { y: jwk.y, use: 'sig', x: jwk.x, kty: 'EC', crv: jwk.crv, kid: 'ignored' };
      const expected = Buffer.from(await calculateJwkThumbprint(jwk, 'sha256'), 'base64url');
      expect(jwkThumbprintBytes(jwk)).toEqual(expected);
      expect(jwkThumbprintBytes(shuffled)).toEqual(expected);
    }
  });

  it('is SHA-512 over the label, the nonce and the thumbprint, and changes with each of them', async () => {
    const jwk = ecJwk('P-256');
    const nonce = Buffer.alloc(32, 7);
    const rd = await expectedReportData(nonce, jwk);
    expect(rd).toHaveLength(64);
    const manual = createHash('sha512').update(BINDING_LABEL).update(nonce).update(jwkThumbprintBytes(jwk)).digest();
    expect(rd).toEqual(manual);
    expect(await expectedReportData(Buffer.alloc(32, 8), jwk)).not.toEqual(rd);
    expect(await expectedReportData(nonce, ecJwk('P-256'))).not.toEqual(rd);
  });

  it('refuses a key that is not an EC JWK', () => {
    expect(() => jwkThumbprintBytes({ kty: 'RSA', n: 'AQAB', e: 'AQAB' })).toThrow(/EC JWK/);
    expect(() => jwkThumbprintBytes({ kty: 'EC', crv: 'P-256', x: 'abc' })).toThrow(/EC JWK/);
  });
});
