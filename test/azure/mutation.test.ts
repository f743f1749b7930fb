// The mutation sweep of issue 13 "Done means" on the real trustee vectors: every byte of the
// TPM quote message (TPMS_ATTEST), of its signature and of the HCL runtime data (with the
// request-data header in front of it), flipped one at a time, is refused, and by the check
// that owns that byte: the field layout of the message is read from the vector itself, so
// each byte's expected check follows from TPM 2.0 Part 2 (TPMS_ATTEST, TPMS_QUOTE_INFO).
// The hardware report is never touched, so its checks (snp.*, tdx.*) must all still pass.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HCL_REQUEST_DATA_OFFSET, HCL_RUNTIME_DATA_OFFSET } from '../../verifier/azure/abi/hcl-report.ts';
import { azureEvidenceFromJson } from '../../verifier/azure/evidence-json.ts';
import type { AzureEvidence, VerifyOptions } from '../../verifier/evidence.ts';
import { failedChecks } from '../../verifier/result.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { readIntelCollateralDir } from '../../server/cli/verify-intel.ts';

const fixture = (tee: 'snp' | 'tdx', f: string): string => new URL(`../fixtures/az-${tee}-vtpm/trustee/${f}`, import.meta.url).pathname;
const snpCase = JSON.parse(readFileSync(fixture('snp', 'case.json'), 'utf8')) as { valid_at: string; cases: Record<string, { expected_nonce_hex: string }> };
const TDX_COLLATERAL_DIR = new URL('../fixtures/tdx/zkdcap-00806f050000-v4-outofdate/', import.meta.url).pathname;
const TDX_AT = (JSON.parse(readFileSync(`${TDX_COLLATERAL_DIR}case.json`, 'utf8')) as { verify_at: string }).verify_at;

interface Vector {
  name: string;
  evidence: AzureEvidence;
  options: VerifyOptions;
  /** The vector is agent evidence v2: the runtime data's user-data is compared with the nonce. */
  userData: boolean;
}

const snpVector = (f: string): Vector => ({
  name: `az-snp-vtpm ${f}`,
  evidence: azureEvidenceFromJson('az-snp-vtpm', JSON.parse(readFileSync(fixture('snp', f), 'utf8'))),
  options: { at: new Date(snpCase.valid_at), nonce: Buffer.from(snpCase.cases[f]!.expected_nonce_hex, 'hex') },
  userData: f === 'evidence-v2.json',
});
const tdxVector = (): Vector => {
  const evidence = azureEvidenceFromJson('az-tdx-vtpm', JSON.parse(readFileSync(fixture('tdx', 'evidence-v1.json'), 'utf8')));
  if (evidence.tee === 'az-tdx-vtpm') evidence.collateral = readIntelCollateralDir(TDX_COLLATERAL_DIR);
  return { name: 'az-tdx-vtpm evidence-v1.json', evidence, options: { at: new Date(TDX_AT), nonce: Buffer.from('challenge') }, userData: false };
};
const VECTORS = [snpVector('evidence-v2.json'), snpVector('evidence-v0.json'), tdxVector()];

/** The failed check ids and whether the hardware report's own checks all passed. */
async function verdict(v: Vector, evidence: AzureEvidence): Promise<{ verified: boolean; failed: string[] }> {
  const r = await verifyEvidence(evidence, v.options);
  return { verified: r.verified, failed: failedChecks(r).map((c) => c.id) };
}

const flipped = (bytes: Uint8Array, i: number, mask: number): Uint8Array => {
  const copy = Uint8Array.from(bytes);
  copy[i]! ^= mask;
  return copy;
};

type Field = { from: number; to: number; name: string; expect: string[] };

/**
 * The TPMS_ATTEST of `message` cut into its fields, each with the checks a flipped byte in it
 * fails (besides tpm.quote.signature, which every byte fails): sizes, magic, type, the hash
 * algorithm and sizeofSelect break the structure; extraData is the nonce; the pcrSelect bitmap
 * the selection; the pcrDigest the digest; qualifiedSigner, clockInfo and firmwareVersion are
 * signed but judged by nothing else (flipping bit 0 keeps clockInfo.safe a TPMI_YES_NO).
 */
function attestFields(m: Uint8Array): Field[] {
  const b = Buffer.from(m);
  const fields: Field[] = [];
  let at = 0;
  const add = (n: number, name: string, expect: string[]): void => {
    fields.push({ from: at, to: at + n, name, expect });
    at += n;
  };
  const structure = ['tpm.quote.structure'];
  add(4, 'magic', structure);
  add(2, 'type', structure);
  const signer = b.readUInt16BE(at);
  add(2, 'qualifiedSigner.size', structure);
  add(signer, 'qualifiedSigner', []);
  const extra = b.readUInt16BE(at);
  add(2, 'extraData.size', structure);
  add(extra, 'extraData', ['tpm.quote.nonce']);
  add(8 + 4 + 4 + 1 + 8, 'clockInfo, firmwareVersion', []);
  const count = b.readUInt32BE(at);
  expect(count).toBe(1);
  add(4, 'pcrSelect.count', structure);
  add(2, 'pcrSelections[0].hash', structure);
  const sizeofSelect = b[at]!;
  add(1, 'pcrSelections[0].sizeofSelect', structure);
  add(sizeofSelect, 'pcrSelections[0].pcrSelect', ['tpm.quote.pcr-selection']);
  const digest = b.readUInt16BE(at);
  add(2, 'pcrDigest.size', structure);
  add(digest, 'pcrDigest', ['tpm.quote.pcr-digest']);
  expect(at).toBe(m.length);
  return fields;
}

const sorted = (xs: string[]): string[] => [...xs].sort();

describe.each(VECTORS)('mutation sweep: $name', (v) => {
  it('the vector itself verifies', async () => {
    expect(await verdict(v, v.evidence)).toEqual({ verified: true, failed: [] });
  });

  it('every byte of the TPM quote message: refused by tpm.quote.signature and the check of its field', async () => {
    const message = v.evidence.tpmQuote.message;
    const byField = new Map<string, number>();
    for (const field of attestFields(message)) {
      for (let i = field.from; i < field.to; i++) {
        const tpmQuote = { ...v.evidence.tpmQuote, message: flipped(message, i, 0x01) };
        const r = await verdict(v, { ...v.evidence, tpmQuote });
        expect(r.verified, `byte ${i} (${field.name})`).toBe(false);
        expect(sorted(r.failed), `byte ${i} (${field.name})`).toEqual(sorted(['tpm.quote.signature', ...field.expect]));
        byField.set(field.name, (byField.get(field.name) ?? 0) + 1);
      }
    }
    expect([...byField.values()].reduce((a, n) => a + n, 0)).toBe(message.length);
  });

  it('every byte of the TPM quote signature, two bit positions each: refused by tpm.quote.signature alone', async () => {
    const signature = v.evidence.tpmQuote.signature;
    expect(signature.length).toBe(256);
    for (let i = 0; i < signature.length; i++) {
      for (const mask of [0x01, 0x80]) {
        const tpmQuote = { ...v.evidence.tpmQuote, signature: flipped(signature, i, mask) };
        const r = await verdict(v, { ...v.evidence, tpmQuote });
        expect(r, `byte ${i} ^ 0x${mask.toString(16)}`).toEqual({ verified: false, failed: ['tpm.quote.signature'] });
      }
    }
  });

  it('every byte of the HCL request-data header and runtime data: refused, by azure.hcl.layout or azure.hcl.report-data first', async () => {
    const hcl = v.evidence.hclReport;
    const size = Buffer.from(hcl).readUInt32LE(HCL_REQUEST_DATA_OFFSET + 16);
    const text = Buffer.from(hcl.subarray(HCL_RUNTIME_DATA_OFFSET, HCL_RUNTIME_DATA_OFFSET + size)).toString('latin1');
    // Where the attestation key's modulus and exponent, and the user-data value, sit in the JSON.
    const akAt = text.indexOf('"kid":"HCLAkPub"');
    const akEnd = text.indexOf('}', akAt);
    const valueSpan = (key: string, from: number, to: number): [number, number] => {
      const k = text.indexOf(`"${key}":"`, from);
      expect(k >= from && k < to, key).toBe(true);
      const start = k + key.length + 4;
      return [start, text.indexOf('"', start)];
    };
    const [userStart] = valueSpan('user-data', 0, text.length);
    // Only the prefix that must equal the nonce: the rest of user-data is the zero padding.
    const prefix: [number, number] = [userStart, userStart + 2 * v.options.nonce!.length];
    const spans = { n: valueSpan('n', akAt, akEnd), e: valueSpan('e', akAt, akEnd), userData: prefix };
    const inside = (i: number, [a, b]: [number, number]): boolean => i >= a && i < b;
    // What a flipped runtime data byte may fail besides azure.hcl.report-data: the JSON
    // (a broken document, or a member of the wrong type), the key, hence the TPM signature,
    // and for v2 the user-data.
    const allowed = new Set(['azure.hcl.report-data', 'azure.runtime-data.json', 'azure.runtime-data.ak', 'tpm.quote.signature', 'azure.runtime-data.user-data']);

    for (let i = HCL_REQUEST_DATA_OFFSET; i < HCL_RUNTIME_DATA_OFFSET + size; i++) {
      const r = await verdict(v, { ...v.evidence, hclReport: flipped(hcl, i, 0x01) });
      const where = `HCL byte ${i}`;
      expect(r.verified, where).toBe(false);
      if (i < HCL_RUNTIME_DATA_OFFSET) {
        // data_size, version, report_type, hash type, variable_data_size: nothing else can be read.
        expect(r.failed, where).toEqual(['azure.hcl.layout']);
        continue;
      }
      const j = i - HCL_RUNTIME_DATA_OFFSET;
      expect(r.failed[0], `${where} (runtime data ${j})`).toBe('azure.hcl.report-data');
      for (const id of r.failed) expect(allowed.has(id), `${where}: ${id}`).toBe(true);
      if (inside(j, spans.n) || inside(j, spans.e)) {
        // Another key, or none: the quote is not by it.
        expect(r.failed, `${where} (HCLAkPub)`).toContain('tpm.quote.signature');
      }
      if (inside(j, spans.userData) && v.userData) {
        expect(r.failed.some((id) => id === 'azure.runtime-data.user-data'), `${where} (user-data)`).toBe(true);
      }
    }
  });
});
