// The azure-vtpm provider against a real software TPM (swtpm), provisioned as Azure's vTPM:
// an RSA restricted signing AK at 0x81000003 and the HCL report at NV 0x01400001 whose
// HCLAkPub is that AK, refreshed by the emulated paravisor when report data is written to
// 0x01400002 (guest-agent/testing/swtpm-azure.ts). The TPM signs the quotes; nothing of the
// TPM is mocked. The evidence is then verified by our verifier at a pinned time.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AzureVtpmProvider, HCL_REPORT_NV_INDEX } from '../../guest-agent/providers/azure-vtpm.ts';
import { ProviderError } from '../../guest-agent/providers/provider.ts';
import { handleArg, tpm2Tools } from '../../guest-agent/providers/tpm2-tools.ts';
import { startAzureHost, startSwtpm, type AzureHost, type Swtpm } from '../../guest-agent/testing/swtpm-azure.ts';
import { azureEvidenceFromJson } from '../../verifier/azure/evidence-json.ts';
import { azureNonceFromReportData } from '../../verifier/binding.ts';
import type { AzureVtpmEvidenceJson } from '../../guest-agent/providers/provider.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { createSimulatorChain, type SimulatorChain } from '../../verifier/testing/simulated-chain.ts';
import { simulatorAnchors, simulatorCollateralSource } from '../../verifier/testing/simulator-anchors.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';

const AT = new Date('2026-03-01T12:00:00Z');
let chain: SimulatorChain;

beforeAll(async () => {
  chain = await createSimulatorChain({ now: AT, rsaBits: 2048 });
}, 60_000);

const reportDataOf = (label: string) => createHash('sha512').update(label).digest();

function verify(tee: 'az-snp-vtpm' | 'az-tdx-vtpm', json: AzureVtpmEvidenceJson, nonce: Uint8Array): Promise<VerificationResult> {
  return verifyEvidence(azureEvidenceFromJson(tee, json), { at: AT, anchors: simulatorAnchors(chain), collateral: simulatorCollateralSource(chain), nonce });
}

const failed = (r: VerificationResult) => r.checks.filter((c) => !c.ok).map((c) => c.id);

for (const tee of ['snp', 'tdx'] as const) {
  const azTee = tee === 'snp' ? 'az-snp-vtpm' : 'az-tdx-vtpm';
  describe(`${azTee} from swtpm`, () => {
    let tpm: Swtpm;
    let host: AzureHost;
    let provider: AzureVtpmProvider;

    beforeAll(async () => {
      tpm = await startSwtpm();
      host = await startAzureHost({ chain, tee, tcti: tpm.tcti, pollMs: 20 });
      provider = new AzureVtpmProvider({ tcti: tpm.tcti, imds: host.imds, reportPollMs: 20, reportTimeoutMs: 5000 });
    }, 60_000);

    afterAll(async () => {
      await host?.stop();
      await tpm?.stop();
    });

    it('reads the HCL report, quotes with the AK over 24 sha256 PCRs, and the evidence verifies', async () => {
      expect(await provider.tee()).toBe(azTee);
      const reportData = reportDataOf(`${tee} pass`);
      const before = host.refreshes();
      const ev = await provider.getEvidence(reportData);
      if (ev.tee !== azTee || !('azure' in ev)) throw new Error(`unexpected evidence ${ev.tee}`);
      expect(host.refreshes()).toBeGreaterThan(before); // the paravisor saw the report data
      expect(ev.azure.version).toBe(2);
      expect(ev.azure.tpm_quote.pcrs).toHaveLength(24);
      expect(ev.azure.tpm_quote.signature).toHaveLength(512); // bare RSA-2048 signature, hex
      if (tee === 'snp') expect(ev.azure.vcek).toMatch(/^-----BEGIN CERTIFICATE-----/);
      else expect(ev.azure.td_quote).toMatch(/^[A-Za-z0-9_-]+$/);
      const nonce = azureNonceFromReportData(reportData);
      const r = await verify(azTee, ev.azure, nonce);
      expect(failed(r)).toEqual([]);
      expect(r.verified).toBe(true);
      expect(r.claims?.azure).toBe(true);
      expect(r.claims?.tpm?.quoteVerified).toBe(true);
      expect(r.claims?.tpm?.nonce).toBe(nonce.toString('hex'));
      expect(r.claims?.vm?.userData?.slice(0, 96)).toBe(nonce.toString('hex'));
      expect(r.claims?.simulated).toBe(true);
      // An unextended swtpm PCR is zero; 17..22 are locality-reset and start at all ones.
      expect(r.claims?.tpm?.pcrs['0']).toBe('00'.repeat(32));
    });

    it('a wrong nonce fails the TPM nonce check', async () => {
      const reportData = reportDataOf(`${tee} nonce`);
      const ev = await provider.getEvidence(reportData);
      if (!('azure' in ev)) throw new Error('not azure');
      const r = await verify(azTee, ev.azure, azureNonceFromReportData(reportDataOf('another challenge')));
      expect(r.verified).toBe(false);
      expect(failed(r)).toContain('tpm.quote.nonce');
      expect(failed(r)).not.toContain('tpm.quote.signature');
    });

    it('a PCR value changed after the quote fails the digest check; an extended PCR is quoted as extended', async () => {
      const tools = tpm2Tools({ tcti: tpm.tcti });
      const digest = createHash('sha256').update(`${tee} measured`).digest('hex');
      await tools.run('tpm2_pcrextend', [`16:sha256=${digest}`]);
      const reportData = reportDataOf(`${tee} pcr`);
      const ev = await provider.getEvidence(reportData);
      if (!('azure' in ev)) throw new Error('not azure');
      const nonce = azureNonceFromReportData(reportData);
      const good = await verify(azTee, ev.azure, nonce);
      expect(good.verified).toBe(true);
      const extended = createHash('sha256').update(Buffer.alloc(32)).update(Buffer.from(digest, 'hex')).digest('hex');
      expect(good.claims?.tpm?.pcrs['16']).toBe(extended);

      const pcrs = [...ev.azure.tpm_quote.pcrs];
      pcrs[16] = '00'.repeat(32);
      const r = await verify(azTee, { ...ev.azure, tpm_quote: { ...ev.azure.tpm_quote, pcrs } }, nonce);
      expect(r.verified).toBe(false);
      expect(failed(r)).toEqual(['tpm.quote.pcr-digest']);
    });
  });
}

describe('azure-vtpm without an Azure vTPM', () => {
  it('a TPM without the HCL report NV index is provider_unavailable, and says so', async () => {
    const tpm = await startSwtpm();
    try {
      const provider = new AzureVtpmProvider({ tcti: tpm.tcti });
      const err = await provider.tee().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).code).toBe('provider_unavailable');
      expect((err as ProviderError).message).toContain(`NV index ${handleArg(HCL_REPORT_NV_INDEX)}`);
      // Asked for evidence, it writes nothing to a TPM that is not an Azure vTPM.
      const again = await provider.getEvidence(reportDataOf('not azure')).catch((e: unknown) => e);
      expect((again as ProviderError).code).toBe('provider_unavailable');
      const defined = await tpm2Tools({ tcti: tpm.tcti }).run('tpm2_nvreadpublic', []);
      expect(defined.toString('utf8')).not.toContain('0x1400002');
    } finally {
      await tpm.stop();
    }
  });

  it('no paravisor refreshing the report: refused after the wait, not sent stale', async () => {
    const tpm = await startSwtpm();
    try {
      const host = await startAzureHost({ chain, tee: 'snp', tcti: tpm.tcti });
      await host.stop(); // the HCL report stays, nobody refreshes it
      const provider = new AzureVtpmProvider({ tcti: tpm.tcti, imds: host.imds, reportPollMs: 20, reportTimeoutMs: 200 });
      const err = await provider.getEvidence(reportDataOf('stale')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ProviderError);
      expect((err as ProviderError).message).toMatch(/still does not carry the report data .* after 200 ms/);
    } finally {
      await tpm.stop();
    }
  });

  it('no TPM at the TCTI is provider_unavailable', async () => {
    const provider = new AzureVtpmProvider({ tcti: 'swtpm:path=/nonexistent/tpm.sock' });
    const err = await provider.tee().catch((e: unknown) => e);
    expect((err as ProviderError).code).toBe('provider_unavailable');
    expect((err as ProviderError).message).toContain('TPM2TOOLS_TCTI');
  });
});
