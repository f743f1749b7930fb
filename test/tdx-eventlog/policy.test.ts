// tdx.eventLog policy rules on results of real verifications: a simulator quote whose RTMRs
// are the replay of the log beside it (the simulator's own boot, and trustee's Alibaba
// Cloud log with its GRUB kernel command line).
import { createHash } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { evaluateAppraisalPolicy, parseAppraisalPolicy, PolicyValidationError, type PolicyContext } from '../../verifier/policy/index.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import type { VerifyOptions } from '../../verifier/evidence.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { buildTdxQuote } from '../../verifier/testing/tdx-quote-builder.ts';
import { buildEventLog, replayLogEvents, SIMULATOR_KERNEL_CMDLINE, SIMULATOR_UKI_DIGEST, simulatorBootEvents, simulatorEventLog } from '../../verifier/testing/eventlog-builder.ts';
import { EV } from '../../verifier/tdx/eventlog/event-types.ts';
import { parseEventLog } from '../../verifier/tdx/eventlog/abi.ts';
import { replayRtmrs } from '../../verifier/tdx/eventlog/replay.ts';
import { CCEL_CASES } from './vectors.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
let chain: SimulatorChain;
let options: VerifyOptions;
let sim: VerificationResult;
let noLog: VerificationResult;
let alibaba: VerificationResult;

async function verifyWith(eventLog: Uint8Array | undefined, rtmr: Uint8Array[]): Promise<VerificationResult> {
  const { quote } = buildTdxQuote(chain, { reportData: Buffer.alloc(64, 1), rtmr: rtmr as [Uint8Array, Uint8Array, Uint8Array, Uint8Array] });
  const r = await verifyEvidence({ tee: 'tdx', quote, ...(eventLog ? { eventLog } : {}) }, options);
  if (!r.verified) throw new Error(`did not verify: ${JSON.stringify(r.checks.filter((c) => !c.ok))}`);
  return r;
}

beforeAll(async () => {
  chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
  options = { at: NOW, anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain), crl: 'require' };
  const s = simulatorEventLog();
  sim = await verifyWith(s.eventLog, s.rtmr);
  noLog = await verifyWith(undefined, s.rtmr);
  const ali = CCEL_CASES.find((c) => c.name === 'CCEL_AAEL_alibabacloud')!.log;
  alibaba = await verifyWith(ali, replayRtmrs(parseEventLog(ali)));
});

const REFS: PolicyContext = { referenceValues: { ukis: [SIMULATOR_UKI_DIGEST], empty: [] } };
function ruleOf(eventLog: Record<string, unknown>, result: VerificationResult, id: string, ctx: PolicyContext = REFS) {
  const d = evaluateAppraisalPolicy(parseAppraisalPolicy({ tdx: { eventLog } }), result, ctx);
  const r = d.rules.find((x) => x.id === id);
  if (!r) throw new Error(`no rule ${id}`);
  return { ...r, status: d.status, vector: d.trustworthinessVector };
}

describe('tdx.eventLog.required', () => {
  it('passes with a replayed log, fails without one', () => {
    expect(ruleOf({ required: true }, sim, 'tdx.eventLog.required')).toMatchObject({ ok: true, status: 'affirming' });
    expect(ruleOf({ required: true }, noLog, 'tdx.eventLog.required')).toMatchObject({ ok: false, expected: true, found: false, status: 'contraindicated' });
    expect(ruleOf({ required: false }, noLog, 'tdx.eventLog.required')).toMatchObject({ ok: true });
  });
  it('an absent log is not an error when the policy does not ask for one', () => {
    const d = evaluateAppraisalPolicy(parseAppraisalPolicy({ tdx: {} }), noLog, REFS);
    expect(d.status).toBe('affirming');
    expect(d.rules.some((r) => r.id.startsWith('tdx.eventLog'))).toBe(false);
  });
});

describe('tdx.eventLog.kernelCmdline', () => {
  const id = 'tdx.eventLog.kernelCmdline';
  it('exact match', () => {
    expect(ruleOf({ kernelCmdline: SIMULATOR_KERNEL_CMDLINE }, sim, id)).toMatchObject({ ok: true, found: SIMULATOR_KERNEL_CMDLINE });
    expect(ruleOf({ kernelCmdline: 'console=hvc0 root=/dev/vda1 rw' }, sim, id)).toMatchObject({ ok: false, expected: 'console=hvc0 root=/dev/vda1 rw', found: SIMULATOR_KERNEL_CMDLINE, status: 'contraindicated' });
  });
  it('a regex must match the whole command line', () => {
    expect(ruleOf({ kernelCmdline: { regex: 'console=hvc0 .*' } }, sim, id)).toMatchObject({ ok: true });
    expect(ruleOf({ kernelCmdline: { regex: 'console=hvc0' } }, sim, id)).toMatchObject({ ok: false, expected: { regex: 'console=hvc0' } });
    expect(ruleOf({ kernelCmdline: { regex: '\\S+/vmlinuz-5\\.10\\.134-19\\.1\\.al8\\.x86_64 .* spec_rstack_overflow=off .*' } }, alibaba, id)).toMatchObject({ ok: true });
  });
  it('fails without a log, or a log without a command line (GKE boots a UKI: its command line is a PE section)', async () => {
    expect(ruleOf({ kernelCmdline: 'x' }, noLog, id)).toMatchObject({ ok: false, found: null });
    const gke = CCEL_CASES.find((c) => c.name === 'CCEL_data_grub_gke')!.log;
    const r = ruleOf({ kernelCmdline: { regex: '.*' } }, await verifyWith(gke, replayRtmrs(parseEventLog(gke))), id);
    expect(r).toMatchObject({ ok: false, found: null });
    expect(r.detail).toMatch(/holds no kernel command line/);
  });
  it('a command line whose text does not hash to its digest proves nothing', async () => {
    const events = simulatorBootEvents().map((e) => (e.type === EV.IPL ? { ...e, digest: createHash('sha384').update('console=hvc0 init=/bin/sh').digest() } : e));
    const forged = await verifyWith(buildEventLog(events), replayLogEvents(events));
    expect(ruleOf({ kernelCmdline: SIMULATOR_KERNEL_CMDLINE }, forged, id)).toMatchObject({ ok: false, found: SIMULATOR_KERNEL_CMDLINE });
    expect(ruleOf({ kernelCmdline: SIMULATOR_KERNEL_CMDLINE }, forged, id).detail).toMatch(/does not hash/);
  });
});

describe('tdx.eventLog.bootAppDigests', () => {
  const id = 'tdx.eventLog.bootAppDigests';
  it('inline list and reference-value set', () => {
    expect(ruleOf({ bootAppDigests: [SIMULATOR_UKI_DIGEST] }, sim, id)).toMatchObject({ ok: true, found: [{ digest: SIMULATOR_UKI_DIGEST, devicePath: 'File(\\EFI\\BOOT\\BOOTX64.EFI)' }] });
    expect(ruleOf({ bootAppDigests: { referenceValues: 'ukis' } }, sim, id)).toMatchObject({ ok: true, expected: { referenceValues: 'ukis' } });
  });
  it('a boot application outside the set is named, with its path', () => {
    const r = ruleOf({ bootAppDigests: ['ab'.repeat(48)] }, sim, id);
    expect(r).toMatchObject({ ok: false, found: [{ digest: SIMULATOR_UKI_DIGEST, devicePath: 'File(\\EFI\\BOOT\\BOOTX64.EFI)' }], status: 'contraindicated' });
    expect(r.detail).toContain('File(\\EFI\\BOOT\\BOOTX64.EFI)');
    expect(r.vector.executables).toBe(96);
    // Alibaba: shim and GRUB; only shim allowed -> GRUB is named.
    const apps = (alibaba.claims!.tdx!.eventLog as { rtmr: { type: string; digest: string }[][] }).rtmr[1]!.filter((e) => e.type === 'EV_EFI_BOOT_SERVICES_APPLICATION');
    expect(apps).toHaveLength(2);
    const onlyShim = ruleOf({ bootAppDigests: [apps[0]!.digest] }, alibaba, id);
    expect(onlyShim).toMatchObject({ ok: false, found: [{ digest: apps[1]!.digest, devicePath: 'File(\\EFI\\alinux\\grubx64.efi)' }] });
    expect(ruleOf({ bootAppDigests: apps.map((a) => a.digest) }, alibaba, id)).toMatchObject({ ok: true });
  });
  it('fails closed: a missing or empty set, no log, no boot application', async () => {
    expect(ruleOf({ bootAppDigests: { referenceValues: 'nope' } }, sim, id)).toMatchObject({ ok: false });
    expect(ruleOf({ bootAppDigests: { referenceValues: 'empty' } }, sim, id).detail).toMatch(/empty/);
    expect(ruleOf({ bootAppDigests: [SIMULATOR_UKI_DIGEST] }, noLog, id)).toMatchObject({ ok: false, found: null });
    const events = simulatorBootEvents().filter((e) => e.type !== EV.EFI_BOOT_SERVICES_APPLICATION);
    const none = await verifyWith(buildEventLog(events), replayLogEvents(events));
    expect(ruleOf({ bootAppDigests: [SIMULATOR_UKI_DIGEST] }, none, id)).toMatchObject({ ok: false, found: [] });
  });
});

describe('tdx.eventLog schema', () => {
  it('refuses a bad regex, a misspelt field and a short digest, at their paths', () => {
    const issues = (doc: unknown) => {
      try {
        parseAppraisalPolicy(doc);
      } catch (e) {
        if (e instanceof PolicyValidationError) return e.issues.map((i) => i.path);
      }
      return [];
    };
    expect(issues({ tdx: { eventLog: { kernelCmdline: { regex: '(' } } } })).toEqual(['tdx.eventLog.kernelCmdline.regex']);
    expect(issues({ tdx: { eventLog: { kernelCmdLine: 'x' } } })).toEqual(['tdx.eventLog.kernelCmdLine']);
    expect(issues({ tdx: { eventLog: { bootAppDigests: ['abcd'] } } })[0]).toMatch(/^tdx\.eventLog\.bootAppDigests/);
  });
});
