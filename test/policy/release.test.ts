import { describe, expect, it } from 'vitest';
import { compileReleasePolicy, evaluateReleasePolicy, PolicyValidationError } from '../../verifier/policy/index.ts';
import type { PolicyContext } from '../../verifier/policy/index.ts';
import { snpCase, tdxCase } from './fixture-claims.ts';

const oak = snpCase('milan-v3-gcp-oak');
const turin = snpCase('turin-v5-mstav');
const phala = tdxCase('phala-b0c06f-v4-uptodate');
const ctx: PolicyContext = { referenceValues: { web_prod: [oak.claims.measurement] } };

describe('release policies', () => {
  const web = compileReleasePolicy('claims.tee == "sev-snp" && claims.measurement in refs.web_prod');

  it('releases to the claims the expression accepts, only for affirming results by default', () => {
    expect(evaluateReleasePolicy(web, { claims: oak.claims, status: 'affirming' }, ctx)).toMatchObject({ id: 'release.expr', ok: true });
    const other = evaluateReleasePolicy(web, { claims: turin.claims, status: 'affirming' }, ctx);
    expect(other).toMatchObject({ id: 'release.expr', ok: false, found: false, expected: web.expr });
    expect(evaluateReleasePolicy(web, { claims: oak.claims, status: 'warning' }, ctx)).toMatchObject({
      id: 'release.status',
      ok: false,
      expected: ['affirming'],
      found: 'warning',
    });
    expect(evaluateReleasePolicy(web, { claims: oak.claims, status: 'contraindicated' }, ctx).ok).toBe(false);
  });

  it('accepted statuses can be widened', () => {
    const p = compileReleasePolicy('true', { acceptedStatuses: ['affirming', 'warning'] });
    expect(evaluateReleasePolicy(p, { claims: oak.claims, status: 'warning' }, ctx).ok).toBe(true);
    expect(evaluateReleasePolicy(p, { claims: oak.claims, status: 'contraindicated' }, ctx).ok).toBe(false);
  });

  it('can require results of named appraisal policies', () => {
    const p = compileReleasePolicy('true', { appraisalPolicies: ['prod'] });
    expect(evaluateReleasePolicy(p, { claims: oak.claims, status: 'affirming', policyId: 'prod' }, ctx).ok).toBe(true);
    expect(evaluateReleasePolicy(p, { claims: oak.claims, status: 'affirming', policyId: 'prod@3' }, ctx).ok).toBe(true);
    expect(evaluateReleasePolicy(p, { claims: oak.claims, status: 'affirming', policyId: 'production' }, ctx)).toMatchObject({
      id: 'release.appraisalPolicy',
      ok: false,
    });
    expect(evaluateReleasePolicy(p, { claims: oak.claims, status: 'affirming' }, ctx).ok).toBe(false);
  });

  it('sees status, policyId and tcb', () => {
    const p = compileReleasePolicy('status == "affirming" && policyId.startsWith("default") && tcb.status == "UpToDate"');
    expect(evaluateReleasePolicy(p, { claims: phala.claims, status: 'affirming', policyId: 'default@1' }, ctx).ok).toBe(true);
    expect(evaluateReleasePolicy(p, { claims: phala.claims, status: 'affirming', policyId: 'other' }, ctx).ok).toBe(false);
  });

  it('an evaluation error fails closed, never throws', () => {
    const p = compileReleasePolicy('claims.measurement in refs.missing_set');
    const r = evaluateReleasePolicy(p, { claims: oak.claims, status: 'affirming' }, ctx);
    expect(r).toMatchObject({ id: 'release.expr', ok: false });
    expect(r.detail).toMatch(/fails closed/);
    const tdxOnly = compileReleasePolicy('claims.tdx.mrTd == "00"');
    expect(evaluateReleasePolicy(tdxOnly, { claims: oak.claims, status: 'affirming' }, ctx).ok).toBe(false);
    expect(evaluateReleasePolicy(compileReleasePolicy('claims.tee'), { claims: oak.claims, status: 'affirming' }, ctx).ok).toBe(false);
  });

  it('a policy that does not compile is rejected with the CEL error', () => {
    const bad: [string, RegExp][] = [
      ['claims.tee ==', /expr: does not compile: at 1:/],
      ['clams.tee == "tdx"', /unknown variable 'clams'/],
      ['lenght(claims.tee) > 0', /unknown function 'lenght'/],
      ['', /expected a CEL expression/],
    ];
    for (const [expr, message] of bad) {
      let err: unknown;
      try {
        compileReleasePolicy(expr);
      } catch (e) {
        err = e;
      }
      expect(err, expr).toBeInstanceOf(PolicyValidationError);
      expect((err as PolicyValidationError).issues[0]?.path).toBe('expr');
      expect((err as Error).message).toMatch(message);
    }
    expect(() => compileReleasePolicy('true', { acceptedStatuses: [] })).toThrow(PolicyValidationError);
  });

  it('compiles each expression once', () => {
    const a = compileReleasePolicy('claims.debug == false');
    const b = compileReleasePolicy('claims.debug == false', { acceptedStatuses: ['warning'] });
    expect(a.program).toBe(b.program);
  });
});
