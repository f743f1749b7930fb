// SEV-SNP certificates from configfs-tsm (`auxblob`, the GHCB certificate table), end to
// end: the configfs-tsm provider reads them, the agent sends them, the verifier uses them
// (chained to the pinned ARK, no AMD KDS round trip). On a real Genoa tsm report from
// veraison/services, whose host put PEM certificates in the table; and on simulator
// tables that are malformed, hold a chain that does not end at the pinned ARK, or a VCEK
// for another chip.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { evidenceJson } from '../../guest-agent/client.ts';
import { CERT_TABLE_GUID, guidBytes, parseCertTable } from '../../guest-agent/providers/cert-table.ts';
import { ConfigfsTsmProvider, type ConfigfsIo } from '../../guest-agent/providers/configfs-tsm.ts';
import { ProviderError } from '../../guest-agent/providers/provider.ts';
import { toEvidence } from '../../server/evidence-input.ts';
import type { SnpCertificates } from '../../verifier/evidence.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { createSimulatorChain, withAnotherSimulatedChip, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors } from '../../verifier/testing/simulator-anchors.ts';
import { buildSnpReport } from '../../verifier/testing/snp-report-builder.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { certTable } from './fake-configfs.ts';

const FIXTURE = new URL('../fixtures/configfs-tsm/genoa-v3-veraison/', import.meta.url);
const tsm = JSON.parse(readFileSync(new URL('tsm-report.json', FIXTURE), 'utf8')) as { auxblob: string; outblob: string; provider: string };
const auxblob = Buffer.from(tsm.auxblob, 'base64url');
const outblob = Buffer.from(tsm.outblob, 'base64url');
/** Inside every certificate's validity (the VCEK from 2025-04-20), the day the vector was committed. */
const TSM_AT = new Date('2026-01-27T12:00:00Z');

/** A configfs-tsm entry that answers with the recorded blobs, as the kernel did on that host. */
class RecordedTsm implements ConfigfsIo {
  private readonly files = new Map<string, Buffer>();
  constructor(private readonly blobs: { outblob: Buffer; auxblob: Buffer; provider: string }) {}
  async mkdir(path: string) {
    this.files.set(join(path, 'provider'), Buffer.from(this.blobs.provider));
    this.files.set(join(path, 'generation'), Buffer.from('0\n'));
  }
  async rmdir(path: string) {
    for (const k of [...this.files.keys()]) if (k.startsWith(`${path}/`)) this.files.delete(k);
  }
  async isDirectory() {
    return true;
  }
  async writeFile(path: string, data: Uint8Array) {
    this.files.set(path, Buffer.from(data));
    if (path.endsWith('/inblob')) {
      const dir = path.slice(0, -'/inblob'.length);
      const gen = Number(this.files.get(join(dir, 'generation'))!.toString()) + 1;
      this.files.set(join(dir, 'generation'), Buffer.from(`${gen}\n`));
      this.files.set(join(dir, 'outblob'), this.blobs.outblob);
      this.files.set(join(dir, 'auxblob'), this.blobs.auxblob);
    }
  }
  async readFile(path: string) {
    const f = this.files.get(path);
    if (!f) throw Object.assign(new Error(`ENOENT ${path}`), { code: 'ENOENT' });
    return f;
  }
}

const failed = (r: VerificationResult) => r.checks.filter((c) => !c.ok).map((c) => c.id);

describe('a real auxblob (veraison/services sevsnp-tsm-report.json, Genoa)', () => {
  it('the table holds ARK, ASK and VCEK as PEM; they are read as DER', () => {
    const { certificates, unknown } = parseCertTable(auxblob);
    expect(unknown).toEqual([]);
    const cn = (d: Uint8Array | undefined) => new X509Certificate(d!).subject.split('\n').find((l) => l.startsWith('CN='));
    expect(cn(certificates.vcek)).toBe('CN=SEV-VCEK');
    expect(cn(certificates.ask)).toBe('CN=SEV-Genoa');
    expect(cn(certificates.ark)).toBe('CN=ARK-Genoa');
    expect(certificates.vcek![0]).toBe(0x30); // DER, not the PEM text of the table
  });

  it('the configfs-tsm provider sends them, and the report verifies with them against the pinned Genoa ARK, without KDS', async () => {
    const provider = new ConfigfsTsmProvider({ root: '/sys/kernel/config/tsm/report', io: new RecordedTsm({ ...tsm, outblob, auxblob }) });
    const evidence = await provider.getEvidence(outblob.subarray(0x50, 0x90));
    if (evidence.tee !== 'sev-snp') throw new Error('not sev-snp');
    const json = evidenceJson(evidence) as { report: string; certificates: Record<string, string> };
    expect(Object.keys(json.certificates).sort()).toEqual(['ark', 'ask', 'vcek']);
    // As the server reads the request body, with the production anchors and no collateral source at all.
    const r = await verifyEvidence(toEvidence('sev-snp', json), { at: TSM_AT, crl: 'off' });
    expect(failed(r)).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.claims?.platform).toMatchObject({ product: 'Genoa', signer: 'VCEK' });
    expect(r.claims?.measurement).toBe('7699e6ac12ccdfd1dfac70e649ce1f046cb2afbb003438f4cdddfe2ccbe182fa5ffbe8dcdb930454324e10c52c788980');
    expect(r.claims?.reportData).toBe(Buffer.from('MIDBNH28iioisjPyxxxxxxxxxxxxxxxxMIDBNH28iioisjPyxxxxxxxxxxxxxxxx').toString('hex'));
    expect(r.collateral.find((c) => c.kind === 'vcek')?.source).toBe('evidence');
  });

  it('a bit flipped in the recorded report is refused by its signature check', async () => {
    const report = Buffer.from(outblob);
    report.writeUInt8(report.readUInt8(0x90) ^ 0x01, 0x90); // MEASUREMENT
    const certificates = parseCertTable(auxblob).certificates;
    const r = await verifyEvidence({ tee: 'sev-snp', report, certificates }, { at: TSM_AT, crl: 'off' });
    expect(r.verified).toBe(false);
    expect(failed(r)).toContain('snp.report.signature');
  });
});

describe('malformed certificate tables are refused with a precise error', () => {
  let chain: SimulatorChain;
  beforeAll(async () => {
    chain = await createSimulatorChain({ now: new Date('2026-03-01T00:00:00Z'), rsaBits: 2048 });
  });
  const refusal = (blob: Uint8Array): string => {
    try {
      parseCertTable(blob);
    } catch (err) {
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).code).toBe('provider_output');
      return (err as ProviderError).message;
    }
    throw new Error('the table was accepted');
  };
  const table = () => certTable([
    { guid: CERT_TABLE_GUID.vcek, data: chain.amd.vcek },
    { guid: CERT_TABLE_GUID.ask, data: chain.amd.ask },
    { guid: CERT_TABLE_GUID.ark, data: chain.amd.ark },
  ]);

  it('overlapping entries', () => {
    const t = table();
    t.writeUInt32LE(t.readUInt32LE(16) + 8, 24 + 16); // the ASK starts inside the VCEK
    expect(refusal(t)).toMatch(new RegExp(`entries ${CERT_TABLE_GUID.vcek} \\(offset 96, length ${chain.amd.vcek.length}\\) and ${CERT_TABLE_GUID.ask} \\(offset ${96 + 8}\\) overlap`));
  });

  it('an offset or length past the end, a zero length, an entry inside the table', () => {
    const past = table();
    past.writeUInt32LE(past.length, 2 * 24 + 16);
    expect(refusal(past)).toMatch(new RegExp(`entry ${CERT_TABLE_GUID.ark} points past the end \\(offset ${past.length}, length ${chain.amd.ark.length}, table ${past.length} bytes\\)`));
    const long = table();
    long.writeUInt32LE(long.readUInt32LE(20) + long.length, 20);
    expect(refusal(long)).toMatch(/entry 63da758d-e664-4564-adc5-f4b93be8accd points past the end/);
    const empty = table();
    empty.writeUInt32LE(0, 24 + 20);
    expect(refusal(empty)).toMatch(`entry ${CERT_TABLE_GUID.ask} has length 0`);
    const inside = table();
    inside.writeUInt32LE(48, 16);
    expect(refusal(inside)).toMatch(`entry ${CERT_TABLE_GUID.vcek} starts inside the table itself (offset 48, the table ends at 96)`);
  });

  it('no terminating entry, or a table cut inside an entry', () => {
    const t = table();
    expect(refusal(t.subarray(0, 72))).toBe('The SEV-SNP certificate table (auxblob) is malformed: no all-zero terminating entry (3 entries read, 0 bytes left over).');
    expect(refusal(t.subarray(0, 60))).toBe('The SEV-SNP certificate table (auxblob) is malformed: no all-zero terminating entry (2 entries read, 12 bytes left over).');
    // The terminator overwritten: the certificates that follow are read as entries, and run out.
    const overwritten = Buffer.from(t);
    overwritten.fill(0xee, 72, 96);
    expect(refusal(overwritten)).toMatch(/no all-zero terminating entry|GUID eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee/);
  });

  it('an entry that is PEM but not one certificate', () => {
    const pem = Buffer.from('-----BEGIN CERTIFICATE-----\n!!!not base64!!!\n-----END CERTIFICATE-----\n');
    expect(refusal(certTable([{ guid: CERT_TABLE_GUID.vcek, data: pem }]))).toMatch(`entry ${CERT_TABLE_GUID.vcek} is neither a DER certificate nor one PEM CERTIFICATE block`);
  });
});

describe('certificates from the table are still judged against the pinned chain', () => {
  let chain: SimulatorChain;
  beforeAll(async () => {
    chain = await createSimulatorChain({ now: new Date('2026-03-01T00:00:00Z'), rsaBits: 2048 });
  });
  const AT = new Date('2026-03-01T12:00:00Z');
  const fromTable = (certs: { vcek: Uint8Array; ask: Uint8Array; ark: Uint8Array }): SnpCertificates =>
    parseCertTable(certTable([{ guid: CERT_TABLE_GUID.vcek, data: certs.vcek }, { guid: CERT_TABLE_GUID.ask, data: certs.ask }, { guid: CERT_TABLE_GUID.ark, data: certs.ark }])).certificates;

  it('the simulator table verifies against the simulator anchors (the control)', async () => {
    const { report } = buildSnpReport(chain, { reportData: Buffer.alloc(64, 7) });
    const r = await verifyEvidence({ tee: 'sev-snp', report, certificates: fromTable(chain.amd) }, { at: AT, anchors: simulatorAnchors(chain), crl: 'off' });
    expect(failed(r)).toEqual([]);
  });

  it('a VCEK, ASK and ARK of another root: the report signs, but the chain does not end at the pinned ARK', async () => {
    const other = await createSimulatorChain({ now: new Date('2026-03-01T00:00:00Z'), rsaBits: 2048 });
    // The report is signed by the other chain's VCEK, and the table carries that chain whole.
    const { report } = buildSnpReport(other, { reportData: Buffer.alloc(64, 7) });
    const r = await verifyEvidence({ tee: 'sev-snp', report, certificates: fromTable(other.amd) }, { at: AT, anchors: simulatorAnchors(chain), crl: 'off' });
    expect(r.verified).toBe(false);
    expect(failed(r)).toEqual(['snp.chain.ark-pinned', 'snp.chain.intermediate-signed-by-ark']);
  });

  it('a VCEK for another chip under the pinned chain is refused for this report', async () => {
    const otherChip = await withAnotherSimulatedChip(chain, Buffer.alloc(64, 0x42));
    const { report } = buildSnpReport(chain, { reportData: Buffer.alloc(64, 7) });
    const r = await verifyEvidence({ tee: 'sev-snp', report, certificates: fromTable(otherChip.amd) }, { at: AT, anchors: simulatorAnchors(chain), crl: 'off' });
    expect(r.verified).toBe(false);
    expect(failed(r)).toEqual(['snp.report.signature', 'snp.binding.hwid']);
    const hwid = r.checks.find((c) => c.id === 'snp.binding.hwid')!;
    expect(hwid.found).toBe('42'.repeat(64));
    expect(hwid.expected).toBe(chain.amd.chipId.toString('hex'));
  });

  it('guidBytes and the table builder agree with the GUIDs the spec names', () => {
    expect(guidBytes(CERT_TABLE_GUID.vcek).toString('hex')).toBe('63da758de6644564adc5f4b93be8accd');
  });
});
