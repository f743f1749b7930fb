// Findings of the policy review (SEV-SNP ABI 56860, Intel TDX module ABI, go-sev-guest and
// go-tdx-guest validate): each test failed before its fix.
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_APPRAISAL_POLICY, evaluateAppraisalPolicy, parseAppraisalPolicy } from '../../verifier/policy/index.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { buildTdxQuote, TD_ATTRIBUTES } from '../../verifier/testing/tdx-quote-builder.ts';
import { NO_REFS, evaluate, rule, snpCase, withClaims } from './fixture-claims.ts';

const oak = snpCase('milan-v3-gcp-oak'); // Milan, VCEK, VMPL 0
const vlek = snpCase('milan-v3-vlek-aws-trustee'); // VMPL 1

const defaultPolicy = parseAppraisalPolicy(DEFAULT_APPRAISAL_POLICY);

describe('a verified result without claims', () => {
  it('is contraindicated: the always-on rules (debug, TCB status...) have nothing to read', () => {
    for (const tee of ['sev-snp', 'tdx', 'sgx'] as const) {
      const r: VerificationResult = { verified: true, tee, checks: [{ id: 'x', ok: true, detail: 'ok' }], warnings: [], collateral: [] };
      const d = evaluateAppraisalPolicy(defaultPolicy, r, NO_REFS);
      expect(d.status).toBe('contraindicated');
      expect(rule(d, 'evidence.claims')).toMatchObject({ ok: false, found: null });
      expect(d.trustworthinessVector['instance-identity']).toBe(96);
    }
  });
});

describe('SEV-SNP host-requested reports (VMPL 0xFFFFFFFF)', () => {
  // ABI 56860 rev 1.58, Table 23 at 30h: a report the host requested (SNP_HV_REPORT_REQ)
  // has VMPL 0xFFFFFFFF and a REPORT_DATA the firmware zero-fills: the guest asked for nothing.
  const hostRequested = withClaims(oak.claims, (c) => {
    c.snp.vmpl = 0xffffffff;
  });

  it('are denied by default, whatever the policy says about VMPL', () => {
    const d = evaluateAppraisalPolicy(defaultPolicy, { verified: true, tee: 'sev-snp', claims: hostRequested, checks: [], warnings: [], collateral: [] }, NO_REFS);
    expect(d.status).toBe('contraindicated');
    expect(rule(d, 'snp.vmpl')).toMatchObject({ ok: false, found: 0xffffffff });
    expect(rule(evaluate({}, hostRequested), 'snp.vmpl').ok).toBe(false);
  });

  it('guest VMPLs 0..3 pass the default; a policy list or maximum still narrows them', () => {
    expect(rule(evaluate({}, oak.claims), 'snp.vmpl')).toMatchObject({ ok: true, found: 0 });
    expect(rule(evaluate({}, vlek.claims), 'snp.vmpl')).toMatchObject({ ok: true, found: 1 });
    expect(rule(evaluate({ snp: { vmpl: [0] } }, vlek.claims), 'snp.vmpl').ok).toBe(false);
    expect(rule(evaluate({ snp: { vmpl: { max: 1 } } }, vlek.claims), 'snp.vmpl').ok).toBe(true);
  });

  it('a missing VMPL fails closed', () => {
    const none = withClaims(oak.claims, (c) => {
      delete c.snp.vmpl;
    });
    expect(rule(evaluate({}, none), 'snp.vmpl')).toMatchObject({ ok: false, found: null });
  });
});

describe('SEV-SNP minTcb: every TCB the guest ran or may run under', () => {
  // oak: REPORTED = COMMITTED = LAUNCH = { bootloader 4, tee 0, snp 24, microcode 219 }.
  it('holds COMMITTED_TCB to the minimum: provisional firmware can be rolled back to it (go-sev-guest PermitProvisionalFirmware)', () => {
    const provisional = withClaims(oak.claims, (c) => {
      (c.snp.committedTcb as Record<string, number>).snp = 20;
    });
    const r = rule(evaluate({ snp: { minTcb: { snp: 24 } } }, provisional), 'snp.minTcb');
    expect(r).toMatchObject({ ok: false, found: { snp: 24, committed: { snp: 20 } } });
    expect(r.detail).toContain('COMMITTED_TCB snp 20 < 24');
  });

  it('holds LAUNCH_TCB to the minimum: a guest launched on older firmware ran under it', () => {
    const launchedOld = withClaims(oak.claims, (c) => {
      (c.snp.launchTcb as Record<string, number>).microcode = 210;
    });
    const r = rule(evaluate({ snp: { minTcb: { microcode: 219 } } }, launchedOld), 'snp.minTcb');
    expect(r).toMatchObject({ ok: false, found: { microcode: 219, launch: { microcode: 210 } } });
    expect(r.detail).toContain('LAUNCH_TCB microcode 210 < 219');
  });

  it('passes when all three meet it, and a missing COMMITTED_TCB or LAUNCH_TCB fails closed', () => {
    expect(rule(evaluate({ snp: { minTcb: { bootloader: 4, tee: 0, snp: 24, microcode: 219 } } }, oak.claims), 'snp.minTcb').ok).toBe(true);
    for (const field of ['committedTcb', 'launchTcb']) {
      const missing = withClaims(oak.claims, (c) => {
        delete c.snp[field];
      });
      expect(rule(evaluate({ snp: { minTcb: { snp: 1 } } }, missing), 'snp.minTcb').ok).toBe(false);
    }
  });
});

describe('TDX TDATTRIBUTES beyond bit 0 (simulator-built quotes through the real verifier)', () => {
  const NOW = new Date('2025-06-01T00:00:00Z');
  let chain: SimulatorChain;
  beforeAll(async () => {
    chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  });
  async function appraise(tdAttributes: bigint, doc: unknown = DEFAULT_APPRAISAL_POLICY) {
    const { quote } = buildTdxQuote(chain, { tdAttributes });
    const r = await verifyEvidence({ tee: 'tdx', quote }, { at: NOW, anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain), crl: 'require' });
    expect(r.verified).toBe(true);
    return evaluateAppraisalPolicy(parseAppraisalPolicy(doc), r, NO_REFS);
  }

  it('the plain simulator TD (SEPT_VE_DISABLE only) is affirmed by the default policy', async () => {
    const d = await appraise(TD_ATTRIBUTES.septVeDisable);
    expect(d.status).toBe('affirming');
    expect(rule(d, 'tdx.allowMigratable')).toMatchObject({ ok: true, found: false });
  });

  it('a migratable TD (bit 29, MIGRATABLE) is denied by default, as an SNP migration agent is', async () => {
    const d = await appraise(TD_ATTRIBUTES.septVeDisable | (1n << 29n));
    expect(d.status).toBe('contraindicated');
    expect(rule(d, 'tdx.allowMigratable')).toMatchObject({ ok: false, found: true });
    const allowed = await appraise(TD_ATTRIBUTES.septVeDisable | (1n << 29n), { tdx: { allowMigratable: true } });
    expect(rule(allowed, 'tdx.allowMigratable').ok).toBe(true);
  });

  it('any bit of the TUD group (7:0, "TD under debug") makes the TD a debug TD', async () => {
    for (const bit of [1n, 4n, 7n]) {
      const d = await appraise(TD_ATTRIBUTES.septVeDisable | (1n << bit));
      expect(d.status).toBe('contraindicated');
      expect(rule(d, 'tdx.allowDebug')).toMatchObject({ ok: false, found: true });
    }
  });
});

describe('trustworthiness vector of evidence that did not verify', () => {
  it('affirms nothing: a rule that passed on unverified claims is no claim (0), not affirming (2)', () => {
    const unverified: VerificationResult = {
      verified: false,
      tee: 'sev-snp',
      claims: oak.claims,
      checks: [{ id: 'snp.report.signature', ok: false, detail: 'bad signature' }],
      warnings: [],
      collateral: [],
    };
    const d = evaluateAppraisalPolicy(parseAppraisalPolicy({ snp: { measurements: [oak.claims.measurement], vmpl: [0] } }), unverified, NO_REFS);
    expect(d.status).toBe('contraindicated');
    expect(rule(d, 'snp.measurements').ok).toBe(true);
    expect(d.trustworthinessVector).toMatchObject({ 'instance-identity': 96, hardware: 96, executables: 0, configuration: 0 });
    // A failure seen on those claims still counts.
    const debug = withClaims(oak.claims, (c) => {
      c.debug = true;
    });
    const d2 = evaluateAppraisalPolicy(defaultPolicy, { ...unverified, claims: debug }, NO_REFS);
    expect(d2.trustworthinessVector.configuration).toBe(96);
  });
});
