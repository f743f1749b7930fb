/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// Policies over HTTP: the real SEV-SNP and TDX vectors through POST /v1/policies/evaluate at
// their own time (pass and deny, explanations checked), versioning, activation, validation
// errors, reference values, and replay of stored attestations under a draft.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCase as loadSnpCase } from '../snp/cases.ts';
import { loadCase as loadIntelCase } from '../tdx/cases.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { SIMULATOR_SNP_MEASUREMENT } from '../../verifier/testing/snp-report-builder.ts';
import { snpAttestBody, startChainServer, stopServer, type TestServer } from './helpers.ts';

let srv: TestServer;
let chain: SimulatorChain;

beforeAll(async () => {
  // Offline collateral (the helper's default): the vectors carry what they need; the CRL is preferred, not required.
  ({ chain, srv } = await startChainServer());
}, 120_000);

afterAll(() => stopServer(srv));

const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');

function snpEvidence(name: string) {
  const c = loadSnpCase(name);
  const certificates: Record<string, string> = {};
  for (const [k, v] of Object.entries(c.certificates)) if (v) certificates[k] = b64(v);
  return { c, evidence: { report: b64(c.report), certificates } };
}

function intelEvidence(name: string) {
  const c = loadIntelCase('tdx', name);
  const col = c.collateral;
  return {
    c,
    evidence: {
      quote: b64(c.quote),
      collateral: {
        tcbInfo: col.tcbInfo,
        tcbInfoIssuerChain: col.tcbInfoIssuerChain,
        qeIdentity: col.qeIdentity,
        qeIdentityIssuerChain: col.qeIdentityIssuerChain,
        ...(col.pckCrl ? { pckCrl: b64(col.pckCrl) } : {}),
        ...(col.pckCrlIssuerChain ? { pckCrlIssuerChain: col.pckCrlIssuerChain } : {}),
        ...(col.rootCaCrl ? { rootCaCrl: b64(col.rootCaCrl) } : {}),
      },
    },
  };
}

const rule = (decision: any, id: string) => decision.rules.find((r: any) => r.id === id);

describe('POST /v1/policies/evaluate on the real vectors', () => {
  it('SEV-SNP Milan (GCP Oak) passes the default policy at its own time, every rule explained', async () => {
    const { c, evidence } = snpEvidence('milan-v3-gcp-oak');
    const res = await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'sev-snp', evidence, at: c.meta.valid_at } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.at).toBe(new Date(c.meta.valid_at).toISOString());
    expect(res.body.policy).toMatchObject({ name: 'default', version: 1 });
    expect(res.body.result.checks.filter((x: any) => !x.ok)).toEqual([]);
    expect(res.body.result.verified).toBe(true);
    expect(res.body.result.claims.measurement).toBe(c.meta.fields!.measurement);
    expect(res.body.decision.status).toBe('affirming');
    expect(res.body.decision.rules.filter((r: any) => !r.ok)).toEqual([]);
    expect(rule(res.body.decision, 'snp.allowDebug')).toMatchObject({ ok: true, found: false });
    expect(rule(res.body.decision, 'evidence.verified').ok).toBe(true);
  });

  it('SEV-SNP: a draft pinning another measurement denies, saying expected and found', async () => {
    const { c, evidence } = snpEvidence('milan-v3-gcp-oak');
    const other = 'ab'.repeat(48);
    const draft = `snp:\n  measurements: ["${other}"]\n`;
    const res = await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'sev-snp', evidence, at: c.meta.valid_at, policy: { draft } } });
    expect(res.status).toBe(200);
    expect(res.body.policy.version).toBeNull();
    expect(res.body.decision.status).toBe('contraindicated');
    expect(rule(res.body.decision, 'snp.measurements')).toMatchObject({ ok: false, effect: 'deny', expected: [other], found: c.meta.fields!.measurement });
  });

  it('SEV-SNP: a tampered report is reported unverified with the failing check named', async () => {
    const { c, evidence } = snpEvidence('neg-milan-report-bitflip-virtee');
    const res = await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'sev-snp', evidence, at: c.meta.valid_at } });
    expect(res.status).toBe(200);
    expect(res.body.result.verified).toBe(false);
    const failed = res.body.result.checks.filter((x: any) => !x.ok).map((x: any) => x.id);
    expect(failed).toContain('snp.report.signature');
    expect(rule(res.body.decision, 'evidence.verified')).toMatchObject({ ok: false, found: failed });
    expect(res.body.decision.status).toBe('contraindicated');
  });

  it('TDX (UpToDate platform) passes the default policy at its own time', async () => {
    const { c, evidence } = intelEvidence('phala-b0c06f-v4-uptodate');
    const res = await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'tdx', evidence, at: c.meta.verify_at } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.result.verified).toBe(true);
    expect(res.body.result.claims.tcb.status).toBe('UpToDate');
    expect(rule(res.body.decision, 'tdx.acceptedTcbStatuses')).toMatchObject({ ok: true, found: 'UpToDate' });
    expect(res.body.decision.status).toBe('affirming');
  });

  it('TDX (OutOfDate platform) is denied by the default policy, naming the status seen', async () => {
    const { c, evidence } = intelEvidence('zkdcap-00806f050000-v4-outofdate');
    const res = await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'tdx', evidence, at: c.meta.verify_at } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.result.verified).toBe(true);
    expect(rule(res.body.decision, 'tdx.acceptedTcbStatuses')).toMatchObject({ ok: false, expected: ['UpToDate'], found: 'OutOfDate' });
    expect(res.body.decision.status).toBe('contraindicated');
    // The same evidence under a draft that accepts OutOfDate with a warning.
    const draft = { tdx: { acceptedTcbStatuses: ['UpToDate', 'OutOfDate'], warnTcbStatuses: ['OutOfDate'] } };
    const warned = await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'tdx', evidence, at: c.meta.verify_at, policy: { draft } } });
    expect(warned.body.decision.status).toBe('warning');
    expect(rule(warned.body.decision, 'tdx.warnTcbStatuses')).toMatchObject({ ok: false, effect: 'warn', found: 'OutOfDate' });
  });

  it('issues nothing and records nothing', async () => {
    const before = (await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken })).body.checked;
    const { c, evidence } = snpEvidence('milan-v3-gcp-oak');
    await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'sev-snp', evidence, at: c.meta.valid_at } });
    expect((await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken })).body.checked).toBe(before);
  });
});

describe('policy versions', () => {
  const v1 = 'description: first\nsnp:\n  allowDebug: false\n';
  const v2 = 'description: second\nsnp:\n  allowDebug: false\nrules:\n  - name: vmpl-zero\n    expr: claims.snp.vmpl == 0\n';

  it('stores immutable versions with hashes, idempotently, and activates one', async () => {
    const first = await srv.call('PUT', '/v1/policies/strict', { token: srv.adminToken, raw: v1, contentType: 'application/yaml' });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({ name: 'strict', version: 1, format: 'yaml', active: false });
    expect(first.body.hash).toMatch(/^[0-9a-f]{64}$/);
    const same = await srv.call('PUT', '/v1/policies/strict', { token: srv.adminToken, raw: v1, contentType: 'application/yaml' });
    expect([same.status, same.body.version]).toEqual([200, 1]);
    const second = await srv.call('PUT', '/v1/policies/strict', { token: srv.adminToken, raw: v2, contentType: 'application/yaml' });
    expect([second.status, second.body.version]).toEqual([201, 2]);
    expect(second.body.hash).not.toBe(first.body.hash);

    const old = await srv.call('GET', '/v1/policies/strict?version=1', { token: srv.adminToken });
    expect(old.body).toMatchObject({ version: 1, source: v1, hash: first.body.hash });
    expect(old.body.versions.map((v: any) => v.version)).toEqual([2, 1]);
    const latest = await srv.call('GET', '/v1/policies/strict', { token: srv.adminToken });
    expect(latest.body.version).toBe(2);

    const json = await srv.call('PUT', '/v1/policies/from-json', { token: srv.adminToken, body: { snp: { allowDebug: false }, description: 'first' } });
    expect([json.status, json.body.format]).toEqual([201, 'json']);

    const act = await srv.call('POST', '/v1/policies/strict/activate', { token: srv.adminToken, body: { version: 1 } });
    expect(act.status).toBe(200);
    expect(act.body).toMatchObject({ name: 'strict', version: 1, active: true });
    const list = await srv.call('GET', '/v1/policies', { token: srv.adminToken });
    expect(list.body.active).toEqual({ name: 'strict', version: 1, hash: first.body.hash });
    expect(list.body.policies).toContainEqual({ name: 'strict', latestVersion: 2, activeVersion: 1 });

    // Attestations now name strict v1.
    const { body } = await snpAttestBody(srv, chain);
    const res = await srv.call('POST', '/v1/attest', { body });
    expect(res.status).toBe(200);
    const audit = await srv.call('GET', `/v1/audit?subject=${res.body.attestationId}`, { token: srv.adminToken });
    expect(audit.body.entries[0].details.policy).toEqual({ name: 'strict', version: 1, hash: first.body.hash });

    const back = await srv.call('POST', '/v1/policies/default/activate', { token: srv.adminToken });
    expect(back.body).toMatchObject({ name: 'default', version: 1, active: true });
    const actions = await srv.call('GET', '/v1/audit?action=policy.activate', { token: srv.adminToken });
    expect(actions.body.entries.map((e: any) => e.subject).slice(0, 2)).toEqual(['default', 'strict']);
  });

  it('refuses invalid policies with the path of the bad field or the CEL error, storing nothing', async () => {
    const unknownField = await srv.call('PUT', '/v1/policies/bad', { token: srv.adminToken, raw: 'snp:\n  allowDebg: true\n', contentType: 'application/yaml' });
    expect(unknownField.status).toBe(422);
    expect(unknownField.body.code).toBe('policy_invalid');
    expect(unknownField.body.issues[0].path).toContain('snp');

    const badCel = await srv.call('PUT', '/v1/policies/bad', { token: srv.adminToken, raw: 'rules:\n  - name: r\n    expr: "claims.debug =="\n', contentType: 'application/yaml' });
    expect(badCel.status).toBe(422);
    expect(badCel.body.issues[0].path).toBe('rules[0].expr');

    const badHex = await srv.call('PUT', '/v1/policies/bad', { token: srv.adminToken, body: { snp: { measurements: ['abc'] } } });
    expect([badHex.status, badHex.body.code]).toEqual([422, 'policy_invalid']);

    const mismatch = await srv.call('PUT', '/v1/policies/bad', { token: srv.adminToken, body: { name: 'other' } });
    expect(mismatch.body.issues).toEqual([{ path: 'name', message: expect.stringContaining('other') }]);

    const badYaml = await srv.call('PUT', '/v1/policies/bad', { token: srv.adminToken, raw: 'snp: [unclosed', contentType: 'application/yaml' });
    expect([badYaml.status, badYaml.body.code]).toEqual([422, 'policy_invalid']);

    const text = await srv.call('PUT', '/v1/policies/bad', { token: srv.adminToken, raw: 'snp: {}', contentType: 'text/plain' });
    expect([text.status, text.body.code]).toEqual([415, 'unsupported_media_type']);

    expect((await srv.call('GET', '/v1/policies/bad', { token: srv.adminToken })).status).toBe(404);
    const draftBad = await srv.call('POST', '/v1/policies/evaluate', {
      token: srv.adminToken,
      body: { tee: 'sev-snp', evidence: snpEvidence('milan-v3-gcp-oak').evidence, policy: { draft: { rules: [{ name: 'x', expr: 'nope(' }] } } },
    });
    expect([draftBad.status, draftBad.body.code]).toEqual([422, 'policy_invalid']);
    expect((await srv.call('POST', '/v1/policies/nope/activate', { token: srv.adminToken })).body.code).toBe('policy_not_found');
  });
});

describe('reference values', () => {
  it('are named sets that policies refer to, audited with what changed', async () => {
    const { c, evidence } = snpEvidence('milan-v3-gcp-oak');
    const m = c.meta.fields!.measurement as string;
    const put = await srv.call('PUT', '/v1/reference-values/oak', { token: srv.adminToken, body: { values: ['cd'.repeat(48)] } });
    expect(put.status).toBe(200);
    const draft = { snp: { measurements: { referenceValues: 'oak' } } };
    const denied = await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'sev-snp', evidence, at: c.meta.valid_at, policy: { draft } } });
    expect(rule(denied.body.decision, 'snp.measurements')).toMatchObject({ ok: false, found: m });

    await srv.call('PUT', '/v1/reference-values/oak', { token: srv.adminToken, body: { values: ['cd'.repeat(48), m.toUpperCase()] } });
    const got = await srv.call('GET', '/v1/reference-values/oak', { token: srv.adminToken });
    expect(got.body.values).toEqual(['cd'.repeat(48), m]);
    const allowed = await srv.call('POST', '/v1/policies/evaluate', { token: srv.adminToken, body: { tee: 'sev-snp', evidence, at: c.meta.valid_at, policy: { draft } } });
    expect(rule(allowed.body.decision, 'snp.measurements')).toMatchObject({ ok: true, found: m });

    const audit = await srv.call('GET', '/v1/audit?action=reference-values.put&subject=oak', { token: srv.adminToken });
    expect(audit.body.entries[0].details).toEqual({ count: 2, added: [m], removed: [] });
    expect((await srv.call('GET', '/v1/reference-values', { token: srv.adminToken })).body.sets).toContainEqual(expect.objectContaining({ name: 'oak', count: 2 }));
    expect((await srv.call('GET', '/v1/reference-values/none', { token: srv.adminToken })).body.code).toBe('reference_values_not_found');
    const bad = await srv.call('PUT', '/v1/reference-values/oak', { token: srv.adminToken, body: { values: ['xyz'] } });
    expect([bad.status, bad.body.code]).toEqual([400, 'request_invalid']);
  });
});

describe('POST /v1/policies/replay', () => {
  it('re-evaluates the stored attestations of a period under a draft, per rule', async () => {
    const since = new Date().toISOString();
    for (let i = 0; i < 3; i++) expect((await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain)).body })).status).toBe(200);
    const denied = await srv.call('POST', '/v1/attest', { body: (await snpAttestBody(srv, chain, { report: { policy: { debug: true } } })).body });
    expect(denied.status).toBe(403);

    const same = await srv.call('POST', '/v1/policies/replay', { token: srv.adminToken, body: { policy: { name: 'default' }, since } });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ total: 4, wouldPass: 3, wouldFail: 1, changed: 0, truncated: false });
    expect(same.body.failedRules).toEqual([{ id: 'snp.allowDebug', failures: 1, effect: 'deny' }]);

    const draft = `snp:\n  measurements: ["${'ee'.repeat(48)}"]\n  allowDebug: true\n`;
    const pinned = await srv.call('POST', '/v1/policies/replay', { token: srv.adminToken, body: { policy: { draft }, since } });
    expect(pinned.body).toMatchObject({ total: 4, wouldPass: 0, wouldFail: 4, changed: 3 });
    expect(pinned.body.failedRules).toEqual([{ id: 'snp.measurements', failures: 4, effect: 'deny' }]);
    expect(SIMULATOR_SNP_MEASUREMENT).not.toBe('ee'.repeat(48));

    const later = { since: new Date(Date.now() + 60_000).toISOString(), until: new Date(Date.now() + 120_000).toISOString() };
    const future = await srv.call('POST', '/v1/policies/replay', { token: srv.adminToken, body: { policy: { name: 'default' }, ...later } });
    expect(future.body).toMatchObject({ total: 0, wouldPass: 0, wouldFail: 0 });
    const backwards = await srv.call('POST', '/v1/policies/replay', { token: srv.adminToken, body: { policy: { name: 'default' }, since: later.until, until: later.since } });
    expect([backwards.status, backwards.body.code]).toEqual([400, 'request_invalid']);
  });
});
