/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies and audit entries are JSON checked field by field */
// POST /kbs/v0/attest over real HTTP with simulator evidence in the agent's shapes: the EAR
// token (exp/nbf for the agent, cnf = tee-pubkey), the binding of REPORT_DATA to the
// session's nonce and key, init-data against HOST_DATA / MRCONFIGID, and every refusal.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRemoteJWKSet, decodeJwt, jwtVerify } from 'jose';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { NO_RATE_LIMITS, startChainServer, stopServer, type TestServer } from '../server/helpers.ts';
import { newSessionId, sessionKey } from '../../server/kbs/session.ts';
import { agentReportData, attestation, KbsGuest, kbsType, rcar, snpKbsEvidence, teeKeyPair } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  ({ chain, srv } = await startChainServer({ ...NO_RATE_LIMITS, kbs: { enabled: true } }));
}, 120_000);
afterAll(() => stopServer(srv));

const INIT_DATA = `version = "0.1.0"
algorithm = "sha384"

[data]
"aa.toml" = '''
[token_configs.kbs]
url = "http://tessera:8080"
'''
"policy.rego" = "package agent_policy"
`;

async function audit(action: string, subject?: string): Promise<any[]> {
  return (await srv.call('GET', `/v1/audit?action=${action}${subject ? `&subject=${subject}` : ''}`, { token: srv.adminToken })).body.entries;
}

describe('POST /kbs/v0/attest', () => {
  it('answers {token}: our EAR, verifiable through the JWKS, with exp and nbf-free validity, cnf = tee-pubkey, eat_nonce = the session nonce', async () => {
    const g = new KbsGuest(srv);
    const { attest, nonce, pubkey } = await rcar(g, chain);
    expect(attest.status, JSON.stringify(attest.body)).toBe(200);
    expect(Object.keys(attest.body)).toEqual(['token']);
    const { payload } = await jwtVerify(attest.body.token, createRemoteJWKSet(new URL(`${srv.url}/.well-known/jwks.json`)));
    expect(payload.exp! - payload.iat!).toBe(3600);
    expect(payload.eat_nonce).toBe(nonce);
    expect(payload.cnf).toEqual({ jwk: pubkey });
    const sub = (payload.submods as any)['sev-snp'];
    expect(sub['ear.status']).toBe('affirming');
    // The binding check is recorded with the attestation.
    const entries = await audit('kbs.attest');
    const mine = entries.find((e) => e.details.tokenJti === payload.jti);
    expect(mine).toMatchObject({ outcome: 'affirming', tee: 'sev-snp', details: { hashAlg: 'sha384', failedChecks: [] } });
    expect(await audit('attestation', mine.details.attestationId)).toHaveLength(1);
  });

  it('TDX evidence ({quote, cc_eventlog}) attests too', async () => {
    const { attest } = await rcar(new KbsGuest(srv), chain, { tee: 'tdx' });
    expect(attest.status, JSON.stringify(attest.body)).toBe(200);
    expect((decodeJwt(attest.body.token) as any).submods.tdx['ear.status']).toBe('affirming');
  });

  it('binds with the negotiated hash (SHA-512 for a client without SHA-384)', async () => {
    const g = new KbsGuest(srv);
    const auth = await g.auth('snp', { 'supported-hash-algorithms': ['sha512'] });
    const { pubkey } = teeKeyPair();
    const ev = snpKbsEvidence(chain, agentReportData(auth.body.nonce, pubkey, 'sha512'));
    const res = await g.call('POST', '/kbs/v0/attest', { body: attestation(auth.body.nonce, pubkey, ev) });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it('accepts P-521 and RSA tee-pubkeys, and refuses others', async () => {
    for (const kind of ['P-521', 'RSA'] as const) {
      const { attest } = await rcar(new KbsGuest(srv), chain, { kind });
      expect(attest.status, JSON.stringify(attest.body)).toBe(200);
    }
    const g = new KbsGuest(srv);
    const auth = await g.auth('snp');
    const { pubkey } = teeKeyPair();
    const bad = { ...pubkey, alg: 'ECDH-ES' };
    const res = await g.call('POST', '/kbs/v0/attest', { body: attestation(auth.body.nonce, bad, snpKbsEvidence(chain, agentReportData(auth.body.nonce, bad))) });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-tessera-code')).toBe('kbs_tee_pubkey_invalid');
  });

  it('init-data: its digest in HOST_DATA (SNP, truncated to 32) or MRCONFIGID (TDX, 48) is accepted and its data reaches the claims', async () => {
    const digest = createHash('sha384').update(INIT_DATA).digest();
    const snp = await rcar(new KbsGuest(srv), chain, { initData: INIT_DATA, snp: { hostData: digest.subarray(0, 32) } });
    expect(snp.attest.status, JSON.stringify(snp.attest.body)).toBe(200);
    const claims = (decodeJwt(snp.attest.body.token) as any).submods['sev-snp']['tessera.claims'];
    expect(claims.initData).toEqual({
      version: '0.1.0',
      algorithm: 'sha384',
      digest: digest.toString('hex'),
      data: { 'aa.toml': { token_configs: { kbs: { url: 'http://tessera:8080' } } }, 'policy.rego': 'package agent_policy' },
    });
    const tdx = await rcar(new KbsGuest(srv), chain, { tee: 'tdx', initData: INIT_DATA, tdx: { mrConfigId: digest } });
    expect(tdx.attest.status, JSON.stringify(tdx.attest.body)).toBe(200);
  });

  it('init-data the guest was not launched with is denied (kbs.init-data fails)', async () => {
    const { attest } = await rcar(new KbsGuest(srv), chain, { initData: INIT_DATA, snp: { hostData: Buffer.alloc(32, 1) } });
    expect(attest.status).toBe(401);
    expect(attest.headers.get('x-tessera-code')).toBe('attestation_denied');
    expect(attest.body.detail).toContain('kbs.init-data');
    const bad = await rcar(new KbsGuest(srv), chain, { initData: 'version = "0.1.0"\nalgorithm = "md5"\n[data]\n' });
    expect(bad.attest.headers.get('x-tessera-code')).toBe('kbs_init_data_invalid');
  });

  it('evidence bound to another tee-pubkey is denied, with the binding check named', async () => {
    const { attest } = await rcar(new KbsGuest(srv), chain, { boundTo: teeKeyPair().pubkey });
    expect(attest.status).toBe(401);
    expect(attest.body).toMatchObject({ type: kbsType('AttestationError') });
    expect(attest.body.detail).toContain('binding.report-data');
    expect(attest.headers.get('x-tessera-code')).toBe('attestation_denied');
  });

  it('refuses a replayed nonce: a second attest on the session, and the nonce of another session', async () => {
    const g = new KbsGuest(srv);
    const first = await rcar(g, chain);
    expect(first.attest.status).toBe(200);
    const again = await g.call('POST', '/kbs/v0/attest', { body: attestation(first.nonce, first.pubkey, snpKbsEvidence(chain, agentReportData(first.nonce, first.pubkey))) });
    expect(again.status).toBe(401);
    expect(again.headers.get('x-tessera-code')).toBe('kbs_nonce_used');

    // Session B presents session A's nonce (and evidence bound to it).
    const a = new KbsGuest(srv);
    const authA = await a.auth('snp');
    const b = new KbsGuest(srv);
    await b.auth('snp');
    const { pubkey } = teeKeyPair();
    const res = await b.call('POST', '/kbs/v0/attest', { body: attestation(authA.body.nonce, pubkey, snpKbsEvidence(chain, agentReportData(authA.body.nonce, pubkey))) });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-tessera-code')).toBe('kbs_nonce_mismatch');
    expect(res.body.detail).toContain('the nonce in the handshake session is different');
  });

  it('refuses an attest without a session, with an expired session, and with additional evidence', async () => {
    const none = await new KbsGuest(srv).call('POST', '/kbs/v0/attest', { body: {} });
    expect(none.status).toBe(401);
    expect(none.headers.get('x-tessera-code')).toBe('kbs_session_unknown');

    // An expired session row: its cookie is refused as if there were none (trustee: "session expired.").
    const id = newSessionId();
    const nonce = 'A'.repeat(43) + '=';
    const now = Date.now();
    await srv.service.ctx.store.kbsSessions.create({ id: sessionKey(id), nonce, tee: 'snp', state: 'auth', hashAlg: 'sha384', teePubkey: null, token: null, attestationId: null, createdAt: now - 400_000, expiresAt: now - 100_000 });
    const g = new KbsGuest(srv);
    g.cookie = `kbs-session-id=${id}`;
    const { pubkey } = teeKeyPair();
    const expired = await g.call('POST', '/kbs/v0/attest', { body: attestation(nonce, pubkey, snpKbsEvidence(chain, agentReportData(nonce, pubkey))) });
    expect(expired.status).toBe(401);
    expect(expired.headers.get('x-tessera-code')).toBe('kbs_session_unknown');

    const h = new KbsGuest(srv);
    const a2 = await h.auth('snp');
    const body = attestation(a2.body.nonce, pubkey, {});
    (body['tee-evidence'] as any).additional_evidence = '{"sampledevice":{}}';
    const extra = await h.call('POST', '/kbs/v0/attest', { body });
    expect(extra.headers.get('x-tessera-code')).toBe('kbs_additional_evidence_unsupported');
  });

  it('refuses malformed evidence and an attester-sent CRL in the KBS shape, audited as kbs.attest rejected', async () => {
    const g = new KbsGuest(srv);
    const auth = await g.auth('tdx');
    const { pubkey } = teeKeyPair();
    const res = await g.call('POST', '/kbs/v0/attest', { body: attestation(auth.body.nonce, pubkey, { quote: 'not base64!' }) });
    expect(res.status).toBe(401);
    expect(res.headers.get('x-tessera-code')).toBe('kbs_evidence_invalid');
    // Base64 of 100 zero bytes: not a quote (the verifier's format error, with its code).
    const garbage = await g.call('POST', '/kbs/v0/attest', { body: attestation(auth.body.nonce, pubkey, { quote: Buffer.alloc(100).toString('base64') }) });
    expect(garbage.status).toBe(401);
    expect(garbage.body.type).toBe(kbsType('AttestationError'));
    expect(garbage.headers.get('x-tessera-code')).toBe('intel_quote_version');

    const s = new KbsGuest(srv);
    const a = await s.auth('snp');
    const ev = snpKbsEvidence(chain, agentReportData(a.body.nonce, pubkey)) as any;
    ev.cert_chain.push({ cert_type: 'CRL', data: [1, 2, 3] });
    const crl = await s.call('POST', '/kbs/v0/attest', { body: attestation(a.body.nonce, pubkey, ev) });
    expect(crl.status).toBe(401);
    expect(crl.headers.get('x-tessera-code')).toBe('evidence_collateral_refused');
    const rejected = (await audit('kbs.attest')).filter((e) => e.outcome === 'rejected').map((e) => e.details.code);
    expect(rejected).toEqual(expect.arrayContaining(['kbs_evidence_invalid', 'evidence_collateral_refused']));
  });
});

describe('tee-pubkey validation', () => {
  it('refuses keys the agent never sends: private members, off-curve points, short or malformed RSA keys', async () => {
    const { pubkey: ec } = teeKeyPair('P-256');
    const { pubkey: rsa } = teeKeyPair('RSA');
    const flip = (b64: string) => {
      const b = Buffer.from(b64, 'base64url');
      b[31]! ^= 1;
      return b.toString('base64url');
    };
    const bad: Record<string, unknown>[] = [
      { ...ec, d: ec.x },
      { ...ec, y: flip(ec.y!) },
      { ...ec, crv: 'P-384' },
      { ...ec, x: `${ec.x}=` },
      { ...rsa, e: 'AQ' },
      { ...rsa, e: 'Ag' },
      { ...rsa, n: Buffer.from(rsa.n!, 'base64url').subarray(0, 128).toString('base64url') },
      { ...rsa, alg: 'RSA1_5' },
      { kty: 'AKP', alg: 'ML-KEM-768+A192KW', pub: 'AAAA' },
    ];
    for (const key of bad) {
      const g = new KbsGuest(srv);
      const auth = await g.auth('snp');
      const res = await g.call('POST', '/kbs/v0/attest', { body: attestation(auth.body.nonce, key as Record<string, string>, {}) });
      expect(res.status, JSON.stringify(key)).toBe(401);
      expect(res.headers.get('x-tessera-code'), JSON.stringify(key)).toBe('kbs_tee_pubkey_invalid');
    }
  });
});
