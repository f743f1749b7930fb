// Findings of the policy review (SEV-SNP ABI 56860, Intel TDX module ABI, go-sev-guest and
// go-tdx-guest validate): each test failed before its fix.
import { describe, expect, it } from 'vitest';
import { DEFAULT_APPRAISAL_POLICY, evaluateAppraisalPolicy, parseAppraisalPolicy } from '../../verifier/policy/index.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { NO_REFS, rule } from './fixture-claims.ts';

const defaultPolicy = parseAppraisalPolicy(DEFAULT_APPRAISAL_POLICY);

describe('a verified result without claims', () => {
  it('is contraindicated: the always-on rules (debug, TCB status...) have nothing to read', () => {
    for (const tee of ['sev-snp', 'tdx', 'sgx'] as const) {
      const r: VerificationResult = { verified: true, tee, checks: [{ id: 'x', ok: true, detail: 'ok' }], warnings: [], collateral: [] };
      const d = evaluateAppraisalPolicy(defaultPolicy, r, NO_REFS);
      expect(d.status).toBe('contraindicated');
      expect(rule(d, 'evidence.claims')).toMatchObject({ ok: false, found: null });
      expect(d.trustworthinessVector['instance-identity']).toBe(96);
    }
  });
});
