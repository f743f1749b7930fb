// az-snp-vtpm: an Azure confidential VM on SEV-SNP. The SNP report inside the HCL report is
// verified exactly as bare SNP evidence (verifier/snp/verify-evidence.ts: VCEK chain to the
// pinned ARK, signature, TCB binding, CRL); then the vTPM part (verify-vtpm.ts), and the
// VMPL: Azure's paravisor (HCL) requests the report at VMPL 0 (trustee az_snp_vtpm
// HCL_VMPL_VALUE), so a report from any other VMPL is not the paravisor's.

import type { TrustAnchors } from '../anchors.ts';
import type { AzSnpVtpmEvidence, AzureVtpmParts, VerifyOptions } from '../evidence.ts';
import type { Check, VerificationResult } from '../result.ts';
import { prepareSnpEvidence, verifySnpReport, type PreparedSnpEvidence } from '../snp/verify-evidence.ts';
import { parseHclReport, type HclLayoutProblem } from './abi/hcl-report.ts';
import { azureClaims } from './claims.ts';
import { checkVtpm, layoutCheck } from './verify-vtpm.ts';

export const AZURE_SNP_VMPL = 0;

export interface PreparedAzSnpEvidence {
  tee: 'az-snp-vtpm';
  vtpm: AzureVtpmParts;
  nonce?: Uint8Array;
  /** Absent when the HCL report could not be read (then `layout` says why). */
  inner?: PreparedSnpEvidence;
  layout?: HclLayoutProblem;
  at: Date;
}

export function copyParts(e: AzureVtpmParts): AzureVtpmParts {
  return {
    version: e.version,
    hclReport: Uint8Array.from(e.hclReport),
    tpmQuote: { signature: Uint8Array.from(e.tpmQuote.signature), message: Uint8Array.from(e.tpmQuote.message), pcrs: e.tpmQuote.pcrs.map((p) => Uint8Array.from(p)) },
  };
}

export async function prepareAzSnpEvidence(evidence: AzSnpVtpmEvidence, options: VerifyOptions): Promise<PreparedAzSnpEvidence> {
  const vtpm = copyParts(evidence);
  const base = { tee: 'az-snp-vtpm' as const, vtpm, at: options.at, ...(options.nonce ? { nonce: Uint8Array.from(options.nonce) } : {}) };
  const hcl = parseHclReport(vtpm.hclReport);
  if (!hcl.ok) return { ...base, layout: hcl.problem };
  if (hcl.report.tee !== 'snp') return { ...base, layout: { detail: 'The HCL report holds a TD report, but the evidence is az-snp-vtpm.', expected: 'report_type 2 (SNP)', found: 'report_type 4 (TDX)' } };
  const inner = await prepareSnpEvidence(
    { tee: 'sev-snp', report: hcl.report.hwReport, ...(evidence.certificates ? { certificates: evidence.certificates } : {}), ...(evidence.crl ? { crl: evidence.crl } : {}) },
    options,
  );
  return { ...base, inner };
}

function refused(tee: 'az-snp-vtpm' | 'az-tdx-vtpm', check: Check): VerificationResult {
  return { verified: false, tee, checks: [check], warnings: [], collateral: [] };
}
export { refused as refusedAzure };

export function verifyAzSnp(prepared: PreparedAzSnpEvidence, anchors?: TrustAnchors): VerificationResult {
  if (!prepared.inner) {
    const p = prepared.layout!;
    return refused('az-snp-vtpm', layoutCheck(p.detail, p.expected, p.found));
  }
  const hcl = parseHclReport(prepared.vtpm.hclReport);
  if (!hcl.ok) return refused('az-snp-vtpm', layoutCheck(hcl.problem.detail, hcl.problem.expected, hcl.problem.found));
  const inner = prepared.inner;
  const snp = verifySnpReport(inner.report, inner.material, { at: inner.at, crl: inner.crl, ...(anchors ? { anchors } : {}) });
  const checks: Check[] = [{ id: 'azure.hcl.layout', ok: true, detail: `The HCL report (header version ${hcl.report.headerVersion}) holds an SNP report and ${hcl.report.runtimeData.length} bytes of runtime data.` }];
  checks.push(...snp.checks);
  const vmpl = snp.claims?.snp?.vmpl;
  const vmplOk = vmpl === AZURE_SNP_VMPL;
  checks.push({
    id: 'azure.snp.vmpl',
    ok: vmplOk,
    detail: vmplOk ? 'The SNP report was requested at VMPL 0, where the Azure paravisor runs.' : "The SNP report was not requested at VMPL 0: it is not the Azure paravisor's.",
    ...(vmplOk ? {} : { expected: AZURE_SNP_VMPL, found: vmpl ?? null }),
  });
  const vtpm = checkVtpm(prepared.vtpm, hcl.report, hcl.report.hwReport.subarray(0x50, 0x90), prepared.nonce);
  checks.push(...vtpm.checks);
  const verified = checks.every((c) => c.ok);
  return {
    ...snp,
    verified,
    tee: 'az-snp-vtpm',
    checks,
    warnings: [...snp.warnings, ...vtpm.warnings],
    ...(snp.claims ? { claims: azureClaims(snp.claims, 'az-snp-vtpm', vtpm.tpm, vtpm.vm) } : {}),
  };
}
