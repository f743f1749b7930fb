/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies and token claims are JSON checked field by field */
// Review of what POST /v1/attest signs and what it accepts as a challenge: the EAR claims are
// exactly README's, `cnf.jwk` is the bound key with only its RFC 7638 members, and a challenge
// cannot be reshaped (another spelling, another TEE, another expiry) into a second use.

import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { NO_RATE_LIMITS, snpAttestBody, startChainServer, stopServer, tdxAttestBody, teeKey, type TestServer } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer(NO_RATE_LIMITS));
}, 120_000);

afterAll(() => stopServer(srv));

async function verified(token: string) {
  return jwtVerify(token, createRemoteJWKSet(new URL(`${srv.url}/.well-known/jwks.json`)), { algorithms: ['ES256'] });
}

describe('the EAR token', () => {
  it('binds cnf to the RFC 7638 members of the key only, whatever else the request JWK carried', async () => {
    const key = teeKey();
    const extras = { kid: 'attacker', alg: 'ES256', use: 'sig', key_ops: ['verify'], ext: true, x5u: 'https://attacker.example/x', 'ear.status': 'affirming' };
    // The guest binds the thumbprint of its key (the same with or without extra members, RFC 7638 section 3.3).
    const { body } = await snpAttestBody(srv, chain, { jwk: { ...key, ...extras } as JWK });
    const res = await srv.call('POST', '/v1/attest', { body });
    expect(res.status).toBe(200);
    const { payload, protectedHeader } = await verified(res.body.token);
    expect(payload.cnf).toEqual({ jwk: key });
    expect(Object.keys(protectedHeader).sort()).toEqual(['alg', 'kid', 'typ']);
    expect(Object.keys(payload).sort()).toEqual(['cnf', 'eat_nonce', 'eat_profile', 'ear.verifier-id', 'exp', 'iat', 'jti', 'submods'].sort());
  });

  it('names the TEE of the evidence in submods, and only it, with the four README members', async () => {
    for (const make of [snpAttestBody, tdxAttestBody]) {
      const { body, nonce } = await make(srv, chain);
      const res = await srv.call('POST', '/v1/attest', { body });
      expect(res.status).toBe(200);
      const { payload } = await verified(res.body.token);
      expect(Object.keys(payload.submods as object)).toEqual([body.tee]);
      const sub = (payload.submods as any)[body.tee as string];
      expect(Object.keys(sub).sort()).toEqual(['ear.appraisal-policy-id', 'ear.status', 'ear.trustworthiness-vector', 'tessera.claims']);
      expect(sub['tessera.claims'].tee).toBe(body.tee);
      expect(sub['ear.status']).toBe(res.body.status);
      expect(payload.eat_nonce).toBe(nonce);
      // The kid in the header is the key in the JWKS that verified it, and the active one.
      const jwks = await srv.call('GET', '/.well-known/jwks.json');
      expect(jwks.body.keys.map((k: JWK) => k.kid)).toContain(decodeProtectedHeader(res.body.token).kid);
    }
  });
});

describe('reshaping a challenge', () => {
  /** Another base64url spelling of the same bytes: the 2 unused low bits of the last character set. */
  function respell(challenge: string): string {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(challenge.at(-1)!);
    return challenge.slice(0, -1) + alphabet[last ^ 0b01]!;
  }

  it('another spelling of a used challenge is the same challenge: refused as replayed', async () => {
    const { body } = await snpAttestBody(srv, chain);
    const other = respell(body.challenge as string);
    expect(other).not.toBe(body.challenge);
    expect(Buffer.from(other, 'base64url')).toEqual(Buffer.from(body.challenge as string, 'base64url'));
    expect((await srv.call('POST', '/v1/attest', { body })).status).toBe(200);
    const again = await srv.call('POST', '/v1/attest', { body: { ...body, challenge: other } });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('challenge_replayed');
  });

  it('a challenge whose TEE byte or expiry is changed is forged; padding, base64 and extra characters are malformed', async () => {
    const { body } = await snpAttestBody(srv, chain);
    const raw = Buffer.from(body.challenge as string, 'base64url');
    const edit = (f: (b: Buffer) => void) => {
      const b = Buffer.from(raw);
      f(b);
      return b.toString('base64url');
    };
    const cases: Array<[string, string]> = [
      [edit((b) => (b[1] = 1)), 'challenge_forged'], // issued for sev-snp, relabelled tdx: the tag covers the TEE
      [edit((b) => b.writeBigUInt64BE(2n ** 63n, 2)), 'challenge_forged'], // a later expiry
      [edit((b) => (b[0] = 2)), 'challenge_malformed'], // another version
      [`${body.challenge as string}=`, 'challenge_malformed'],
      [`${body.challenge as string}A`, 'challenge_malformed'],
      [(body.challenge as string).slice(0, -1), 'challenge_malformed'],
      [raw.toString('base64'), 'challenge_malformed'], // standard base64: padded (74 bytes), maybe + and /
      [` ${body.challenge as string}`, 'challenge_malformed'],
    ];
    for (const [challenge, code] of cases) {
      const res = await srv.call('POST', '/v1/attest', { body: { ...body, challenge } });
      expect([res.status, res.body.code], challenge).toEqual([400, code]);
    }
    // None of them used the genuine challenge.
    expect((await srv.call('POST', '/v1/attest', { body })).status).toBe(200);
  });
});
