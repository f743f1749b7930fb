// az-tdx-vtpm: an Azure confidential VM on TDX. The TD quote is verified exactly as
// `tessera verify tdx` does (verifier/tdx/verify-evidence.ts, with the same collateral);
// the runtime data is bound by the quote's REPORTDATA (trustee az_tdx_vtpm
// verify_hcl_var_data compares against the TD quote, not the unsigned TD report); the HCL's
// own TD report must carry the same REPORTDATA, so the two halves are one report.

import type { TrustAnchors } from '../anchors.ts';
import type { AzTdxVtpmEvidence, VerifyOptions } from '../evidence.ts';
import type { Check, VerificationResult } from '../result.ts';
import { prepareIntelEvidence, verifyIntelQuote, type PreparedIntelEvidence } from '../tdx/verify-evidence.ts';
import { parseHclReport, type HclLayoutProblem } from './abi/hcl-report.ts';
import { azureClaims } from './claims.ts';
import { copyParts, refusedAzure } from './verify-az-snp.ts';
import { checkVtpm, layoutCheck } from './verify-vtpm.ts';
import type { AzureVtpmParts } from '../evidence.ts';

// TDREPORT_STRUCT: REPORTMACSTRUCT.REPORTTYPE.TYPE at 0 (0x81 = TDX), REPORTDATA at 128 (64 bytes).
const TD_REPORT_TYPE_TDX = 0x81;
const TD_REPORT_DATA_OFFSET = 128;

export interface PreparedAzTdxEvidence {
  tee: 'az-tdx-vtpm';
  vtpm: AzureVtpmParts;
  nonce?: Uint8Array;
  inner?: PreparedIntelEvidence;
  layout?: HclLayoutProblem;
  at: Date;
}

export async function prepareAzTdxEvidence(evidence: AzTdxVtpmEvidence, options: VerifyOptions): Promise<PreparedAzTdxEvidence> {
  const vtpm = copyParts(evidence);
  const base = { tee: 'az-tdx-vtpm' as const, vtpm, at: options.at, ...(options.nonce ? { nonce: Uint8Array.from(options.nonce) } : {}) };
  const hcl = parseHclReport(vtpm.hclReport);
  if (!hcl.ok) return { ...base, layout: hcl.problem };
  if (hcl.report.tee !== 'tdx') return { ...base, layout: { detail: 'The HCL report holds an SNP report, but the evidence is az-tdx-vtpm.', expected: 'report_type 4 (TDX)', found: 'report_type 2 (SNP)' } };
  const inner = await prepareIntelEvidence({ tee: 'tdx', quote: evidence.tdQuote, ...(evidence.collateral ? { collateral: evidence.collateral } : {}) }, options);
  return { ...base, inner };
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export function verifyAzTdx(prepared: PreparedAzTdxEvidence, anchors?: TrustAnchors): VerificationResult {
  if (!prepared.inner) {
    const p = prepared.layout!;
    return refusedAzure('az-tdx-vtpm', layoutCheck(p.detail, p.expected, p.found));
  }
  const hcl = parseHclReport(prepared.vtpm.hclReport);
  if (!hcl.ok) return refusedAzure('az-tdx-vtpm', layoutCheck(hcl.problem.detail, hcl.problem.expected, hcl.problem.found));
  const inner = prepared.inner;
  const tdx = verifyIntelQuote(inner.quote, inner.collateral, { at: inner.at, crl: inner.crl, provenance: inner.provenance, ...(anchors ? { anchors: anchors.intel } : {}) });
  const checks: Check[] = [{ id: 'azure.hcl.layout', ok: true, detail: `The HCL report (header version ${hcl.report.headerVersion}) holds a TD report and ${hcl.report.runtimeData.length} bytes of runtime data.` }];
  checks.push(...tdx.checks);
  const quoteReportData = new Uint8Array(Buffer.from(tdx.claims?.reportData ?? '', 'hex'));
  const td = hcl.report.hwReport;
  const tdData = td.subarray(TD_REPORT_DATA_OFFSET, TD_REPORT_DATA_OFFSET + 64);
  const same = td[0] === TD_REPORT_TYPE_TDX && quoteReportData.length === 64 && Buffer.from(tdData).equals(Buffer.from(quoteReportData));
  checks.push({
    id: 'azure.hcl.td-report',
    ok: same,
    detail: same ? "The HCL's TD report carries the TD quote's REPORTDATA." : td[0] !== TD_REPORT_TYPE_TDX ? 'The HCL hardware report is not a TDX TD report (REPORTTYPE 0x81).' : "The HCL's TD report and the TD quote carry different REPORTDATA: they are not one report.",
    ...(same ? {} : { expected: hex(quoteReportData), found: `type 0x${(td[0] ?? 0).toString(16)}, ${hex(tdData)}` }),
  });
  const vtpm = checkVtpm(prepared.vtpm, hcl.report, quoteReportData.length === 64 ? quoteReportData : new Uint8Array(64), prepared.nonce);
  checks.push(...vtpm.checks);
  return {
    ...tdx,
    verified: checks.every((c) => c.ok),
    tee: 'az-tdx-vtpm',
    checks,
    warnings: [...tdx.warnings, ...vtpm.warnings],
    ...(tdx.claims ? { claims: azureClaims(tdx.claims, 'az-tdx-vtpm', vtpm.tpm, vtpm.vm) } : {}),
  };
}
