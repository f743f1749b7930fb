/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The attestation flow over real HTTP: challenge, binding, verification, policy, EAR token
// verified with jose against the JWKS (before and after rotation), and each way a challenge
// is refused. Evidence comes from a simulator chain trusted only by this test's instance.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import { PRODUCTION_ANCHORS } from '../../verifier/production-anchors.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { SIMULATOR_SNP_MEASUREMENT } from '../../verifier/testing/snp-report-builder.ts';
import { EAR_PROFILE } from '../../server/ear.ts';
import { removeDir, snpAttestBody, startChainServer, startServer, stopServer, tdxAttestBody, type TestServer } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer());
}, 120_000);

afterAll(() => stopServer(srv));

async function auditCount(): Promise<number> {
  const r = await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken });
  return r.body.checked as number;
}

describe('POST /v1/attest', () => {
  it('issues an EAR token for bound, genuine SEV-SNP evidence, verifiable through the JWKS', async () => {
    const { body, nonce, jwk } = await snpAttestBody(srv, chain);
    const res = await srv.call('POST', '/v1/attest', { body });
    expect(res.status).toBe(200);
    expect(res.body.status).toBe('affirming');
    const jwks = createRemoteJWKSet(new URL(`${srv.url}/.well-known/jwks.json`));
    const { payload, protectedHeader } = await jwtVerify(res.body.token, jwks, { algorithms: ['ES256'] });
    expect(protectedHeader.kid).toBeTypeOf('string');
    expect(payload.eat_profile).toBe(EAR_PROFILE);
    expect(payload.eat_nonce).toBe(nonce);
    expect(payload.jti).toMatch(/^[0-9a-f-]{36}$/);
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(new Date(res.body.expiresAt).getTime()).toBe(payload.exp! * 1000);
    expect(payload.cnf).toEqual({ jwk });
    expect(payload['ear.verifier-id']).toMatchObject({ build: 'tessera 0.1.0' });
    const sub = (payload.submods as Record<string, any>)['sev-snp'];
    expect(sub['ear.status']).toBe('affirming');
    expect(sub['ear.appraisal-policy-id']).toMatchObject({ name: 'default', version: 1 });
    expect(sub['ear.appraisal-policy-id'].hash).toMatch(/^[0-9a-f]{64}$/);
    expect(Object.values(sub['ear.trustworthiness-vector']).every((v) => typeof v === 'number')).toBe(true);
    expect(sub['tessera.claims'].measurement).toBe(SIMULATOR_SNP_MEASUREMENT);
    expect(sub['tessera.claims'].simulated).toBe(true);
    expect(sub['tessera.claims'].debug).toBe(false);

    // The decision is audited with its outcome, policy, claims digest and token id.
    const audit = await srv.call('GET', `/v1/audit?action=attestation&subject=${res.body.attestationId}`, { token: srv.adminToken });
    expect(audit.body.entries).toHaveLength(1);
    const entry = audit.body.entries[0];
    expect(entry).toMatchObject({ outcome: 'affirming', tee: 'sev-snp', clientAddress: '127.0.0.1' });
    expect(entry.details.tokenJti).toBe(payload.jti);
    expect(entry.details.claimsDigest).toMatch(/^[0-9a-f]{64}$/);
    expect(entry.details.policy).toEqual(sub['ear.appraisal-policy-id']);
  });

  it('issues a token for TDX evidence from the simulated Intel chain', async () => {
    const { body } = await tdxAttestBody(srv, chain);
    const res = await srv.call('POST', '/v1/attest', { body });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const { payload } = await jwtVerify(res.body.token, createRemoteJWKSet(new URL(`${srv.url}/.well-known/jwks.json`)));
    expect((payload.submods as any).tdx['ear.status']).toBe('affirming');
  });

  it('refuses CRLs and TCB documents sent by the attester (a replayable older document), consuming nothing', async () => {
    const snp = await snpAttestBody(srv, chain);
    const withCrl = { ...snp.body, evidence: { ...(snp.body.evidence as object), crl: Buffer.from('not consulted').toString('base64') } };
    const refused = await srv.call('POST', '/v1/attest', { body: withCrl });
    expect(refused.status).toBe(400);
    expect(refused.body.code).toBe('evidence_collateral_refused');
    expect(refused.body.detail).toContain('evidence.crl');
    // The challenge was not consumed: the same evidence without the CRL is accepted.
    expect((await srv.call('POST', '/v1/attest', { body: snp.body })).status).toBe(200);

    const tdx = await tdxAttestBody(srv, chain);
    const collateral = { tcbInfo: '{}', tcbInfoIssuerChain: 'x', qeIdentity: '{}', qeIdentityIssuerChain: 'x' };
    const withCollateral = { ...tdx.body, evidence: { ...(tdx.body.evidence as object), collateral } };
    const refusedTdx = await srv.call('POST', '/v1/attest', { body: withCollateral });
    expect(refusedTdx.status).toBe(400);
    expect(refusedTdx.body.code).toBe('evidence_collateral_refused');
    expect(refusedTdx.body.detail).toContain('evidence.collateral');
  });

  it('denies evidence whose REPORT_DATA does not bind this nonce and key, saying expected and found', async () => {
    const { body } = await snpAttestBody(srv, chain, { tamperNonce: true });
    const res = await srv.call('POST', '/v1/attest', { body });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toContain('application/problem+json');
    expect(res.body.code).toBe('attestation_denied');
    const binding = res.body.failedChecks.find((c: any) => c.id === 'binding.report-data');
    expect(binding.ok).toBe(false);
    expect(binding.expected).toMatch(/^[0-9a-f]{128}$/);
    expect(binding.found).toMatch(/^[0-9a-f]{128}$/);
    expect(binding.found).not.toBe(binding.expected);
    expect(res.body.token).toBeUndefined();
  });

  it('denies a debug guest under the default policy, naming the rule and the value seen', async () => {
    const { body } = await snpAttestBody(srv, chain, { report: { policy: { debug: true } } });
    const res = await srv.call('POST', '/v1/attest', { body });
    expect(res.status).toBe(403);
    expect(res.body.failedChecks).toEqual([]);
    const rule = res.body.failedRules.find((r: any) => r.id === 'snp.allowDebug');
    expect(rule).toMatchObject({ ok: false, effect: 'deny', found: true });
    const audit = await srv.call('GET', `/v1/audit?subject=${res.body.attestationId}`, { token: srv.adminToken });
    expect(audit.body.entries[0].outcome).toBe('contraindicated');
    expect(audit.body.entries[0].details.failedRules).toContain('snp.allowDebug');
  });

  it('refuses a replayed challenge with challenge_replayed', async () => {
    const { body } = await snpAttestBody(srv, chain);
    expect((await srv.call('POST', '/v1/attest', { body })).status).toBe(200);
    const again = await srv.call('POST', '/v1/attest', { body });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('challenge_replayed');
    const audit = await srv.call('GET', '/v1/audit?action=attestation&limit=1', { token: srv.adminToken });
    expect(audit.body.entries[0]).toMatchObject({ outcome: 'rejected', details: { code: 'challenge_replayed' } });
  });

  it('refuses a denied attempt\'s challenge too: a denial consumes it', async () => {
    const { body } = await snpAttestBody(srv, chain, { tamperNonce: true });
    expect((await srv.call('POST', '/v1/attest', { body })).status).toBe(403);
    expect((await srv.call('POST', '/v1/attest', { body })).body.code).toBe('challenge_replayed');
  });

  it('refuses a forged, a malformed, an expired and a wrong-TEE challenge with distinct codes', async () => {
    const { body } = await snpAttestBody(srv, chain);
    const raw = Buffer.from(body.challenge as string, 'base64url');
    raw[raw.length - 1]! ^= 0x01;
    const forged = await srv.call('POST', '/v1/attest', { body: { ...body, challenge: raw.toString('base64url') } });
    expect([forged.status, forged.body.code]).toEqual([400, 'challenge_forged']);

    const payloadEdit = Buffer.from(body.challenge as string, 'base64url');
    payloadEdit.writeBigUInt64BE(payloadEdit.readBigUInt64BE(2) + 3_600_000n, 2); // extend its own expiry
    const extended = await srv.call('POST', '/v1/attest', { body: { ...body, challenge: payloadEdit.toString('base64url') } });
    expect(extended.body.code).toBe('challenge_forged');

    const malformed = await srv.call('POST', '/v1/attest', { body: { ...body, challenge: 'not-a-challenge' } });
    expect([malformed.status, malformed.body.code]).toEqual([400, 'challenge_malformed']);

    // Signed by the server itself, but an hour ago with a 5-minute lifetime.
    const old = srv.service.ctx.challenges.issue('sev-snp', Date.now() - 3_600_000);
    const expired = await srv.call('POST', '/v1/attest', { body: { ...body, challenge: old.challenge } });
    expect([expired.status, expired.body.code]).toEqual([400, 'challenge_expired']);

    const tdxChallenge = srv.service.ctx.challenges.issue('tdx');
    const mismatch = await srv.call('POST', '/v1/attest', { body: { ...body, challenge: tdxChallenge.challenge } });
    expect([mismatch.status, mismatch.body.code]).toEqual([400, 'challenge_tee_mismatch']);

    // Each refusal is audited as a rejected attestation with its code...
    const rejected = await srv.call('GET', '/v1/audit?action=attestation&outcome=rejected&limit=5', { token: srv.adminToken });
    expect(rejected.body.entries.map((e: any) => e.details.code)).toEqual([
      'challenge_tee_mismatch',
      'challenge_expired',
      'challenge_malformed',
      'challenge_forged',
      'challenge_forged',
    ]);
    expect(rejected.body.entries[0]).toMatchObject({ tee: 'sev-snp', clientAddress: '127.0.0.1', actor: 'anonymous' });
    // ...and none of them consumed the genuine challenge.
    expect((await srv.call('POST', '/v1/attest', { body })).status).toBe(200);
  });

  it('a malformed request consumes nothing and records nothing', async () => {
    const { body } = await snpAttestBody(srv, chain);
    const before = await auditCount();
    const truncated = Buffer.from((body.evidence as any).report, 'base64').subarray(0, 1000).toString('base64');
    const bad = await srv.call('POST', '/v1/attest', { body: { ...body, evidence: { report: truncated } } });
    expect(bad.status).toBe(400);
    expect(bad.body.code).toMatch(/^snp_/);
    expect(await auditCount()).toBe(before);
    expect((await srv.call('POST', '/v1/attest', { body })).status).toBe(200);
    expect(await auditCount()).toBe(before + 1);
  });
});

describe('release in the attestation round trip', () => {
  it('answers the token with a JWE per released secret, and a denial per refused one', async () => {
    const put = (name: string, releasePolicy: string) => srv.call('PUT', `/v1/secrets/${name}`, { token: srv.adminToken, body: { value: `value of ${name}`, releasePolicy } });
    expect((await put('sim-only', 'claims.simulated == true')).status).toBe(201);
    expect((await put('tdx-only', 'claims.tee == "tdx"')).status).toBe(201);
    const { body, jwk } = await snpAttestBody(srv, chain);
    const res = await srv.call('POST', '/v1/attest', { body: { ...body, release: ['sim-only', 'tdx-only'] } });
    expect(res.status).toBe(200);
    expect(Object.keys(res.body.secrets)).toEqual(['sim-only']);
    expect(res.body.secrets['sim-only'].split('.')).toHaveLength(5);
    expect(JSON.parse(Buffer.from(res.body.secrets['sim-only'].split('.')[0], 'base64url').toString())).toMatchObject({ alg: 'ECDH-ES+A256KW', enc: 'A256GCM' });
    expect(res.body.releaseDenials).toEqual([expect.objectContaining({ name: 'tdx-only', code: 'release_denied' })]);
    expect(jwk.d).toBeUndefined();

    // A refused attestation releases nothing, and each name's denial is audited.
    const denied = await srv.call('POST', '/v1/attest', { body: { ...(await snpAttestBody(srv, chain, { tamperNonce: true })).body, release: ['sim-only'] } });
    expect(denied.status).toBe(403);
    expect(denied.body.secrets).toBeUndefined();
    const bad = await srv.call('POST', '/v1/attest', { body: { ...body, release: ['../etc'] } });
    expect([bad.status, bad.body.code]).toEqual([400, 'request_invalid']);
  });
});

describe('signing-key rotation', () => {
  it('keeps the old public key published, so tokens issued before rotation still verify', async () => {
    const first = await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body });
    const oldKid = decodeProtectedHeader(first.body.token).kid;

    const rotated = await srv.call('POST', '/v1/keys/rotate', { token: srv.adminToken });
    expect(rotated.status).toBe(200);
    expect(rotated.body.retired).toBe(oldKid);
    expect(rotated.body.kid).not.toBe(oldKid);

    const second = await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body });
    expect(decodeProtectedHeader(second.body.token).kid).toBe(rotated.body.kid);

    const jwks = await srv.call('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: any) => k.kid).sort()).toEqual([oldKid, rotated.body.kid].sort());
    for (const k of jwks.body.keys) expect(k.d).toBeUndefined();
    const set = createRemoteJWKSet(new URL(`${srv.url}/.well-known/jwks.json`));
    await expect(jwtVerify(first.body.token, set)).resolves.toBeTruthy();
    await expect(jwtVerify(second.body.token, set)).resolves.toBeTruthy();

    const audit = await srv.call('GET', '/v1/audit?action=key.rotate', { token: srv.adminToken });
    expect(audit.body.entries[0].details).toEqual({ kid: rotated.body.kid, retired: oldKid, revokedPrevious: false });
  });

  it('with revokePrevious, withdraws the old key at once: its tokens stop verifying, here and through the JWKS', async () => {
    expect((await srv.call('PUT', '/v1/secrets/revocation-check', { token: srv.adminToken, body: { value: 'kept' } })).status).toBe(201);
    const before = await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body });
    const oldKid = decodeProtectedHeader(before.body.token).kid;
    expect((await srv.call('GET', '/v1/secrets/revocation-check', { token: before.body.token })).status).toBe(200);

    const rotated = await srv.call('POST', '/v1/keys/rotate', { token: srv.adminToken, body: { revokePrevious: true } });
    expect(rotated.status).toBe(200);
    expect(rotated.body).toMatchObject({ retired: oldKid, revokedPrevious: true });

    const jwks = await srv.call('GET', '/.well-known/jwks.json');
    expect(jwks.body.keys.map((k: any) => k.kid)).not.toContain(oldKid);
    const set = createRemoteJWKSet(new URL(`${srv.url}/.well-known/jwks.json`));
    await expect(jwtVerify(before.body.token, set)).rejects.toThrow();
    const refused = await srv.call('GET', '/v1/secrets/revocation-check', { token: before.body.token });
    expect(refused.status).toBe(401);

    const after = await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body });
    await expect(jwtVerify(after.body.token, set)).resolves.toBeTruthy();
    const audit = await srv.call('GET', '/v1/audit?action=key.rotate', { token: srv.adminToken });
    expect(audit.body.entries[0].details).toEqual({ kid: rotated.body.kid, retired: oldKid, revokedPrevious: true });
    // A body that is not the documented one is refused, and rotates nothing.
    const kids = async () => (await srv.call('GET', '/.well-known/jwks.json')).body.keys.map((k: any) => k.kid);
    const published = await kids();
    const bad = await srv.call('POST', '/v1/keys/rotate', { token: srv.adminToken, body: { revokePrevious: 'yes' } });
    expect(bad.status).toBe(400);
    expect(await kids()).toEqual(published);
  });
});

describe('production trust anchors', () => {
  it('never include a test or simulator root, so simulator evidence is refused without them', async () => {
    const arks = PRODUCTION_ANCHORS.amd.map((a) => Buffer.from(a.arkDer).toString('hex'));
    expect(arks).not.toContain(chain.amd.ark.toString('hex'));
    expect(PRODUCTION_ANCHORS.amd.every((a) => !a.simulated)).toBe(true);
    expect(PRODUCTION_ANCHORS.intel.every((a) => !a.simulated && Buffer.from(a.rootDer).toString('hex') !== chain.intel.root.toString('hex'))).toBe(true);

    const prod = await startServer();
    try {
      const { body } = await snpAttestBody(prod, chain);
      // Give it the simulator's VCEK and ASK: the chain still has to end at a pinned ARK.
      (body.evidence as any).certificates.ask = chain.amd.ask.toString('base64');
      const res = await prod.call('POST', '/v1/attest', { body });
      expect(res.status).toBe(403);
      expect(res.body.failedChecks.length).toBeGreaterThan(0);
      expect(res.body.failedRules.map((r: any) => r.id)).toContain('evidence.verified');
    } finally {
      await prod.stop();
      removeDir(prod.dataDir);
    }
  });
});
