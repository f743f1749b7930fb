/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// The read side of attestations over real HTTP: GET /v1/attestations (filters, keyset pages),
// GET /v1/attestations/{id} (every check and rule as decided, claims, token id, the audit
// entry with its hash), GET /v1/attestations/stats, and the metadata lists the console's
// overview reads (GET /v1/keys, GET /v1/collateral, release counts in GET /v1/secrets).

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { SIMULATOR_SNP_MEASUREMENT } from '../../verifier/testing/snp-report-builder.ts';
import { NO_RATE_LIMITS, snpAttestBody, startChainServer, stopServer, tdxAttestBody, type TestServer } from './helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;
let auditor: string;
const ids: { snp: string[]; tdx: string[]; denied: string[] } = { snp: [], tdx: [], denied: [] };

const OTHER_MEASUREMENT = '0f'.repeat(48);

beforeAll(async () => {
  ({ chain, srv } = await startChainServer(NO_RATE_LIMITS));
  const t = await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'reader', scope: 'auditor' } });
  auditor = t.body.token;
  for (let i = 0; i < 3; i++) {
    const r = await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body });
    expect(r.status).toBe(200);
    ids.snp.push(r.body.attestationId);
  }
  const tdx = await srv.call('POST', '/v1/attest', { body: (await tdxAttestBody(srv, chain)).body });
  expect(tdx.status).toBe(200);
  ids.tdx.push(tdx.body.attestationId);
  // A policy that accepts another SNP measurement only: the next SNP attestation is denied.
  const put = await srv.call('PUT', '/v1/policies/strict', { token: srv.adminToken, body: { snp: { measurements: [OTHER_MEASUREMENT] } } });
  expect(put.status).toBe(201);
  expect((await srv.call('POST', '/v1/policies/strict/activate', { token: srv.adminToken, body: {} })).status).toBe(200);
  const denied = await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body });
  expect(denied.status).toBe(403);
  ids.denied.push(denied.body.attestationId);
}, 120_000);

afterAll(() => stopServer(srv));

describe('GET /v1/attestations', () => {
  it('lists newest first, filters by outcome, TEE, policy, subject and time', async () => {
    const all = await srv.call('GET', '/v1/attestations', { token: auditor });
    expect(all.status).toBe(200);
    expect(all.body.attestations.map((a: any) => a.id)).toEqual([...ids.denied, ...ids.tdx, ...[...ids.snp].reverse()]);
    expect(all.body.nextCursor).toBeNull();
    const first = all.body.attestations[0];
    expect(first).toMatchObject({ tee: 'sev-snp', status: 'contraindicated', policy: { name: 'strict', version: 1 }, tokenJti: null });
    const denied = await srv.call('GET', '/v1/attestations?outcome=contraindicated', { token: auditor });
    expect(denied.body.attestations.map((a: any) => a.id)).toEqual(ids.denied);
    expect((await srv.call('GET', '/v1/attestations?tee=tdx', { token: auditor })).body.attestations.map((a: any) => a.id)).toEqual(ids.tdx);
    expect((await srv.call('GET', '/v1/attestations?policy=default&tee=sev-snp', { token: auditor })).body.attestations).toHaveLength(3);
    expect((await srv.call('GET', `/v1/attestations?subject=${SIMULATOR_SNP_MEASUREMENT}`, { token: auditor })).body.attestations).toHaveLength(4);
    const jti = all.body.attestations[1].tokenJti;
    expect((await srv.call('GET', `/v1/attestations?subject=${jti}`, { token: auditor })).body.attestations.map((a: any) => a.id)).toEqual(ids.tdx);
    expect((await srv.call('GET', '/v1/attestations?to=2000-01-01T00:00:00Z', { token: auditor })).body.attestations).toEqual([]);
  });

  it('pages with an opaque cursor and refuses a forged one or a bad filter', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: any = await srv.call('GET', `/v1/attestations?limit=2${cursor ? `&cursor=${cursor}` : ''}`, { token: auditor });
      expect(page.status).toBe(200);
      seen.push(...page.body.attestations.map((a: any) => a.id));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
    expect((await srv.call('GET', '/v1/attestations?cursor=bm9wZQ', { token: auditor })).body.code).toBe('cursor_invalid');
    expect((await srv.call('GET', '/v1/attestations?outcome=fine', { token: auditor })).status).toBe(400);
    expect((await srv.call('GET', '/v1/attestations?tee=nitro', { token: auditor })).body.code).toBe('tee_unknown');
    expect((await srv.call('GET', '/v1/attestations?limit=0', { token: auditor })).status).toBe(400);
    expect((await srv.call('GET', '/v1/attestations')).status).toBe(401);
  });
});

describe('GET /v1/attestations/{id}', () => {
  it('shows a denial with the failed rule (expected and found), the checks, the claims and its audit entry', async () => {
    const r = await srv.call('GET', `/v1/attestations/${ids.denied[0]}`, { token: auditor });
    expect(r.status).toBe(200);
    expect(r.body.status).toBe('contraindicated');
    expect(r.body.appraisal.recorded).toBe(true);
    const rule = r.body.appraisal.rules.find((x: any) => x.id === 'snp.measurements');
    expect(rule).toMatchObject({ ok: false, effect: 'deny', expected: [OTHER_MEASUREMENT], found: SIMULATOR_SNP_MEASUREMENT });
    expect(r.body.result.checks.length).toBeGreaterThan(5);
    expect(r.body.result.checks.find((c: any) => c.id === 'binding.report-data')).toMatchObject({ ok: true });
    expect(r.body.result.claims.measurement).toBe(SIMULATOR_SNP_MEASUREMENT);
    expect(r.body.result).not.toHaveProperty('appraisal');
    expect(r.body.audit).toMatchObject({ action: 'attestation', outcome: 'contraindicated', details: { failedRules: ['snp.measurements'] } });
    expect(r.body.audit.hash).toMatch(/^[0-9a-f]{64}$/);
    const head = await srv.call('GET', `/v1/audit?subject=${ids.denied[0]}`, { token: auditor });
    expect(head.body.entries[0].hash).toBe(r.body.audit.hash);
  });

  it('shows an accepted one with its token id; 404 and 400 otherwise', async () => {
    const r = await srv.call('GET', `/v1/attestations/${ids.tdx[0]}`, { token: auditor });
    expect(r.body).toMatchObject({ tee: 'tdx', status: 'affirming', appraisal: { recorded: true, status: 'affirming' } });
    expect(r.body.tokenJti).toMatch(/^[0-9a-f-]{36}$/);
    expect((await srv.call('GET', '/v1/attestations/00000000-0000-4000-8000-000000000000', { token: auditor })).body.code).toBe('attestation_not_found');
    expect((await srv.call('GET', '/v1/attestations/not-an-id', { token: auditor })).status).toBe(400);
  });
});

describe('POST /v1/attestations/{id}/evaluate', () => {
  it('evaluates a draft on a stored attestation, issuing and recording nothing', async () => {
    const before = (await srv.call('GET', '/v1/audit/verify', { token: auditor })).body.checked;
    const draft = `snp:\n  measurements: ['${SIMULATOR_SNP_MEASUREMENT}']\n`;
    const r = await srv.call('POST', `/v1/attestations/${ids.denied[0]}/evaluate`, { token: auditor, body: { policy: { draft } } });
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body.attestation).toMatchObject({ id: ids.denied[0], status: 'contraindicated', policy: { name: 'strict' } });
    expect(r.body.decision.status).toBe('affirming');
    expect(r.body.decision.rules.find((x: any) => x.id === 'snp.measurements')).toMatchObject({ ok: true });
    const stored = await srv.call('POST', `/v1/attestations/${ids.snp[0]}/evaluate`, { token: auditor, body: { policy: { name: 'strict' } } });
    expect(stored.body.decision.status).toBe('contraindicated');
    expect((await srv.call('POST', `/v1/attestations/${ids.snp[0]}/evaluate`, { token: auditor, body: { policy: { draft: 'snp: [' } } })).status).toBe(422);
    expect((await srv.call('POST', '/v1/attestations/00000000-0000-4000-8000-000000000000/evaluate', { token: auditor, body: {} })).body.code).toBe('attestation_not_found');
    expect((await srv.call('GET', '/v1/audit/verify', { token: auditor })).body.checked).toBe(before);
  });
});

describe('GET /v1/attestations/stats and the overview lists', () => {
  it('counts accepted and denied per TEE and bucket, and names the denying rules', async () => {
    const r = await srv.call('GET', '/v1/attestations/stats?bucket=hour&from=' + new Date(Date.now() - 3_600_000).toISOString(), { token: auditor });
    expect(r.status).toBe(200);
    const sum = (tee: string, k: 'accepted' | 'denied') => r.body.series.filter((s: any) => s.tee === tee).reduce((n: number, s: any) => n + s[k], 0);
    expect([sum('sev-snp', 'accepted'), sum('sev-snp', 'denied'), sum('tdx', 'accepted'), sum('tdx', 'denied')]).toEqual([3, 1, 1, 0]);
    expect(r.body.denials).toEqual([{ id: 'snp.measurements', count: 1 }]);
    expect(r.body.bucketSeconds).toBe(3600);
    expect((await srv.call('GET', '/v1/attestations/stats?bucket=hour&from=2020-01-01T00:00:00Z', { token: auditor })).status).toBe(400);
  });

  it('lists signing keys, cached collateral and secret release counts as metadata', async () => {
    const keys = await srv.call('GET', '/v1/keys', { token: auditor });
    expect(keys.body.keys).toHaveLength(1);
    expect(keys.body.keys[0]).toMatchObject({ active: true, published: true, retiredAt: null });
    expect(JSON.stringify(keys.body)).not.toContain('privateKey');
    const col = await srv.call('GET', '/v1/collateral', { token: auditor });
    expect(col.status).toBe(200);
    expect(Array.isArray(col.body.documents)).toBe(true);
    expect((await srv.call('PUT', '/v1/secrets/db', { token: srv.adminToken, body: { value: 'hunter2' } })).status).toBe(201);
    const before = await srv.call('GET', '/v1/secrets', { token: srv.adminToken });
    expect(before.body.secrets.find((s: any) => s.name === 'db').releases).toEqual({ count: 0, lastAt: null });
    // The strict policy denies SNP; TDX is still accepted, and its attestation releases the secret.
    const tdx = await tdxAttestBody(srv, chain);
    const released = await srv.call('POST', '/v1/attest', { body: { ...tdx.body, release: ['db'] } });
    expect(released.status).toBe(200);
    const after = await srv.call('GET', '/v1/secrets', { token: srv.adminToken });
    expect(after.status).toBe(200);
    const db = after.body.secrets.find((s: any) => s.name === 'db');
    expect(db.releases.count).toBe(1);
    expect(Date.parse(db.releases.lastAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(JSON.stringify(after.body)).not.toContain('hunter2');
  });
});
