// The console's pages over HTTP, without a browser: what each renders from the API for a
// signed-in session, the downloads (signed audit head, JSON Lines export), the policy diff,
// a draft evaluated on a stored attestation, and the refusals a page shows as the API said them.

import { decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { SIMULATOR_SNP_MEASUREMENT } from '../../verifier/testing/snp-report-builder.ts';
import { AUDIT_HEAD_TYP } from '../../server/audit/head.ts';
import { NO_RATE_LIMITS, snpAttestBody, startChainServer, stopServer, type TestServer } from '../server/helpers.ts';

let chain: SimulatorChain;
let srv: TestServer;
let cookie = '';
let csrf = '';
let accepted = '';

async function get(path: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(srv.url + path, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function post(path: string, form: Record<string, string | string[]>): Promise<{ status: number; text: string }> {
  const body = new URLSearchParams();
  for (const [k, v] of Object.entries(form)) for (const x of ([] as string[]).concat(v)) body.append(k, x);
  body.set('csrf', csrf);
  const res = await fetch(srv.url + path, { method: 'POST', headers: { cookie, origin: srv.url, 'content-type': 'application/x-www-form-urlencoded' }, body: body.toString(), redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

beforeAll(async () => {
  ({ chain, srv } = await startChainServer(NO_RATE_LIMITS));
  const a = await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body });
  accepted = a.body.attestationId;
  expect((await srv.call('PUT', '/v1/policies/default', { token: srv.adminToken, raw: 'description: second version\nrules:\n  - name: always\n    expr: "true"\n', contentType: 'application/yaml' })).status).toBe(201);
  const signIn = await fetch(`${srv.url}/console/sign-in`, { method: 'POST', headers: { origin: srv.url, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ token: srv.adminToken }).toString(), redirect: 'manual' });
  cookie = signIn.headers.get('set-cookie')!.split(';')[0]!;
  csrf = /name="csrf" value="([^"]+)"/.exec((await get('/console')).text)![1]!;
}, 120_000);

afterAll(() => stopServer(srv));

describe('console pages', () => {
  it('lists attestations and pages through them, and shows one with checks, rules, claims and audit hash', async () => {
    const list = await get('/console/attestations?outcome=affirming');
    expect(list.status).toBe(200);
    expect(list.text).toContain(`/console/attestations/${accepted}`);
    const detail = await get(`/console/attestations/${accepted}`);
    expect(detail.text).toContain('binding.report-data');
    expect(detail.text).toContain('snp.allowDebug');
    expect(detail.text).toContain(SIMULATOR_SNP_MEASUREMENT);
    const audit = (await srv.call('GET', `/v1/audit?subject=${accepted}`, { token: srv.adminToken })).body.entries[0];
    expect(detail.text).toContain(audit.hash);
    const missing = await get('/console/attestations/00000000-0000-4000-8000-000000000000');
    expect(missing.status).toBe(404);
    expect(missing.text).toContain('attestation_not_found');
  });

  it('diffs two policy versions line by line', async () => {
    const diff = await get('/console/policies/default/diff?from=1&to=2');
    expect(diff.status).toBe(200);
    expect(diff.text).toContain('<span class="add">+ description: second version');
    expect(diff.text).toMatch(/<span class="del">- /);
    expect((await get('/console/policies/default/diff?from=1&to=9')).text).toContain('policy_not_found');
  });

  it('evaluates a draft on a stored attestation and names the failing rule', async () => {
    const r = await post('/console/policies/evaluate', { attestation: accepted, draft: `snp:\n  measurements: ['${'0f'.repeat(48)}']\n` });
    expect(r.status).toBe(200);
    expect(r.text).toContain('would be <span class="status status-contraindicated">contraindicated</span>');
    expect(r.text).toContain('snp.measurements');
    const bad = await post('/console/policies/evaluate', { attestation: accepted, draft: 'snp: [' });
    expect(bad.status).toBe(422);
    expect(bad.text).toContain('policy_invalid');
  });

  it('downloads the signed audit head and exports a range as JSON Lines, oldest first', async () => {
    const head = await get('/console/audit/head.json');
    expect(head.status).toBe(200);
    expect(head.headers.get('content-disposition')).toMatch(/^attachment; filename="tessera-audit-head-\d+\.json"$/);
    const signed = JSON.parse(head.text);
    expect(decodeProtectedHeader(signed.signed).typ).toBe(AUDIT_HEAD_TYP);
    const page = await get('/console/audit');
    expect(page.text).toContain('Verified');
    const exported = await get('/console/audit/export.jsonl?action=policy.create');
    expect(exported.headers.get('content-type')).toContain('application/jsonl');
    const lines = exported.text.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.details.version)).toEqual([1, 2]);
    expect(lines[0].seq).toBeLessThan(lines[1].seq);
    expect((await get('/console/audit/export.jsonl?from=yesterday')).status).toBe(400);
  });

  it('shows the fleet and refuses an empty what-if before asking the API', async () => {
    const fleet = await get('/console/fleet?days=7');
    expect(fleet.status).toBe(200);
    expect(fleet.text).toContain('1 platforms');
    const empty = await post('/console/what-if', { days: '7' });
    expect(empty.status).toBe(400);
    expect(empty.text).toContain('Give a candidate minimum TCB');
    const bad = await post('/console/what-if', { days: '7', 'snp.Milan.bootloader': '300' });
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('Milan bootloader: expected an SPL from 0 to 255');
    const ok = await post('/console/what-if', { days: '7', 'tdx.acceptedTcbStatuses': ['UpToDate', 'SWHardeningNeeded'] });
    expect(ok.status).toBe(200);
    expect(ok.text).toContain('of 1 platforms');
  });

  it('lists secrets with release counts and never a value, and tokens with revoke for an admin', async () => {
    expect((await srv.call('PUT', '/v1/secrets/api-key', { token: srv.adminToken, body: { value: 'do-not-show-me' } })).status).toBe(201);
    const page = await get('/console/secrets');
    expect(page.text).toContain('api-key');
    expect(page.text).not.toContain('do-not-show-me');
    expect(page.text).toContain('Revoke token');
    expect(page.text).toContain('console:');
  });
});
