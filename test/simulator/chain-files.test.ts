// The simulator chain as a file shared by a development server and the agent: JSON round
// trip, strict parsing, mode 0600, reuse, re-signing of expiring collateral; and the
// simulated vendors' collateral source.

import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import { parseCertificates } from '../../verifier/x509/certificate.ts';
import { createSimulatorChain, parseSimulatorChain, serializeSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { defaultSimulatorDir, loadOrCreateSimulatorChain, SIMULATOR_CHAIN_FILE } from '../../verifier/testing/simulator-files.ts';

const NOW = new Date('2026-03-01T12:00:00Z');
const DAY = 86_400_000;

let chain: SimulatorChain;
let dir: string;
beforeAll(async () => {
  chain = await createSimulatorChain({ now: NOW, rsaBits: 2048 });
});
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sim-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function formatError(fn: () => unknown): EvidenceFormatError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(EvidenceFormatError);
    return e as EvidenceFormatError;
  }
  throw new Error('expected an EvidenceFormatError');
}

describe('serializeSimulatorChain / parseSimulatorChain', () => {
  it('round-trips every certificate, key and document', () => {
    const text = serializeSimulatorChain(chain);
    const back = parseSimulatorChain(text);
    expect(serializeSimulatorChain(back)).toBe(text);
    expect(back.amd.vcek).toEqual(chain.amd.vcek);
    expect(back.intel.tcbInfo).toBe(chain.intel.tcbInfo);
    expect(back.collateralNextUpdate).toEqual(chain.collateralNextUpdate);
  });

  it('refuses text that is not the chain, naming the field', () => {
    expect(formatError(() => parseSimulatorChain('{')).code).toBe('simulator_chain_malformed');
    const json = JSON.parse(serializeSimulatorChain(chain)) as { amd: { chipId: string } };
    json.amd.chipId = 'zz';
    expect(formatError(() => parseSimulatorChain(JSON.stringify(json))).message).toContain('"amd.chipId"');
  });

  it('refuses a private key that does not belong to its certificate', () => {
    const json = JSON.parse(serializeSimulatorChain(chain)) as { intel: { keys: { pck: string; root: string } } };
    json.intel.keys.pck = json.intel.keys.root;
    expect(formatError(() => parseSimulatorChain(JSON.stringify(json))).message).toContain('PCK private key does not match its certificate');
  });
});

describe('loadOrCreateSimulatorChain', () => {
  it('creates the chain once, mode 0600, and hands every later caller the same one', async () => {
    const sub = join(dir, 'state', 'simulator');
    const first = await loadOrCreateSimulatorChain(sub, { now: NOW, rsaBits: 2048 });
    const path = join(sub, SIMULATOR_CHAIN_FILE);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect((await stat(sub)).mode & 0o777).toBe(0o700);
    const second = await loadOrCreateSimulatorChain(sub, { now: new Date(NOW.getTime() + DAY) });
    expect(second.amd.vcek).toEqual(first.amd.vcek);
    expect(second.intel.root).toEqual(first.intel.root);
  });

  it('gives two processes that create it at the same time one and the same chain', async () => {
    const [a, b] = await Promise.all([loadOrCreateSimulatorChain(dir, { now: NOW, rsaBits: 2048 }), loadOrCreateSimulatorChain(dir, { now: NOW, rsaBits: 2048 })]);
    expect(a.amd.vcek).toEqual(b.amd.vcek);
    expect(a.intel.attestationKey.export({ format: 'der', type: 'pkcs8' })).toEqual(b.intel.attestationKey.export({ format: 'der', type: 'pkcs8' }));
    expect((await readdir(dir)).sort()).toEqual([SIMULATOR_CHAIN_FILE]);
  });

  it('re-signs collateral that is about to expire, keeping keys and certificates', async () => {
    await writeFile(join(dir, SIMULATOR_CHAIN_FILE), serializeSimulatorChain(chain), { mode: 0o600 });
    const later = new Date(chain.collateralNextUpdate.getTime() - 10 * DAY);
    const refreshed = await loadOrCreateSimulatorChain(dir, { now: later });
    expect(refreshed.collateralNextUpdate.getTime()).toBeGreaterThan(later.getTime() + 300 * DAY);
    expect(refreshed.amd.vcek).toEqual(chain.amd.vcek);
    expect(refreshed.intel.tcbInfo).not.toBe(chain.intel.tcbInfo);
    const stored = parseSimulatorChain(await readFile(join(dir, SIMULATOR_CHAIN_FILE), 'utf8'));
    expect(stored.collateralNextUpdate).toEqual(refreshed.collateralNextUpdate);
  });

  it('never replaces a file it cannot read', async () => {
    await writeFile(join(dir, SIMULATOR_CHAIN_FILE), 'not json');
    await expect(loadOrCreateSimulatorChain(dir, { now: NOW })).rejects.toMatchObject({ code: 'simulator_chain_malformed' });
    expect(await readFile(join(dir, SIMULATOR_CHAIN_FILE), 'utf8')).toBe('not json');
  });

  it('defaults to $TESSERA_SIMULATOR_DIR, else ~/.local/state/tessera/simulator', () => {
    expect(defaultSimulatorDir({ TESSERA_SIMULATOR_DIR: '/run/sim' })).toBe('/run/sim');
    expect(defaultSimulatorDir({})).toMatch(/\.local\/state\/tessera\/simulator$/);
  });
});

describe('simulator anchors and collateral source', () => {
  it('marks every anchor simulated', () => {
    const a = simulatorAnchors(chain);
    expect(a.amd.map((x) => x.simulated)).toEqual([true]);
    expect(a.intel.map((x) => x.simulated)).toEqual([true]);
  });

  it('serves the VCEK only for the simulated chip at its TCB, like KDS', async () => {
    const source = simulatorCollateralSource(chain);
    const hwId = chain.amd.chipId.toString('hex');
    const doc = await source.snpVcek({ product: 'Milan', hwId, tcb: { ...chain.amd.tcb } });
    expect(Buffer.from(doc.bytes)).toEqual(chain.amd.vcek);
    expect(doc.source).toBe('simulator');
    await expect(source.snpVcek({ product: 'Milan', hwId, tcb: { ...chain.amd.tcb, microcode: 1 } })).rejects.toBeInstanceOf(CollateralUnavailableError);
    await expect(source.snpVcek({ product: 'Genoa', hwId, tcb: { ...chain.amd.tcb } })).rejects.toBeInstanceOf(CollateralUnavailableError);
    await expect(source.snpCertChain({ product: 'Milan', signer: 'vlek' })).rejects.toMatchObject({ document: 'cert_chain' });
  });

  it('serves cert_chain as ASK then ARK, and Intel documents with their issuer chains', async () => {
    const source = simulatorCollateralSource(chain);
    const pem = Buffer.from((await source.snpCertChain({ product: 'Milan', signer: 'vcek' })).bytes).toString();
    expect(parseCertificates(pem).map((c) => c.der)).toEqual([chain.amd.ask, chain.amd.ark]);
    const tcb = await source.intelTcbInfo({ tee: 'tdx', fmspc: chain.intel.fmspc.toString('hex').toUpperCase() });
    expect(Buffer.from(tcb.bytes).toString()).toBe(chain.intel.tcbInfo);
    expect(parseCertificates(tcb.issuerChain!).map((c) => c.der)).toEqual([chain.intel.tcbSigning, chain.intel.root]);
    const crl = await source.intelPckCrl({ ca: 'platform' });
    expect(parseCertificates(crl.issuerChain!).map((c) => c.der)).toEqual([chain.intel.pckCa, chain.intel.root]);
    await expect(source.intelTcbInfo({ tee: 'tdx', fmspc: '00906ed50000' })).rejects.toMatchObject({ document: 'tcb-info' });
    await expect(source.intelQeIdentity({ tee: 'sgx' })).rejects.toBeInstanceOf(CollateralUnavailableError);
    await expect(source.intelPckCrl({ ca: 'processor' })).rejects.toBeInstanceOf(CollateralUnavailableError);
  });
});
