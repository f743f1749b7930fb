// The configfs-tsm provider against a fake kernel in a temporary directory, the GHCB
// certificate table parser on good, truncated and unusual tables, and `auto`'s refusal to
// fall back to the simulator.

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { autoProvider, createProvider } from '../../guest-agent/providers/auto.ts';
import { CERT_TABLE_GUID, parseCertTable } from '../../guest-agent/providers/cert-table.ts';
import { ConfigfsTsmProvider } from '../../guest-agent/providers/configfs-tsm.ts';
import { ProviderError } from '../../guest-agent/providers/provider.ts';
import { SimulatorProvider } from '../../guest-agent/providers/simulator.ts';
import { parseReport } from '../../verifier/snp/abi/report.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { derSingle } from '../../verifier/x509/pem.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { certTable, FakeTsm } from './fake-configfs.ts';

const fixture = (p: string): Buffer => readFileSync(new URL(`../fixtures/${p}`, import.meta.url));
const REPORT_DATA = Buffer.alloc(64).fill(0x5a, 0, 32).fill(0xa5, 32);

let chain: SimulatorChain;
let root: string;
beforeAll(async () => {
  chain = await createSimulatorChain({ now: new Date('2026-03-01T00:00:00Z'), rsaBits: 2048 });
});
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'tsm-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function providerError(p: Promise<unknown>): Promise<ProviderError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProviderError);
  return err as ProviderError;
}

describe('parseCertTable', () => {
  const vcek = fixture('snp/milan-v3-gcp-oak/vcek.der');
  const ask = derSingle(fixture('snp/milan-v3-gcp-oak/ask.pem'), 'CERTIFICATE', 'ASK');
  const ark = derSingle(fixture('snp/milan-v3-gcp-oak/ark.pem'), 'CERTIFICATE', 'ARK');

  it('reads VCEK, ASK and ARK by GUID from a real chain', () => {
    const table = certTable([
      { guid: CERT_TABLE_GUID.ark, data: ark },
      { guid: CERT_TABLE_GUID.vcek, data: vcek },
      { guid: CERT_TABLE_GUID.ask, data: ask },
    ]);
    const { certificates, unknown } = parseCertTable(table);
    expect(certificates.vcek).toEqual(vcek);
    expect(certificates.ask).toEqual(ask);
    expect(certificates.ark).toEqual(ark);
    expect(unknown).toEqual([]);
  });

  it('takes the intermediate as the ASVK when the signer is a VLEK', () => {
    const vlek = fixture('snp/milan-v3-vlek-aws-trustee/vlek.der');
    const asvk = derSingle(fixture('snp/milan-v3-vlek-aws-trustee/asvk.pem'), 'CERTIFICATE', 'ASVK');
    const { certificates } = parseCertTable(certTable([{ guid: CERT_TABLE_GUID.vlek, data: vlek }, { guid: CERT_TABLE_GUID.ask, data: asvk }]));
    expect(certificates.vlek).toEqual(vlek);
    expect(certificates.asvk).toEqual(asvk);
    expect(certificates.ask).toBeUndefined();
  });

  it('keeps entries with unknown GUIDs aside without failing', () => {
    const extra = 'ecae0c0f-9502-43b1-afa2-0ae2e0d565b6'; // go-sev-guest ExtraPlatformInfoGUID
    const { certificates, unknown } = parseCertTable(certTable([{ guid: CERT_TABLE_GUID.vcek, data: vcek }, { guid: extra, data: Buffer.from('01000000000000000000', 'hex') }]));
    expect(certificates.vcek).toEqual(vcek);
    expect(unknown).toEqual([{ guid: extra, length: 10 }]);
  });

  it('reads an empty auxblob as no certificates', () => {
    expect(parseCertTable(Buffer.alloc(0))).toEqual({ certificates: {}, unknown: [] });
  });

  it('rejects a table without its terminator, entries past the end, inside the table, or repeated', () => {
    const good = certTable([{ guid: CERT_TABLE_GUID.vcek, data: vcek }]);
    expect(() => parseCertTable(good.subarray(0, 30))).toThrow(/no all-zero terminating entry \(1 entries read, 6 bytes left over\)/);
    expect(() => parseCertTable(Buffer.alloc(20, 1))).toThrow(/no all-zero terminating entry/);
    expect(() => parseCertTable(good.subarray(0, good.length - 1))).toThrow(/points past the end/);
    const inside = Buffer.from(good);
    inside.writeUInt32LE(8, 16);
    expect(() => parseCertTable(inside)).toThrow(/inside the table/);
    const twice = certTable([{ guid: CERT_TABLE_GUID.ark, data: ark }, { guid: CERT_TABLE_GUID.ark, data: ark }]);
    expect(() => parseCertTable(twice)).toThrow(/appears twice/);
    const err = (() => {
      try {
        parseCertTable(good.subarray(0, 30));
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(ProviderError);
    expect((err as ProviderError).code).toBe('provider_output');
  });
});

describe('ConfigfsTsmProvider', () => {
  it('gets a SEV-SNP report with REPORT_DATA and the auxblob certificates, and removes its entry', async () => {
    const fake = new FakeTsm(root, { provider: 'sev_guest', chain });
    const provider = new ConfigfsTsmProvider({ root, io: fake });
    expect(await provider.tee()).toBe('sev-snp');
    const evidence = await provider.getEvidence(REPORT_DATA);
    if (evidence.tee !== 'sev-snp') throw new Error('expected SEV-SNP evidence');
    expect(parseReport(evidence.report).reportData).toEqual(REPORT_DATA);
    expect(evidence.certificates).toEqual({ vcek: chain.amd.vcek, ask: chain.amd.ask, ark: chain.amd.ark });
    expect(await readdir(root)).toEqual([]);
  });

  it('returns the report alone when the host supplies no certificates', async () => {
    const provider = new ConfigfsTsmProvider({ root, io: new FakeTsm(root, { provider: 'sev_guest', chain, noAuxblob: true }) });
    const evidence = await provider.getEvidence(REPORT_DATA);
    expect(evidence).toEqual({ tee: 'sev-snp', report: expect.any(Uint8Array) });
  });

  it('gets a TDX quote from tdx_guest', async () => {
    const provider = new ConfigfsTsmProvider({ root, io: new FakeTsm(root, { provider: 'tdx_guest', chain }) });
    expect(await provider.tee()).toBe('tdx');
    const evidence = await provider.getEvidence(REPORT_DATA);
    if (evidence.tee !== 'tdx') throw new Error('expected TDX evidence');
    const q = parseIntelQuote(evidence.quote);
    expect(q.body.kind === 'td10' && q.body.report.reportData).toEqual(REPORT_DATA);
  });

  it('writes privlevel before inblob and counts it in the expected generation', async () => {
    const fake = new FakeTsm(root, { provider: 'sev_guest', chain });
    const seen: string[] = [];
    const io = { ...fake, mkdir: fake.mkdir.bind(fake), rmdir: fake.rmdir.bind(fake), readFile: fake.readFile.bind(fake), isDirectory: fake.isDirectory.bind(fake), writeFile: async (p: string, d: Uint8Array) => {
      seen.push(`${p.split('/').pop()}=${p.endsWith('privlevel') ? Buffer.from(d).toString('utf8').trim() : d.length}`);
      await fake.writeFile(p, d);
    } };
    const provider = new ConfigfsTsmProvider({ root, io, privlevel: 2 });
    await provider.getEvidence(REPORT_DATA);
    expect(seen).toEqual(['privlevel=2', 'inblob=64']);
  });

  it('detects a concurrent writer through generation, retries on a fresh entry, and fails when it persists', async () => {
    let interfere = 1;
    const once = new FakeTsm(root, {
      provider: 'sev_guest',
      chain,
      afterRead: async (attr, entry, fake) => {
        if (attr === 'outblob' && interfere-- > 0) await fake.writeFile(join(entry, 'inblob'), Buffer.alloc(64, 0xee));
      },
    });
    const evidence = await new ConfigfsTsmProvider({ root, io: once }).getEvidence(REPORT_DATA);
    if (evidence.tee !== 'sev-snp') throw new Error('expected SEV-SNP evidence');
    expect(parseReport(evidence.report).reportData).toEqual(REPORT_DATA);

    const always = new FakeTsm(root, {
      provider: 'sev_guest',
      chain,
      afterRead: async (attr, entry, fake) => {
        if (attr === 'outblob') await fake.writeFile(join(entry, 'inblob'), Buffer.alloc(64, 0xee));
      },
    });
    const err = await providerError(new ConfigfsTsmProvider({ root, io: always, attempts: 3 }).getEvidence(REPORT_DATA));
    expect(err.code).toBe('provider_busy');
    expect(err.message).toMatch(/generation 1 -> 2/);
    expect(await readdir(root)).toEqual([]);
  });

  it('says clearly when the configfs-tsm tree is missing', async () => {
    const missing = join(root, 'no', 'tsm', 'report');
    const err = await providerError(new ConfigfsTsmProvider({ root: missing }).getEvidence(REPORT_DATA));
    expect(err.code).toBe('provider_unavailable');
    expect(err.message).toContain('Linux 6.7+');
  });

  it('refuses an unknown provider and a REPORT_DATA that is not 64 bytes', async () => {
    const p = new ConfigfsTsmProvider({ root, io: new FakeTsm(root, { provider: 'arm_cca_guest', chain }) });
    expect((await providerError(p.getEvidence(REPORT_DATA))).code).toBe('provider_unsupported');
    expect((await providerError(p.getEvidence(Buffer.alloc(32)))).code).toBe('report_data_length');
  });
});

describe('provider selection', () => {
  it('auto takes configfs-tsm when it is there', async () => {
    const provider = await autoProvider({ configfsRoot: root, configfsIo: new FakeTsm(root, { provider: 'tdx_guest', chain }) });
    expect(provider.name).toBe('configfs-tsm');
    expect(await provider.tee()).toBe('tdx');
  });

  it('auto stops with a clear message instead of falling back to the simulator', async () => {
    const err = await providerError(autoProvider({ configfsRoot: join(root, 'absent') }));
    expect(err.code).toBe('provider_unavailable');
    expect(err.message).toContain('--provider simulator');
  });

  it('the simulator is only had by name, for either TEE', async () => {
    const snp = await createProvider('simulator', { simulatorDir: root });
    expect(snp).toBeInstanceOf(SimulatorProvider);
    expect(await snp.tee()).toBe('sev-snp');
    const tdx = new SimulatorProvider({ tee: 'tdx', chain });
    const evidence = await tdx.getEvidence(REPORT_DATA);
    expect(evidence.tee).toBe('tdx');
  });
});
