// toTeePublicKey on its own: which TEE keys /v1/attest accepts. node:crypto's JWK import
// (OpenSSL's EC key check) is the reference for which points are acceptable; the server
// uses @noble/curves for the same decision because it is ~30x cheaper per request.

import { p256 } from '@noble/curves/nist.js';
import fc from 'fast-check';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { toTeePublicKey } from '../../server/evidence-input.ts';
import { ApiError } from '../../server/problem.ts';

const P = p256.Point.Fp.ORDER; // the field prime p
const N = p256.Point.Fn.ORDER; // the group order n
const B = p256.Point.CURVE().b;
const SQRT_B = p256.Point.Fp.sqrt(B); // (0, ±sqrt(b)) are genuine curve points: x = 0 is not special

const b64 = (n: bigint): string => Buffer.from(n.toString(16).padStart(64, '0'), 'hex').toString('base64url');
const b64Bytes = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
const jwkOf = (x: bigint, y: bigint) => ({ kty: 'EC', crv: 'P-256', x: b64(x), y: b64(y) });

function freshJwk(): { kty: string; crv: string; x: string; y: string } {
  const jwk = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'jwk' });
  return { kty: jwk.kty!, crv: jwk.crv!, x: jwk.x!, y: jwk.y! };
}

/** The reference: does node:crypto (OpenSSL) import this JWK as a P-256 public key? */
function nodeAccepts(jwk: Record<string, unknown>): boolean {
  try {
    createPublicKey({ key: jwk as never, format: 'jwk' });
    return true;
  } catch {
    return false;
  }
}

function accepts(jwk: Record<string, unknown>): boolean {
  try {
    toTeePublicKey(jwk);
    return true;
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    expect(err.status).toBe(400);
    expect(err.code).toBe('tee_public_key_invalid');
    return false;
  }
}

function refusal(jwk: Record<string, unknown>): string {
  try {
    toTeePublicKey(jwk);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    expect(err.status).toBe(400);
    expect(err.code).toBe('tee_public_key_invalid');
    return err.detail;
  }
  throw new Error(`accepted ${JSON.stringify(jwk)}`);
}

const OFF_CURVE = 'teePublicKey must be a public EC P-256 JWK: the point (x, y) is not on the P-256 curve.';
const BAD_X = 'teePublicKey must be a public EC P-256 JWK: x must be 32 bytes, base64url without padding.';
const BAD_Y = 'teePublicKey must be a public EC P-256 JWK: y must be 32 bytes, base64url without padding.';

describe('toTeePublicKey', () => {
  it('accepts genuine P-256 public keys and returns only kty, crv, x and y', () => {
    for (let i = 0; i < 200; i++) {
      const jwk = freshJwk();
      expect(toTeePublicKey({ ...jwk, kid: 'k', use: 'enc', alg: 'ECDH-ES' })).toStrictEqual(jwk);
    }
  });

  it('refuses a point whose y is off by one bit', () => {
    for (let i = 0; i < 50; i++) {
      const jwk = freshJwk();
      const y = Buffer.from(jwk.y, 'base64url');
      y[i % 32]! ^= 1 << i % 8;
      expect(refusal({ ...jwk, y: b64Bytes(y) })).toBe(OFF_CURVE);
    }
  });

  it('decides x = 0 by the curve equation, like node', () => {
    for (const y of [SQRT_B, P - SQRT_B]) {
      expect(nodeAccepts(jwkOf(0n, y))).toBe(true);
      expect(toTeePublicKey(jwkOf(0n, y))).toStrictEqual(jwkOf(0n, y));
    }
    for (const y of [1n, SQRT_B + 1n, P - 1n]) {
      expect(nodeAccepts(jwkOf(0n, y))).toBe(false);
      expect(refusal(jwkOf(0n, y))).toBe(OFF_CURVE);
    }
  });

  it('refuses (0, 0), the affine spelling of the point at infinity', () => {
    // A JWK has no other way to write infinity: SEC 1's single 0x00 octet is not 32 bytes.
    expect(nodeAccepts(jwkOf(0n, 0n))).toBe(false);
    expect(refusal(jwkOf(0n, 0n))).toBe(OFF_CURVE);
  });

  it('refuses coordinates >= p, even when they are a curve point once reduced mod p', () => {
    const all1 = (1n << 256n) - 1n;
    // (p, ±sqrt(b)) is (0, ±sqrt(b)) mod p: accepted only by an implementation that reduces.
    const cases = [jwkOf(P, SQRT_B), jwkOf(P, P - SQRT_B), jwkOf(P, 0n), jwkOf(all1, all1), jwkOf(0n, P), jwkOf(0n, all1)];
    const g = p256.Point.BASE.toAffine();
    cases.push(jwkOf(g.x, P), jwkOf(g.x, all1), jwkOf(all1, g.y));
    for (const jwk of cases) {
      expect(nodeAccepts(jwk), JSON.stringify(jwk)).toBe(false);
      expect(refusal(jwk), JSON.stringify(jwk)).toBe(OFF_CURVE);
    }
  });

  it('refuses a non-canonical base64url coordinate (non-zero unused low bits)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (let i = 0; i < 20; i++) {
      const jwk = freshJwk();
      for (const coord of ['x', 'y'] as const) {
        const last = alphabet.indexOf(jwk[coord].at(-1)!);
        expect(last & 3).toBe(0); // a canonical encoder leaves the 2 spare bits at zero
        const spelling = jwk[coord].slice(0, 42) + alphabet[last | (1 + (i % 3))];
        // The same 32 bytes, so the same point: only the spelling (and the thumbprint) differs.
        expect(Buffer.from(spelling, 'base64url')).toStrictEqual(Buffer.from(jwk[coord], 'base64url'));
        expect(refusal({ ...jwk, [coord]: spelling })).toBe(coord === 'x' ? BAD_X : BAD_Y);
      }
    }
  });

  it('refuses coordinates that are not 43 base64url characters', () => {
    const jwk = freshJwk();
    const y = Buffer.from(jwk.y, 'base64url');
    for (const bad of ['', 'AAAA', jwk.x.slice(0, 42), `${jwk.x}A`, `${jwk.x}=`, Buffer.from(jwk.x, 'base64url').toString('base64'), jwk.x.replace(/.$/, '+'), ` ${jwk.x.slice(1)}`, 42, null, undefined]) {
      expect(refusal({ ...jwk, x: bad }), String(bad)).toBe(BAD_X);
    }
    expect(refusal({ ...jwk, y: b64Bytes(y.subarray(1)) })).toBe(BAD_Y);
    expect(refusal({ ...jwk, y: b64Bytes(Buffer.concat([y, Buffer.of(0)])) })).toBe(BAD_Y);
  });

  it('refuses a private key, whatever else is right with it', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const detail = refusal(privateKey.export({ format: 'jwk' }) as Record<string, unknown>);
    expect(detail).toBe('teePublicKey must be a public EC P-256 JWK: it contains a private key (d); send only the public key.');
    expect(refusal({ ...freshJwk(), d: undefined })).toBe(detail);
  });

  it('refuses other key types and curves', () => {
    const jwk = freshJwk();
    expect(refusal({ ...jwk, kty: 'RSA' })).toBe('teePublicKey must be a public EC P-256 JWK: kty is "RSA", expected "EC".');
    expect(refusal({ ...jwk, kty: undefined })).toBe('teePublicKey must be a public EC P-256 JWK: kty is undefined, expected "EC".');
    expect(refusal({ ...jwk, crv: 'P-384' })).toBe('teePublicKey must be a public EC P-256 JWK: crv is "P-384", expected "P-256".');
    for (const crv of ['p-256', 'secp256k1', 'secp256r1', 'P-521']) expect(accepts({ ...jwk, crv })).toBe(false);
  });

  describe('agrees with node:crypto', () => {
    const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => BigInt(`0x${Buffer.from(b).toString('hex')}`));
    // Random coordinates are almost never on the curve, so also generate genuine points and
    // near misses: either coordinate moved by a small amount or by p, or swapped, or negated.
    const point = fc.bigInt({ min: 1n, max: N - 1n }).map((k) => p256.Point.BASE.multiply(k).toAffine());
    const nearMiss = fc
      .tuple(point, fc.constantFrom('x', 'y', 'both'), fc.oneof(fc.bigInt({ min: -3n, max: 3n }), fc.constant(P), fc.constant(-P)))
      .map(([pt, which, d]) => ({ x: which === 'y' ? pt.x : pt.x + d, y: which === 'x' ? pt.y : pt.y + d }));
    const negated = point.map((pt) => ({ x: pt.x, y: P - pt.y }));
    const swapped = point.map((pt) => ({ x: pt.y, y: pt.x }));
    const inRange = (c: { x: bigint; y: bigint }) => c.x >= 0n && c.y >= 0n && c.x < 1n << 256n && c.y < 1n << 256n;

    it('for random 32-byte x and y', () => {
      fc.assert(
        fc.property(bytes32, bytes32, (x, y) => {
          const jwk = jwkOf(x, y);
          expect(accepts(jwk)).toBe(nodeAccepts(jwk));
        }),
        { numRuns: 2000 },
      );
    });

    it('for curve points and near misses', () => {
      let accepted = 0;
      fc.assert(
        fc.property(fc.oneof(point, nearMiss.filter(inRange), negated, swapped), ({ x, y }) => {
          const jwk = jwkOf(x, y);
          const expected = nodeAccepts(jwk);
          if (expected) accepted++;
          expect(accepts(jwk)).toBe(expected);
        }),
        { numRuns: 1000 },
      );
      expect(accepted).toBeGreaterThan(100); // the property exercised acceptance, not only refusal
    });
  });
});
