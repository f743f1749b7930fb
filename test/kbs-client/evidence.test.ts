// The agent's `tee-evidence` shapes (guest-agent/kbs/evidence.ts) held to Trustee's
// sample evidence: the e2e SNP evidence body, and the TDX quote and event log of its TDX
// verifier test.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { kbsPrimaryEvidence, KbsEvidenceError, sevAttestationReportJson } from '../../guest-agent/kbs/evidence.ts';

const FIXTURES = new URL('../fixtures/', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, FIXTURES));
const trusteeSnp = JSON.parse(read('kbs/trustee-e2e-snp-evidence.json').toString('utf8'));
const report = read('snp/genoa-v3-model-a0-trustee-e2e/report.bin');
const vcek = read('snp/genoa-v3-model-a0-trustee-e2e/vcek.der');

describe('snp: the sev crate serde form (trustee attestation-service/tests/e2e/evidence.json)', () => {
  it('the report bytes give exactly trustee\'s attestation_report, plus the sev 6.3 mitigation-vector members (null before v5)', () => {
    const json = sevAttestationReportJson(report);
    expect(json).toEqual({ ...trusteeSnp.attestation_report, launch_mit_vector: null, current_mit_vector: null });
    // Same members in the same (declaration) order, the two newer ones in their place.
    const keys = Object.keys(json).filter((k) => !k.endsWith('_mit_vector'));
    expect(keys).toEqual(Object.keys(trusteeSnp.attestation_report));
  });

  it('the certificate table becomes cert_chain [{cert_type, data}] as trustee has it', () => {
    const evidence = kbsPrimaryEvidence({ tee: 'sev-snp', report, certificates: { vcek } });
    expect(evidence['cert_chain']).toEqual(trusteeSnp.cert_chain);
    expect(kbsPrimaryEvidence({ tee: 'sev-snp', report })['cert_chain']).toBeNull();
  });

  it('a changed byte shows in its field (the comparison bites)', () => {
    const bad = Buffer.from(report);
    bad[0x50]! ^= 0xff; // REPORT_DATA[0]
    expect(sevAttestationReportJson(bad)).not.toEqual({ ...trusteeSnp.attestation_report, launch_mit_vector: null, current_mit_vector: null });
    expect((sevAttestationReportJson(bad)['report_data'] as number[])[0]).toBe(report[0x50]! ^ 0xff);
  });

  it('Turin reports carry fmc; reports the sev crate cannot express are refused with the reason', () => {
    const turin = Buffer.from(report);
    turin[0x188] = 0x1a;
    turin[0x189] = 0x02;
    expect((sevAttestationReportJson(turin)['current_tcb'] as { fmc: number }).fmc).toBe(report[0x38]);
    const unknown = Buffer.from(report);
    unknown[0x188] = 0x17;
    expect(() => sevAttestationReportJson(unknown)).toThrow(KbsEvidenceError);
    expect(() => sevAttestationReportJson(report.subarray(0, 1000))).toThrow(/1184 bytes/);
  });
});

describe('tdx: {cc_eventlog, quote} (trustee deps/verifier tdx test data)', () => {
  const quote = read('kbs/trustee-tdx-quote-4.dat');
  const ccel = gunzipSync(read('kbs/trustee-CCEL_data.gz'));

  it('both members are standard base64 of the bytes, as the attester sends them', () => {
    expect(quote.readUInt16LE(0)).toBe(4); // quote version
    expect(quote.readUInt32LE(4)).toBe(0x81); // TEE type TDX
    const evidence = kbsPrimaryEvidence({ tee: 'tdx', quote }, { ccEventlog: ccel });
    expect(Object.keys(evidence)).toEqual(['cc_eventlog', 'quote']);
    expect(Buffer.from(evidence['quote'] as string, 'base64').equals(quote)).toBe(true);
    expect(Buffer.from(evidence['cc_eventlog'] as string, 'base64').equals(ccel)).toBe(true);
    expect(evidence['quote']).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it("the provider's CCEL is the cc_eventlog", () => {
    expect(kbsPrimaryEvidence({ tee: 'tdx', quote, eventLog: ccel.subarray(0, 5756) })['cc_eventlog']).toBe(ccel.subarray(0, 5756).toString('base64'));
  });

  it('a guest without an event log sends cc_eventlog null', () => {
    expect(kbsPrimaryEvidence({ tee: 'tdx', quote })).toEqual({ cc_eventlog: null, quote: quote.toString('base64') });
  });
});
