// Evaluation never throws, whatever the claims look like (replayed old results, a
// verifier bug): malformed input is a failed rule, and the decision stays consistent.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compileReleasePolicy, evaluateAppraisalPolicy, evaluateReleasePolicy, parseAppraisalPolicy, statusOf } from '../../verifier/policy/index.ts';
import type { Claims, VerificationResult } from '../../verifier/result.ts';
import { snpCase, tdxCase } from './fixture-claims.ts';

const h = (n: number) => 'ab'.repeat(n);
const full = parseAppraisalPolicy({
  snp: {
    measurements: { referenceValues: 'prod' }, allowSmt: false, minTcb: { snp: 1, fmc: 1 }, vmpl: { max: 0 }, hostData: [h(32)], familyId: [h(16)],
    imageId: [h(16)], idKeyDigests: [h(48)], authorKeyDigests: [h(48)], minGuestSvn: 1, products: ['Milan'], signers: ['VCEK'],
  },
  tdx: {
    mrtd: [h(48)], rtmr: { 0: [h(48)], 3: { referenceValues: 'prod' } }, mrConfigId: [h(48)], mrOwner: [h(48)], mrOwnerConfig: [h(48)],
    requireSeptVeDisable: true, warnTcbStatuses: ['OutOfDate'], forbiddenAdvisories: ['INTEL-SA-00001'], mrServiceTd: [h(48)], minTcbEvaluationDataNumber: 1,
  },
  sgx: { mrenclave: [h(32)], mrsigner: [h(32)], isvProdId: [0], minIsvSvn: 1 },
  rules: [
    { name: 'a', expr: 'claims.tcb.reported.snp >= 1' },
    { name: 'b', expr: 'claims.measurement in refs.prod', effect: 'warn' },
    { name: 'c', expr: 'claims.tdx.rtmr.all(r, size(r) == 96)' },
  ],
});
const release = compileReleasePolicy('claims.debug == false && claims.measurement in refs.prod && tcb.status == "UpToDate"');

const anyValue = fc.anything({ maxDepth: 3, withNullPrototype: true, withObjectString: true });
const section = fc.oneof(anyValue, fc.dictionary(fc.constantFrom('policy', 'vmpl', 'hostData', 'guestSvn', 'rtmr', 'tdAttributes', 'mrServiceTd', 'mrSigner', 'isvProdId', 'isvSvn'), anyValue));

describe('robustness', () => {
  it('property: arbitrary claim contents never make evaluation throw, and the decision is consistent', () => {
    const bases = [snpCase('milan-v3-gcp-oak').claims, tdxCase('phala-b0c06f-v4-uptodate').claims];
    fc.assert(
      fc.property(
        fc.constantFrom(...bases),
        fc.record({ measurement: anyValue, debug: anyValue, tcb: anyValue, platform: anyValue, section }, { requiredKeys: [] }),
        fc.boolean(),
        fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.array(fc.string({ maxLength: 4 })), anyValue)),
        (base, overrides, verified, refs) => {
          const claims = { ...base, ...overrides } as unknown as Claims & { section?: unknown };
          const key = base.tee === 'sev-snp' ? 'snp' : 'tdx';
          if ('section' in overrides) (claims as unknown as Record<string, unknown>)[key] = overrides.section;
          delete claims.section;
          const result: VerificationResult = { verified, tee: base.tee, claims, checks: [{ id: 'x', ok: verified, detail: '' }], warnings: [], collateral: [] };
          const ctx = { referenceValues: { ...(refs as Record<string, string[]>), prod: [h(48)] } };
          const d = evaluateAppraisalPolicy(full, result, ctx);
          expect(d.rules.every((r) => typeof r.ok === 'boolean' && typeof r.id === 'string' && typeof r.detail === 'string')).toBe(true);
          expect(d.status).toBe(statusOf(d.rules));
          expect(d.allowed).toBe(d.status !== 'contraindicated');
          if (!verified) expect(d.status).toBe('contraindicated');
          const rel = evaluateReleasePolicy(release, { claims, status: d.status }, ctx);
          expect(typeof rel.ok).toBe('boolean');
        },
      ),
      { numRuns: 300 },
    );
  });
});
