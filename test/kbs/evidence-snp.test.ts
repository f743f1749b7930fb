// The `snp` evidence translation against Trustee's own sample: the serde JSON of
// attestation-service/tests/e2e/evidence.json must re-encode to exactly the report bytes whose
// signature verifies (test/fixtures/snp/genoa-v3-model-a0-trustee-e2e/report.bin, derived
// independently), and the whole evidence must verify under the production AMD roots at the
// case's time. Corrupted copies are refused or fail.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { snpEvidenceFromKbs, encodeSevReport } from '../../server/kbs/evidence/snp.ts';
import { KbsError } from '../../server/kbs/errors.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { buildSnpReport } from '../../verifier/testing/snp-report-builder.ts';
import { createSimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { sevReportJson } from './helpers.ts';

const fixture = (p: string) => new URL(`../fixtures/${p}`, import.meta.url);
const sample = JSON.parse(readFileSync(fixture('kbs/trustee-e2e-snp-evidence.json'), 'utf8'));
const reportBin = readFileSync(fixture('snp/genoa-v3-model-a0-trustee-e2e/report.bin'));
const vcekDer = readFileSync(fixture('snp/genoa-v3-model-a0-trustee-e2e/vcek.der'));
const validAt = new Date(JSON.parse(readFileSync(fixture('snp/genoa-v3-model-a0-trustee-e2e/case.json'), 'utf8')).valid_at);

describe('snp evidence (sev crate serde) -> ATTESTATION_REPORT', () => {
  it('re-encodes Trustee\'s e2e sample to the exact report bytes, and takes the VCEK from cert_chain', () => {
    const ev = snpEvidenceFromKbs(sample);
    expect(ev.tee).toBe('sev-snp');
    if (ev.tee !== 'sev-snp') return;
    expect(Buffer.from(ev.report).equals(reportBin)).toBe(true);
    expect(Buffer.from(ev.certificates!.vcek!).equals(vcekDer)).toBe(true);
  });

  it('verifies under the production AMD Genoa roots at the case time (CRL off: none is published with the sample)', async () => {
    const r = await verifyEvidence(snpEvidenceFromKbs(sample), { at: validAt, crl: 'off' });
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.verified).toBe(true);
    expect(r.claims!.measurement).toBe('6a6519d757e68c2e939c9dbbbc1828498e8de35d2766dd05f1a2cca5059d0cf4ae62a36d75c837974dd50b315506e73e');
  });

  it('a changed field re-encodes to other bytes, whose signature then fails', async () => {
    const copy = structuredClone(sample);
    copy.attestation_report.guest_svn = 1;
    const r = await verifyEvidence(snpEvidenceFromKbs(copy), { at: validAt, crl: 'off' });
    expect(r.verified).toBe(false);
    expect(r.checks.find((c) => c.id.includes('signature') && !c.ok)).toBeDefined();
  });

  it('refuses malformed shapes with kbs_evidence_invalid, naming the field', () => {
    const cases: [string, (s: any) => void][] = [ // eslint-disable-line @typescript-eslint/no-explicit-any -- mutating JSON
      ['attestation_report.measurement', (s) => s.attestation_report.measurement.pop()],
      ['attestation_report.report_data', (s) => (s.attestation_report.report_data[0] = 256)],
      ['attestation_report.current_tcb', (s) => (s.attestation_report.current_tcb = 5)],
      ['attestation_report.signature', (s) => delete s.attestation_report.signature],
      ['CPUID family', (s) => (s.attestation_report.cpuid_fam_id = 0x17)],
      ['policy', (s) => (s.attestation_report.policy = 2 ** 60)],
      ['cert_chain[0]', (s) => (s.cert_chain[0].data = 'AAAA')],
    ];
    for (const [what, mutate] of cases) {
      const copy = structuredClone(sample);
      mutate(copy);
      let caught: unknown;
      try {
        snpEvidenceFromKbs(copy);
      } catch (err) {
        caught = err;
      }
      expect(caught, what).toBeInstanceOf(KbsError);
      expect((caught as KbsError).code).toBe('kbs_evidence_invalid');
      expect((caught as KbsError).detail).toContain(what);
    }
  });

  it('round-trips simulator reports (version 3, Milan and Genoa CPUIDs) and the Turin v5 fixture', async () => {
    const chain = await createSimulatorChain({ now: new Date(), rsaBits: 2048 });
    for (const cpuid of [{ family: 0x19, model: 0x01, stepping: 1 }, { family: 0x19, model: 0x11, stepping: 1 }]) {
      const built = buildSnpReport(chain, { cpuid, reportData: Buffer.alloc(64, 7), hostData: Buffer.alloc(32, 9) });
      expect(encodeSevReport(sevReportJson(built.report)).equals(Buffer.from(built.report))).toBe(true);
    }
    // Turin: the other TCB layout (fmc first) and the version 5 mitigation vectors.
    const turin = readFileSync(fixture('snp/turin-v5-mstav/report.bin'));
    expect(encodeSevReport(sevReportJson(turin)).equals(turin)).toBe(true);
  }, 60_000);
});
