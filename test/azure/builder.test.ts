// The simulator's Azure vTPM evidence, read back with the TPMS_ATTEST parser and node:crypto:
// the quote is signed by the runtime data's HCLAkPub, names the Azure nonce, digests the PCRs
// it is sent with, and the SNP report's REPORT_DATA holds SHA-256 of the runtime data.

import { createHash, createPublicKey, verify } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseTpmQuoteAttest } from '../../verifier/azure/abi/tpm-attest.ts';
import { azureNonceFromReportData } from '../../verifier/binding.ts';
import { parseReport } from '../../verifier/snp/abi/report.ts';
import { buildAzSnpVtpmEvidence } from '../../verifier/testing/azure-evidence-builder.ts';
import { splitHclReport } from '../../verifier/testing/hcl-report-builder.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';

let chain: SimulatorChain;
beforeAll(async () => {
  chain = await createSimulatorChain({ now: new Date('2026-03-01T12:00:00Z'), rsaBits: 2048 });
});

describe('simulator Azure evidence', () => {
  it('builds az-snp-vtpm evidence whose pieces agree with each other', () => {
    const reportData = createHash('sha512').update('binding').digest();
    const ev = buildAzSnpVtpmEvidence(chain, { reportData });
    expect(ev.version).toBe(2);
    const parts = splitHclReport(new Uint8Array(Buffer.from(ev.hcl_report, 'base64url')));
    expect(parts.tee).toBe('snp');
    const runtime = JSON.parse(Buffer.from(parts.runtimeData).toString('utf8')) as { keys: { kid: string; kty: string; n: string; e: string }[]; 'user-data': string };
    const ak = runtime.keys.find((k) => k.kid === 'HCLAkPub')!;
    const message = Buffer.from(ev.tpm_quote.message, 'hex');
    const ok = verify('sha256', message, createPublicKey({ key: { kty: 'RSA', n: ak.n, e: ak.e }, format: 'jwk' }), Buffer.from(ev.tpm_quote.signature, 'hex'));
    expect(ok).toBe(true);
    const attest = parseTpmQuoteAttest(message);
    const nonce = azureNonceFromReportData(reportData);
    expect(Buffer.from(attest.extraData)).toEqual(nonce);
    expect(attest.pcrSelections).toEqual([{ hashAlg: 0x000b, pcrs: Array.from({ length: 24 }, (_, i) => i) }]);
    const digest = createHash('sha256').update(Buffer.concat(ev.tpm_quote.pcrs.map((p) => Buffer.from(p, 'hex')))).digest();
    expect(Buffer.from(attest.pcrDigest)).toEqual(digest);
    expect(runtime['user-data'].toLowerCase()).toBe(nonce.toString('hex') + '00'.repeat(16));
    const report = parseReport(parts.hwReport);
    expect(report.reportData.subarray(0, 32)).toEqual(createHash('sha256').update(parts.runtimeData).digest());
    expect(report.vmpl).toBe(0);
  });
});
