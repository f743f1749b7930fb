// The checks common to az-snp-vtpm and az-tdx-vtpm: the HCL runtime data bound into the
// hardware report, the attestation key it names, the TPM quote by that key, and (agent
// evidence v2) the runtime data's user-data. Trustee runs the same steps
// (deps/verifier/src/az_snp_vtpm/mod.rs evaluate, az_tdx_vtpm/mod.rs evaluate); each is
// one named check here, all run, so a denial lists every failure.

import { createHash } from 'node:crypto';
import type { AzureVtpmParts } from '../evidence.ts';
import type { AzureVmClaims, Check, TpmClaims } from '../result.ts';
import type { HclReport } from './abi/hcl-report.ts';
import { parseRuntimeData } from './runtime-data.ts';
import { checkTpmQuote } from './verify-tpm-quote.ts';

export interface VtpmVerdict {
  checks: Check[];
  warnings: string[];
  tpm: TpmClaims;
  vm: AzureVmClaims;
}

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** `hwReportData` is the 64-byte REPORT_DATA of the verified hardware report (SNP report or TD quote). */
export function checkVtpm(parts: AzureVtpmParts, hcl: HclReport, hwReportData: Uint8Array, nonce: Uint8Array | undefined): VtpmVerdict {
  const checks: Check[] = [];
  const warnings: string[] = [];

  // The paravisor puts SHA-256(runtime data) into the first 32 bytes of REPORT_DATA: this is
  // what makes the (unsigned) runtime data, and so the AK, part of the signed hardware report.
  const digest = createHash('sha256').update(hcl.runtimeData).digest();
  const bound = digest.equals(Buffer.from(hwReportData.subarray(0, 32)));
  checks.push({
    id: 'azure.hcl.report-data',
    ok: bound,
    detail: bound
      ? "SHA-256 of the HCL runtime data equals the hardware report's REPORT_DATA[0:32]."
      : "SHA-256 of the HCL runtime data differs from the hardware report's REPORT_DATA[0:32]: the runtime data (and its attestation key) is not the one the hardware signed.",
    ...(bound ? {} : { expected: hex(hwReportData.subarray(0, 32)), found: digest.toString('hex') }),
  });

  const rd = parseRuntimeData(hcl.runtimeData);
  if (rd.ok) checks.push({ id: 'azure.runtime-data', ok: true, detail: 'The HCL runtime data is JSON with one RSA attestation key HCLAkPub.' });
  else checks.push({ id: rd.id, ok: false, detail: rd.detail, expected: rd.expected, found: rd.found });
  const data = rd.ok ? rd.data : undefined;

  const tpm = checkTpmQuote(parts.tpmQuote, data?.ak, data?.akModulusBytes ?? 0, nonce);
  checks.push(...tpm.checks);
  warnings.push(...tpm.warnings);

  // Agent evidence v2 puts the report data into user-data too (trustee az_snp_vtpm
  // verify_user_data: "User-data in HCL variable data doesn't match report_data").
  if (parts.version >= 2 && nonce) {
    const user = data?.userData;
    const ok = user !== undefined && user.length >= nonce.length && Buffer.from(user.subarray(0, nonce.length)).equals(Buffer.from(nonce));
    checks.push({
      id: 'azure.runtime-data.user-data',
      ok,
      detail: ok ? 'The runtime data user-data begins with the expected report data.' : "The runtime data user-data does not begin with the expected report data: the HCL report was not made for this challenge.",
      ...(ok ? {} : { expected: hex(nonce), found: user ? hex(user) : null }),
    });
  }

  return {
    checks,
    warnings,
    tpm: { pcrs: tpm.pcrs, nonce: tpm.attest ? hex(tpm.attest.extraData) : '', quoteVerified: tpm.quoteVerified && bound && rd.ok, evidenceVersion: parts.version },
    vm: data?.vm ?? {},
  };
}

/** The failed layout check, and nothing else can be read. */
export function layoutCheck(detail: string, expected: unknown, found: unknown): Check {
  return { id: 'azure.hcl.layout', ok: false, detail, expected, found };
}
