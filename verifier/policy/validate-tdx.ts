// The declarative TDX and SGX parts of an appraisal policy, checked against the claims.
// Field meanings: Intel TDX Module ABI (TDATTRIBUTES), Intel TDX DCAP Quoting Library API
// ("TD Quote Body", TD 1.0 and 1.5) and the SGX "Enclave Report Body"; TCB statuses and
// advisories are those of Intel's QVL (TcbStatus / advisoryIDs of the matched TCB level).

import type { Claims } from '../result.ts';
import { decodeTdAttributes } from '../tdx/abi/td-report.ts';
import type { PolicyContext, RuleOutcome } from './types.ts';
import type { SgxPolicy, TdxPolicy } from './schema.ts';
import { validateEventLog } from './validate-eventlog.ts';
import { allowedHexRule, fail, forbiddenUnlessAllowed, hexValue, intValue, minimumRule, pass, reportField, tcbStatusRules } from './outcome.ts';

/** Default accepted TCB statuses when a policy names none: only UpToDate. */
export const DEFAULT_ACCEPTED_TCB_STATUSES = ['UpToDate'] as const;

/** The raw 8 TDATTRIBUTES bytes in the claims (the signed value, not a derived flag). */
function tdAttributes(tdx: Record<string, unknown> | undefined): Buffer | undefined {
  const raw = hexValue(reportField(tdx, 'tdAttributes'));
  return raw !== undefined && /^[0-9a-f]{16}$/.test(raw) ? Buffer.from(raw, 'hex') : undefined;
}

/** TDATTRIBUTES.SEPT_VE_DISABLE (bit 28). */
function septVeDisable(tdx: Record<string, unknown> | undefined): boolean | undefined {
  const raw = tdAttributes(tdx);
  return raw && decodeTdAttributes(raw).septVeDisable;
}

/** TDATTRIBUTES.MIGRATABLE (bit 29, TDX 1.5). */
function migratable(tdx: Record<string, unknown> | undefined): boolean | undefined {
  const raw = tdAttributes(tdx);
  return raw && decodeTdAttributes(raw).migratable;
}

function rtmrValue(tdx: Record<string, unknown> | undefined, index: number): unknown {
  const list = reportField(tdx, 'rtmr');
  return Array.isArray(list) ? list[index] : undefined;
}

/**
 * `<tee>.allowTrailingBytes`, applied only when the policy sets it. The count is
 * `claims.<tee>.quote.trailingBytes` (verifier/tdx/claims.ts): bytes the buffer held after
 * the quote's end (signed region + 4 + signature data size), covered by no signature.
 * Intel's QVL accepts them since DCAP 1.18 (Quote::parse refuses only signature data
 * longer than what remains; before, it required the buffer to end there), so unset means
 * accept; false denies a quote with any, and fails closed when the count is not in the claims.
 */
function trailingBytesRule(prefix: 'tdx' | 'sgx', allowed: boolean, section: Record<string, unknown> | undefined): RuleOutcome {
  const id = `${prefix}.allowTrailingBytes`;
  const quote = reportField(section, 'quote');
  const n = intValue(quote && typeof quote === 'object' ? reportField(quote as Record<string, unknown>, 'trailingBytes') : undefined);
  if (allowed) return pass(id, `bytes after the quote's end are allowed by the policy (found ${n ?? 'no count'})`, 'any', n ?? null);
  if (n === undefined) return fail(id, "the count of bytes after the quote's end is not in the claims", 0, null);
  return n === 0
    ? pass(id, "no bytes follow the quote's end", 0, 0)
    : fail(id, `${n} unsigned bytes follow the quote's end, and the policy does not allow trailing bytes`, 0, n);
}

export function validateTdx(policy: TdxPolicy, claims: Claims, ctx: PolicyContext): RuleOutcome[] {
  const tdx = claims.tdx;
  const out: RuleOutcome[] = [];
  if (policy.mrtd) out.push(allowedHexRule('tdx.mrtd', 'MRTD', policy.mrtd, claims.measurement, ctx));
  if (policy.rtmr) {
    for (const i of [0, 1, 2, 3] as const) {
      const allowed = policy.rtmr[String(i) as '0' | '1' | '2' | '3'];
      if (allowed) out.push(allowedHexRule(`tdx.rtmr.${i}`, `RTMR${i}`, allowed, rtmrValue(tdx, i), ctx));
    }
  }
  if (policy.mrConfigId) out.push(allowedHexRule('tdx.mrConfigId', 'MRCONFIGID', policy.mrConfigId, reportField(tdx, 'mrConfigId'), ctx));
  if (policy.mrOwner) out.push(allowedHexRule('tdx.mrOwner', 'MROWNER', policy.mrOwner, reportField(tdx, 'mrOwner'), ctx));
  if (policy.mrOwnerConfig) out.push(allowedHexRule('tdx.mrOwnerConfig', 'MROWNERCONFIG', policy.mrOwnerConfig, reportField(tdx, 'mrOwnerConfig'), ctx));
  out.push(forbiddenUnlessAllowed('tdx.allowDebug', 'TDATTRIBUTES.DEBUG (TUD group)', policy.allowDebug ?? false, claims.debug));
  // A migratable TD can be exported, with its secrets, to another platform through a
  // migration TD: denied unless allowed, as SEV-SNP's MIGRATE_MA is.
  out.push(forbiddenUnlessAllowed('tdx.allowMigratable', 'TDATTRIBUTES.MIGRATABLE', policy.allowMigratable ?? false, migratable(tdx)));
  if (policy.requireSeptVeDisable !== undefined) {
    const id = 'tdx.requireSeptVeDisable';
    const v = septVeDisable(tdx);
    if (!policy.requireSeptVeDisable) out.push(pass(id, 'SEPT_VE_DISABLE is not required', 'any', v ?? null));
    else if (v === undefined) out.push(fail(id, 'TDATTRIBUTES.SEPT_VE_DISABLE is not in the claims', true, null));
    else out.push(v ? pass(id, 'TDATTRIBUTES.SEPT_VE_DISABLE is set', true, true) : fail(id, 'TDATTRIBUTES.SEPT_VE_DISABLE is clear, and the policy requires it', true, false));
  }
  out.push(...tcbStatusRules('tdx', claims.tcb.status, policy.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES, policy.warnTcbStatuses));
  if (policy.forbiddenAdvisories) {
    const id = 'tdx.forbiddenAdvisories';
    const found = claims.tcb.advisoryIds;
    if (!Array.isArray(found)) out.push(fail(id, 'the advisory ids are not in the claims', { none: policy.forbiddenAdvisories }, null));
    else {
      const hit = found.filter((a) => policy.forbiddenAdvisories?.includes(String(a).toUpperCase()));
      out.push(
        hit.length === 0
          ? pass(id, 'no forbidden advisory applies', { none: policy.forbiddenAdvisories }, found)
          : fail(id, `forbidden advisories apply: ${hit.join(', ')}`, { none: policy.forbiddenAdvisories }, found),
      );
    }
  }
  if (policy.mrServiceTd) {
    const v = reportField(tdx, 'mrServiceTd');
    out.push(
      v === undefined
        ? fail('tdx.mrServiceTd', 'MRSERVICETD is not in the claims (a TD 1.0 report has none)', policy.mrServiceTd, null)
        : allowedHexRule('tdx.mrServiceTd', 'MRSERVICETD', policy.mrServiceTd, v, ctx),
    );
  }
  if (policy.minTcbEvaluationDataNumber !== undefined) {
    out.push(minimumRule('tdx.minTcbEvaluationDataNumber', 'TCB evaluation data number', policy.minTcbEvaluationDataNumber, claims.tcb.evaluationDataNumber));
  }
  if (policy.allowTrailingBytes !== undefined) out.push(trailingBytesRule('tdx', policy.allowTrailingBytes, tdx));
  if (policy.eventLog) out.push(...validateEventLog(policy.eventLog, claims, ctx));
  return out;
}

export function validateSgx(policy: SgxPolicy, claims: Claims, ctx: PolicyContext): RuleOutcome[] {
  const sgx = claims.sgx;
  const out: RuleOutcome[] = [];
  if (policy.mrenclave) out.push(allowedHexRule('sgx.mrenclave', 'MRENCLAVE', policy.mrenclave, claims.measurement, ctx));
  if (policy.mrsigner) out.push(allowedHexRule('sgx.mrsigner', 'MRSIGNER', policy.mrsigner, reportField(sgx, 'mrSigner'), ctx));
  if (policy.isvProdId) {
    const id = 'sgx.isvProdId';
    const v = intValue(reportField(sgx, 'isvProdId'));
    if (v === undefined) out.push(fail(id, 'ISVPRODID is not in the claims', policy.isvProdId, null));
    else out.push(policy.isvProdId.includes(v) ? pass(id, `ISVPRODID ${v} is allowed`, policy.isvProdId, v) : fail(id, `ISVPRODID ${v} is not allowed`, policy.isvProdId, v));
  }
  if (policy.minIsvSvn !== undefined) out.push(minimumRule('sgx.minIsvSvn', 'ISVSVN', policy.minIsvSvn, reportField(sgx, 'isvSvn')));
  out.push(forbiddenUnlessAllowed('sgx.allowDebug', 'ATTRIBUTES.DEBUG', policy.allowDebug ?? false, claims.debug));
  out.push(...tcbStatusRules('sgx', claims.tcb.status, policy.acceptedTcbStatuses ?? DEFAULT_ACCEPTED_TCB_STATUSES, policy.warnTcbStatuses));
  if (policy.allowTrailingBytes !== undefined) out.push(trailingBytesRule('sgx', policy.allowTrailingBytes, sgx));
  return out;
}
