// Simulated evidence through the REAL verifier (verifier/verify-evidence.ts): accepted under
// the simulator's anchors and collateral, marked simulated, judged on its contents like real
// evidence, and rejected under the production anchors pinned in the code.

import { beforeAll, describe, expect, it } from 'vitest';
import { failedChecks, type VerificationResult } from '../../verifier/result.ts';
import { PRODUCTION_ANCHORS } from '../../verifier/production-anchors.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import type { VerifyOptions } from '../../verifier/evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport, SIMULATOR_SNP_MEASUREMENT } from '../../verifier/testing/snp-report-builder.ts';
import { buildTdxQuote, SIMULATOR_TDX_MRTD } from '../../verifier/testing/tdx-quote-builder.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const REPORT_DATA = Buffer.alloc(64, 0x42);

let chain: SimulatorChain;
let other: SimulatorChain;
let options: VerifyOptions;
beforeAll(async () => {
  [chain, other] = await Promise.all([createSimulatorChain({ now: NOW, rsaBits: 2048 }), createSimulatorChain({ now: NOW, rsaBits: 2048 })]);
  options = { at: NOW, anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain), crl: 'require' };
});

const failedIds = (r: Pick<VerificationResult, 'checks'>): string[] => failedChecks(r).map((c) => c.id);

describe('simulated SEV-SNP evidence', () => {
  it('verifies with the certificates it carries, marked simulated', async () => {
    const { report, certificates } = buildSnpReport(chain, { reportData: REPORT_DATA });
    const r = await verifyEvidence({ tee: 'sev-snp', report, certificates }, options);
    expect(failedIds(r)).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.claims).toMatchObject({ tee: 'sev-snp', simulated: true, measurement: SIMULATOR_SNP_MEASUREMENT, reportData: REPORT_DATA.toString('hex'), debug: false });
    expect(r.claims?.platform).toMatchObject({ product: 'Milan', signer: 'VCEK', chipId: chain.amd.chipId.toString('hex') });
    expect(r.warnings.join(' ')).toMatch(/SIMULATED/);
  });

  it('verifies with the VCEK, chain and CRL from the simulated KDS when the evidence carries none', async () => {
    const { report } = buildSnpReport(chain, { reportData: REPORT_DATA });
    const r = await verifyEvidence({ tee: 'sev-snp', report }, options);
    expect(r.verified).toBe(true);
    expect(r.collateral.filter((c) => c.source === 'simulator').map((c) => c.kind).sort()).toEqual(['crl', 'vcek']);
  });

  it('carries the configured guest into the claims (debug policy, guest SVN, host data)', async () => {
    const hostData = Buffer.alloc(32, 0x11);
    const { report, certificates } = buildSnpReport(chain, { reportData: REPORT_DATA, policy: { debug: true }, guestSvn: 3, hostData, vmpl: 0 });
    const r = await verifyEvidence({ tee: 'sev-snp', report, certificates }, options);
    expect(r.verified).toBe(true);
    expect(r.claims?.debug).toBe(true);
    expect(JSON.stringify(r.claims?.snp)).toContain(hostData.toString('hex'));
  });

  it('fails a report whose REPORTED_TCB is not the VCEK\'s, and one altered after signing', async () => {
    const { report, certificates } = buildSnpReport(chain, { reportData: REPORT_DATA, reportedTcb: { bootloader: 4, tee: 0, snp: 25, microcode: 219 } });
    const r = await verifyEvidence({ tee: 'sev-snp', report, certificates }, options);
    expect(r.verified).toBe(false);
    expect(failedIds(r).join(' ')).toMatch(/tcb/);
    const good = buildSnpReport(chain, { reportData: REPORT_DATA });
    const altered = Buffer.from(good.report);
    altered[0x90]! ^= 0x80; // MEASUREMENT
    const r2 = await verifyEvidence({ tee: 'sev-snp', report: altered, certificates: good.certificates }, options);
    expect(r2.verified).toBe(false);
    expect(failedIds(r2).join(' ')).toMatch(/signature/);
  });

  it('is rejected under the production anchors, and under another simulator\'s anchors', async () => {
    const { report, certificates } = buildSnpReport(chain, { reportData: REPORT_DATA });
    const prod = await verifyEvidence({ tee: 'sev-snp', report, certificates }, { at: NOW, anchors: PRODUCTION_ANCHORS, crl: 'off' });
    expect(prod.verified).toBe(false);
    expect(failedIds(prod)).toContain('snp.chain.ark-pinned');
    expect(prod.claims?.simulated).toBeUndefined();
    const foreign = await verifyEvidence({ tee: 'sev-snp', report, certificates }, { ...options, anchors: simulatorAnchors(other), collateral: simulatorCollateralSource(other) });
    expect(foreign.verified).toBe(false);
  });
});

describe('simulated TDX evidence', () => {
  it('verifies with the simulated PCS collateral: UpToDate, marked simulated', async () => {
    const rtmr: [Buffer, Buffer, Buffer, Buffer] = [Buffer.alloc(48, 1), Buffer.alloc(48, 2), Buffer.alloc(48, 3), Buffer.alloc(48, 4)];
    const { quote } = buildTdxQuote(chain, { reportData: REPORT_DATA, rtmr });
    const r = await verifyEvidence({ tee: 'tdx', quote }, options);
    expect(failedIds(r)).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.tcb?.status).toBe('UpToDate');
    expect(r.claims).toMatchObject({ tee: 'tdx', simulated: true, measurement: SIMULATOR_TDX_MRTD, reportData: REPORT_DATA.toString('hex'), debug: false });
    expect(r.claims?.tdx?.['rtmr']).toEqual(rtmr.map((b) => b.toString('hex')));
    expect(r.claims?.platform.fmspc).toBe(chain.intel.fmspc.toString('hex'));
  });

  it('rates a lowered TEE_TCB_SVN component OutOfDate with the simulated advisory, and reports DEBUG', async () => {
    const teeTcbSvn = Buffer.from(chain.intel.teeTcbSvn);
    teeTcbSvn[2] = 0; // below the UpToDate level's TDX component 2
    const { quote } = buildTdxQuote(chain, { reportData: REPORT_DATA, teeTcbSvn, debug: true });
    const r = await verifyEvidence({ tee: 'tdx', quote }, options);
    expect(r.tcb).toMatchObject({ status: 'OutOfDate', advisoryIds: ['SIMULATED-SA-00001'] });
    expect(r.claims?.debug).toBe(true);
  });

  it('fails a quote altered after signing', async () => {
    const altered = Buffer.from(buildTdxQuote(chain, { reportData: REPORT_DATA }).quote);
    altered[48 + 136]! ^= 1; // MRTD
    const r = await verifyEvidence({ tee: 'tdx', quote: altered }, options);
    expect(r.verified).toBe(false);
    expect(failedIds(r).join(' ')).toMatch(/signature/);
  });

  it('is rejected under the production anchors', async () => {
    const { quote } = buildTdxQuote(chain, { reportData: REPORT_DATA });
    const r = await verifyEvidence({ tee: 'tdx', quote }, { at: NOW, anchors: PRODUCTION_ANCHORS, collateral: simulatorCollateralSource(chain), crl: 'off' });
    expect(r.verified).toBe(false);
    expect(failedIds(r)).toContain('tdx.pck.chain');
    expect(r.claims?.simulated).toBeUndefined();
  });

  it('fails once the simulated collateral has expired (loadOrCreateSimulatorChain re-signs it)', async () => {
    const { quote } = buildTdxQuote(chain, { reportData: REPORT_DATA });
    const late = new Date(chain.collateralNextUpdate.getTime() + 1000);
    const r = await verifyEvidence({ tee: 'tdx', quote }, { ...options, at: late });
    expect(r.verified).toBe(false);
  });
});
