/* eslint-disable @typescript-eslint/no-explicit-any -- response bodies are JSON checked field by field */
// GET /v1/fleet and POST /v1/policies/what-if over real HTTP, on attestations made with real
// simulator evidence: three SEV-SNP chips at different TCBs (VCEKs issued for each by the
// simulated ASK), one TDX platform seen out of date then up to date, denials by policy and
// evidence that does not verify. The fleet lists each platform once with the TCB it last
// reported; the what-if names exactly the platforms a candidate TCB or a draft excludes.

import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SIMULATOR_FMSPC, withAnotherSimulatedChip, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { SIMULATOR_SNP_MEASUREMENT } from '../../verifier/testing/snp-report-builder.ts';
import { SIMULATOR_TDX_MRTD } from '../../verifier/testing/tdx-quote-builder.ts';
import { NO_RATE_LIMITS, snpAttestBody, startChainServer, stopServer, tdxAttestBody, type TestServer } from '../server/helpers.ts';

let chain: SimulatorChain;
let chainB: SimulatorChain;
let chainC: SimulatorChain;
let srv: TestServer;
let auditor: string;
const M2 = randomBytes(48);
const shortId = (chip: Buffer) => createHash('sha256').update(chip).digest('hex').slice(0, 16);
const TCB_B = { bootloader: 2, tee: 0, snp: 20, microcode: 200 };
const TCB_C = { bootloader: 7, tee: 1, snp: 24, microcode: 219 };
const ids = { A: '', B: '', C: '' };
const attestationIds: Record<string, string> = {};

async function attest(body: Record<string, unknown>, expected: 200 | 403): Promise<string> {
  const res = await srv.call('POST', '/v1/attest', { body });
  expect(res.status, JSON.stringify(res.body)).toBe(expected);
  return res.body.attestationId as string;
}

beforeAll(async () => {
  ({ chain, srv } = await startChainServer(NO_RATE_LIMITS));
  chainB = await withAnotherSimulatedChip(chain, randomBytes(64), TCB_B);
  chainC = await withAnotherSimulatedChip(chain, randomBytes(64), TCB_C);
  ids.A = shortId(chain.amd.chipId);
  ids.B = shortId(chainB.amd.chipId);
  ids.C = shortId(chainC.amd.chipId);
  auditor = (await srv.call('POST', '/v1/tokens', { token: srv.adminToken, body: { name: 'fleet-auditor', scope: 'auditor' } })).body.token;

  // Chip A: a debug guest (denied by the default policy), then two accepted.
  attestationIds.aDebug = await attest((await snpAttestBody(srv, chain, { report: { policy: { debug: true } } })).body, 403);
  await attest((await snpAttestBody(srv, chain)).body, 200);
  attestationIds.a = await attest((await snpAttestBody(srv, chain)).body, 200);
  // Chip B: an older TCB and firmware, another workload.
  attestationIds.b = await attest((await snpAttestBody(srv, chainB, { report: { measurement: M2, firmware: { major: 1, minor: 51, build: 3 } } })).body, 200);
  // Chip C: a newer TCB.
  await attest((await snpAttestBody(srv, chainC)).body, 200);
  // TDX: out of date first (denied), then up to date.
  const lowered = Buffer.from(chain.intel.teeTcbSvn);
  lowered[2] = 0;
  await attest((await tdxAttestBody(srv, chain, { quote: { teeTcbSvn: lowered } })).body, 403);
  attestationIds.tdx = await attest((await tdxAttestBody(srv, chain)).body, 200);
  // A report naming another chip but signed with chip A's VCEK: it does not verify, and names no platform.
  await attest((await snpAttestBody(srv, chain, { report: { chipId: randomBytes(64) } })).body, 403);
}, 180_000);

afterAll(() => stopServer(srv));

describe('GET /v1/fleet', () => {
  it('lists each platform once, with the TCB it last reported, when it was seen, its outcomes and workloads', async () => {
    const res = await srv.call('GET', '/v1/fleet', { token: auditor });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const f = res.body;
    expect(f.days).toBe(30);
    expect(new Date(f.until).getTime() - new Date(f.since).getTime()).toBe(30 * 86_400_000);
    expect(f.totals).toEqual({ platforms: 4, workloads: 3, attestations: 8, accepted: 5, denied: 3 });
    expect(f.unattributed).toEqual({ attestations: 1 });
    expect(f.truncated).toBe(false);
    const byId = new Map<string, any>(f.platforms.map((p: any) => [p.id, p]));
    expect(byId.size).toBe(4);
    expect([...byId.keys()]).toEqual(expect.arrayContaining([ids.A, ids.B, ids.C]));

    const a = byId.get(ids.A);
    expect(a).toMatchObject({
      vendor: 'amd',
      product: 'Milan',
      tees: ['sev-snp'],
      accepted: 2,
      denied: 1,
      snp: { chipIdMasked: false, signer: 'VCEK', reportedTcb: { bootloader: 4, tee: 0, snp: 24, microcode: 219 }, firmware: '1.55.29' },
    });
    expect(a.workloads).toEqual([{ measurement: SIMULATOR_SNP_MEASUREMENT, accepted: 2, denied: 1, firstSeen: a.firstSeen, lastSeen: a.lastSeen }]);
    expect(a.intel).toBeUndefined();
    const b = byId.get(ids.B);
    expect(b).toMatchObject({ product: 'Milan', accepted: 1, denied: 0, snp: { reportedTcb: TCB_B, firmware: '1.51.3' } });
    expect(b.workloads.map((w: any) => w.measurement)).toEqual([M2.toString('hex')]);
    expect(byId.get(ids.C).snp.reportedTcb).toEqual(TCB_C);

    const tdx = f.platforms.find((p: any) => p.vendor === 'intel');
    expect(tdx).toMatchObject({
      id: createHash('sha256').update(chain.intel.ppid).digest('hex').slice(0, 16),
      product: null,
      tees: ['tdx'],
      accepted: 1,
      denied: 1,
      // As last seen: up to date.
      intel: { fmspc: SIMULATOR_FMSPC, pceId: '0000', tcbStatus: 'UpToDate', advisoryIds: [], evaluationDataNumber: 17, pceSvn: 11, teeTcbSvn: chain.intel.teeTcbSvn.toString('hex'), qe: { status: 'UpToDate' } },
    });
    expect(tdx.intel.sgxTcbComponents).toHaveLength(16);
    expect(tdx.workloads).toHaveLength(1);
    expect(tdx.workloads[0]).toMatchObject({ measurement: SIMULATOR_TDX_MRTD, rtmr: ['00'.repeat(48), '00'.repeat(48), '00'.repeat(48), '00'.repeat(48)], accepted: 1, denied: 1 });
    // Newest last seen first: the TDX platform attested last among the attributed ones.
    expect(f.platforms[0].vendor).toBe('intel');
    expect(new Date(a.lastSeen).getTime()).toBeGreaterThanOrEqual(new Date(a.firstSeen).getTime());
    // No chip id appears in clear.
    expect(JSON.stringify(f)).not.toContain(chain.amd.chipId.toString('hex'));
    expect(JSON.stringify(f)).not.toContain(chain.intel.ppid.toString('hex'));
  });

  it('takes days, refuses a bad one with 400 request_invalid, and needs a token', async () => {
    const one = await srv.call('GET', '/v1/fleet?days=1', { token: auditor });
    expect(one.status).toBe(200);
    expect(one.body).toMatchObject({ days: 1, totals: { platforms: 4 } });
    for (const bad of ['0', 'abc', '367', '-1', '1.5']) {
      const r = await srv.call('GET', `/v1/fleet?days=${bad}`, { token: auditor });
      expect(r.status, bad).toBe(400);
      expect(r.body.code).toBe('request_invalid');
      expect(r.body.detail).toContain('days');
    }
    const none = await srv.call('GET', '/v1/fleet');
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('unauthenticated');
  });
});

describe('POST /v1/policies/what-if', () => {
  it('with a candidate SNP minimum TCB: names exactly the chip below it, with the rule, expected and found', async () => {
    const res = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { tcb: { snp: { Milan: { bootloader: 4, snp: 24 } } } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const w = res.body;
    expect(w.policy).toMatchObject({ name: 'default', version: null, basedOn: { name: 'default', version: 1 } });
    expect(w.policy.hash).not.toBe(w.policy.basedOn.hash);
    expect(w.days).toBe(30);
    expect(w.attestations).toEqual({ total: 8, refused: 4, newlyRefused: 1, unattributed: 1 });
    expect(w.platforms).toEqual({ total: 4, refused: 1, newlyRefused: 1 });
    expect(w.workloads).toEqual({ total: 3, refused: 1 });
    expect(w.refusedPlatforms).toHaveLength(1);
    const b = w.refusedPlatforms[0];
    expect(b).toMatchObject({ id: ids.B, vendor: 'amd', product: 'Milan', tees: ['sev-snp'], newlyRefused: true, snp: { reportedTcb: TCB_B } });
    expect(b.workloads).toEqual([{ measurement: M2.toString('hex'), attestationId: attestationIds.b, at: expect.any(String), recordedStatus: 'affirming' }]);
    expect(b.rules).toEqual([
      {
        id: 'snp.minTcb',
        effect: 'deny',
        detail: expect.stringContaining('REPORTED_TCB bootloader 2 < 4'),
        expected: { bootloader: 4, snp: 24 },
        found: { bootloader: 2, snp: 20, committed: { bootloader: 2, snp: 20 }, launch: { bootloader: 2, snp: 20 } },
      },
    ]);
    expect(w.refusedWorkloads).toEqual([{ measurement: M2.toString('hex'), platforms: [ids.B] }]);
    expect(w.rules.find((r: any) => r.id === 'snp.minTcb')).toEqual({ id: 'snp.minTcb', platforms: 1, workloads: 1, attestations: 1 });

    // A higher minimum also excludes chip A; chip C (bootloader 7) still passes.
    const higher = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { days: 7, tcb: { snp: { Milan: { bootloader: 5 } } } } });
    expect(higher.status).toBe(200);
    expect(higher.body.days).toBe(7);
    expect(higher.body.refusedPlatforms.map((p: any) => p.id).sort()).toEqual([ids.A, ids.B].sort());
    const a = higher.body.refusedPlatforms.find((p: any) => p.id === ids.A);
    // Chip A is judged by its newest attestation (accepted then), not by its old debug denial.
    expect(a.workloads).toEqual([expect.objectContaining({ attestationId: attestationIds.a, recordedStatus: 'affirming' })]);
    expect(a.rules.map((r: any) => r.id)).toEqual(['snp.minTcb']);
  });

  it('with a candidate Intel TCB: an evaluation data number above the platform\'s refuses the TDX platform', async () => {
    const res = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { tcb: { tdx: { minTcbEvaluationDataNumber: 18 } } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.platforms).toMatchObject({ refused: 1 });
    const p = res.body.refusedPlatforms[0];
    expect(p).toMatchObject({ vendor: 'intel', tees: ['tdx'], workloads: [{ measurement: SIMULATOR_TDX_MRTD, attestationId: attestationIds.tdx }] });
    expect(p.rules).toEqual([expect.objectContaining({ id: 'tdx.minTcbEvaluationDataNumber', expected: { min: 18 }, found: 17 })]);
    // Accepting only UpToDate refuses nothing more: the platform is up to date now.
    const upToDate = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { tcb: { tdx: { acceptedTcbStatuses: ['UpToDate'] } } } });
    expect(upToDate.body.platforms).toEqual({ total: 4, refused: 0, newlyRefused: 0 });
  });

  it('with a draft policy: refuses the other workload and the TEE the draft leaves out, each by its rule', async () => {
    const draft = `name: snp-only\ntees: [sev-snp]\nsnp:\n  measurements: ['${SIMULATOR_SNP_MEASUREMENT}']\n`;
    const res = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { policy: { draft } } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const w = res.body;
    expect(w.policy).toMatchObject({ name: 'snp-only', version: null, basedOn: null });
    expect(w.platforms).toEqual({ total: 4, refused: 2, newlyRefused: 2 });
    expect(w.workloads).toEqual({ total: 3, refused: 2 });
    const rules = Object.fromEntries(w.refusedPlatforms.map((p: any) => [p.id, p.rules.map((r: any) => r.id)]));
    const tdxId = w.refusedPlatforms.find((p: any) => p.vendor === 'intel').id;
    expect(rules).toEqual({ [ids.B]: ['snp.measurements'], [tdxId]: ['tee'] });
    const tee = w.refusedPlatforms.find((p: any) => p.vendor === 'intel').rules[0];
    expect(tee).toMatchObject({ expected: ['sev-snp'], found: 'tdx' });
    // The stored policy by name: the active default refuses nothing of the newest attestations.
    const stored = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { policy: { name: 'default' } } });
    expect(stored.status).toBe(200);
    expect(stored.body.policy).toMatchObject({ name: 'default', version: 1, basedOn: null });
    expect(stored.body.platforms.refused).toBe(0);
  });

  it('changes nothing: no policy version, and the audit log only grows by what reads append (nothing)', async () => {
    const before = await srv.call('GET', '/v1/policies', { token: auditor });
    const auditBefore = await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken });
    await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { tcb: { snp: { Milan: { bootloader: 9 } } } } });
    expect((await srv.call('GET', '/v1/policies', { token: auditor })).body).toEqual(before.body);
    expect((await srv.call('GET', '/v1/audit/verify', { token: srv.adminToken })).body.checked).toBe(auditBefore.body.checked);
  });

  it('refuses bad input with 400 request_invalid (or 422 policy_invalid for a draft), and needs a token', async () => {
    const bad: [unknown, string][] = [
      [{}, 'exactly one of tcb'],
      [{ tcb: { snp: { Milan: { bootloader: 1 } } }, policy: { name: 'default' } }, 'exactly one of tcb'],
      [{ tcb: { snp: { Milan: { bootloader: 256 } } } }, 'tcb.snp.Milan.bootloader'],
      [{ tcb: { snp: { Rome: { bootloader: 1 } } } }, 'tcb.snp'],
      [{ tcb: { snp: { Milan: {} } } }, 'tcb.snp.Milan'],
      [{ tcb: {} }, 'tcb'],
      [{ tcb: { tdx: { acceptedTcbStatuses: ['Fine'] } } }, 'tcb.tdx.acceptedTcbStatuses'],
      [{ tcb: { snp: { Milan: { bootloader: 1 } } }, days: 0 }, 'days'],
      [{ tcb: { snp: { Milan: { bootloader: 1 } } }, days: 400 }, 'days'],
      [{ tcb: { snp: { Milan: { bootloader: 1 } } }, extra: true }, 'extra'],
    ];
    for (const [body, where] of bad) {
      const r = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body });
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(r.body.code).toBe('request_invalid');
      expect(r.body.detail).toContain(where);
    }
    const notJson = await srv.call('POST', '/v1/policies/what-if', { token: auditor, raw: '{"tcb":', contentType: 'application/json' });
    expect(notJson.status).toBe(400);
    const draft = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { policy: { draft: 'snp:\n  minTcb: { bootloader: 999 }\n' } } });
    expect(draft.status).toBe(422);
    expect(draft.body.code).toBe('policy_invalid');
    expect(draft.body.issues[0].path).toBe('snp.minTcb.bootloader');
    const missing = await srv.call('POST', '/v1/policies/what-if', { token: auditor, body: { policy: { name: 'nope' } } });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('policy_not_found');
    const none = await srv.call('POST', '/v1/policies/what-if', { body: { tcb: { snp: { Milan: { bootloader: 1 } } } } });
    expect(none.status).toBe(401);
    expect(none.body.code).toBe('unauthenticated');
  });
});
