// The guest side: configfs-tsm sends the TD event log it finds at the CCEL path (injected
// here, as the configfs root is), and the simulator sends its own boot's log. End to end
// through POST /v1/attest on a real server: accepted, its events in the token; one digest
// byte flipped: denied, naming the register.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evidenceJson, ServerProblem, TesseraClient } from '../../guest-agent/client.ts';
import { ConfigfsTsmProvider } from '../../guest-agent/providers/configfs-tsm.ts';
import type { EvidenceProvider } from '../../guest-agent/providers/provider.ts';
import { SimulatorProvider } from '../../guest-agent/providers/simulator.ts';
import type { SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { SIMULATOR_KERNEL_CMDLINE, SIMULATOR_UKI_DIGEST } from '../../verifier/testing/eventlog-builder.ts';
import { parseEventLog } from '../../verifier/tdx/eventlog/abi.ts';
import { FakeTsm } from '../agent/fake-configfs.ts';
import { startChainServer, stopServer, teeKey, type TestServer } from '../server/helpers.ts';
import { CCEL_CASES } from './vectors.ts';

const REPORT_DATA = new Uint8Array(64).fill(9);
let dir: string;
let chain: SimulatorChain;
let srv: TestServer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-ccel-agent-'));
  ({ chain, srv } = await startChainServer());
}, 120_000);
afterAll(async () => {
  await stopServer(srv);
  rmSync(dir, { recursive: true, force: true });
});

async function tdxProvider(ccelPath: string): Promise<ConfigfsTsmProvider> {
  const root = join(dir, `tsm-${Math.random().toString(36).slice(2)}`);
  await mkdir(root);
  return new ConfigfsTsmProvider({ root, io: new FakeTsm(root, { provider: 'tdx_guest', chain }), ccelPath });
}

describe('configfs-tsm provider, TDX: the CCEL event log', () => {
  it('sends the log cut after its last event (the CCEL table area is mostly 0xFF padding)', async () => {
    const gcp = CCEL_CASES.find((c) => c.name === 'CCEL_data_gcp')!.log;
    const path = join(dir, 'CCEL');
    writeFileSync(path, gcp);
    const evidence = await (await tdxProvider(path)).getEvidence(REPORT_DATA);
    if (evidence.tee !== 'tdx') throw new Error('expected TDX evidence');
    const end = parseEventLog(gcp).end;
    expect(end).toBeLessThan(gcp.length / 4);
    expect(Buffer.from(evidence.eventLog!).equals(Buffer.from(gcp.subarray(0, end)))).toBe(true);
    expect(evidenceJson(evidence)).toEqual({ quote: Buffer.from(evidence.quote).toString('base64'), eventLog: Buffer.from(gcp.subarray(0, end)).toString('base64') });
  });

  it('sends no log where there is none, and a log it cannot parse whole (the verifier says what is wrong)', async () => {
    const none = await (await tdxProvider(join(dir, 'no-such-CCEL'))).getEvidence(REPORT_DATA);
    expect(none.tee === 'tdx' && none.eventLog).toBeUndefined();
    expect(Object.keys(evidenceJson(none))).toEqual(['quote']);
    const junk = join(dir, 'CCEL-junk');
    writeFileSync(junk, Buffer.alloc(40, 0x41));
    const sent = await (await tdxProvider(junk)).getEvidence(REPORT_DATA);
    expect(sent.tee === 'tdx' && Buffer.from(sent.eventLog!).equals(Buffer.alloc(40, 0x41))).toBe(true);
  });
});

/** The simulator, with one byte of one event's digest flipped after the quote was made. */
function tampered(inner: EvidenceProvider, byte: number): EvidenceProvider {
  return {
    name: 'tampered',
    tee: () => inner.tee(),
    async getEvidence(reportData) {
      const e = await inner.getEvidence(reportData);
      if (e.tee !== 'tdx' || !e.eventLog) throw new Error('expected a TDX log');
      const log = Buffer.from(e.eventLog);
      log[byte]! ^= 0x01;
      return { ...e, eventLog: log };
    },
  };
}

describe('simulator TDX evidence with its event log, through POST /v1/attest', () => {
  const client = () => new TesseraClient({ server: srv.url });

  it('is accepted, with the decoded events in the token', async () => {
    const out = await client().attest(new SimulatorProvider({ chain, tee: 'tdx' }));
    expect(out.status).toBe('affirming');
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- EAR claims, read field by field
    const claims = (decodeJwt(out.token) as any).submods.tdx['tessera.claims'];
    const log = claims.tdx.eventLog.rtmr as { type: string; digest: string; devicePath?: string; kernelCmdline?: string; measured?: boolean }[][];
    expect(log[1]!.find((e) => e.type === 'EV_EFI_BOOT_SERVICES_APPLICATION')).toMatchObject({ digest: SIMULATOR_UKI_DIGEST, devicePath: 'File(\\EFI\\BOOT\\BOOTX64.EFI)' });
    expect(log[2]).toEqual([expect.objectContaining({ type: 'EV_IPL', kernelCmdline: SIMULATOR_KERNEL_CMDLINE, measured: true })]);
    expect(log[3]![0]).toMatchObject({ aael: { domain: 'tessera.dev', operation: 'boot', content: 'simulator' } });
  });

  it('with one digest byte flipped is denied, naming the RTMR with calculated and given values', async () => {
    const sim = new SimulatorProvider({ chain, tee: 'tdx' });
    const e = await sim.getEvidence(REPORT_DATA);
    if (e.tee !== 'tdx' || !e.eventLog) throw new Error('expected a TDX log');
    // The boot application's digest (RTMR1): the 5th event; find it by its value.
    const at = Buffer.from(e.eventLog).indexOf(Buffer.from(SIMULATOR_UKI_DIGEST, 'hex')) + 17;
    const err = await client().attest(tampered(sim, at)).then(() => undefined, (x: unknown) => x);
    expect(err).toBeInstanceOf(ServerProblem);
    const p = err as ServerProblem;
    expect(p.status).toBe(403);
    expect(p.code).toBe('attestation_denied');
    const failed = p.problem['failedChecks'] as { id: string; expected: string; found: string }[];
    expect(failed.map((c) => c.id)).toEqual(['tdx.eventlog.rtmr1']);
    expect(failed[0]!.expected).not.toBe(failed[0]!.found);
  });

  it('a log that does not parse is denied with tdx.eventlog.format; eventLog with SEV-SNP evidence is refused as malformed', async () => {
    const err = (await client().attest(tampered(new SimulatorProvider({ chain, tee: 'tdx' }), 29)).then(() => undefined, (x: unknown) => x)) as ServerProblem;
    expect(err.code).toBe('attestation_denied');
    expect((err.problem['failedChecks'] as { id: string }[]).map((c) => c.id)).toEqual(['tdx.eventlog.format']);
    const ch = await srv.call('POST', '/v1/challenge', { body: { tee: 'sev-snp' } });
    const res = await srv.call('POST', '/v1/attest', { body: { challenge: ch.body.challenge, tee: 'sev-snp', evidence: { report: 'AAAA', eventLog: 'AAAA' }, teePublicKey: teeKey() } });
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('evidence_invalid');
    expect(res.body.detail).toContain('evidence.eventLog');
  });
});
