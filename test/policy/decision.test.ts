// CEL rules, EAR status derivation, the trustworthiness vector, unverified evidence and
// the default policy.
import { describe, expect, it } from 'vitest';
import { DEFAULT_APPRAISAL_POLICY, evaluateAppraisalPolicy, parseAppraisalPolicy, policyHash, statusOf } from '../../verifier/policy/index.ts';
import type { AppraisalPolicy, PolicyContext, PolicyDecision, RuleOutcome } from '../../verifier/policy/index.ts';
import type { Claims, VerificationResult } from '../../verifier/result.ts';
import { claimsOfRule } from '../../verifier/policy/vector.ts';
import { sgxCase, snpCase, tdxCase, verifiedResult, withClaims } from './fixture-claims.ts';

const oak = snpCase('milan-v3-gcp-oak');
const gosev = snpCase('milan-v2-gosevguest'); // DEBUG set
const phala = tdxCase('phala-b0c06f-v4-uptodate');
const zk = tdxCase('zkdcap-00806f050000-v4-outofdate');
const sgx = sgxCase('sgx-automata-00606a000000-v3-swhardening');

const REFS: PolicyContext = { referenceValues: { prod: [oak.claims.measurement], kernels: [] } };

function evaluate(doc: unknown, claims: Claims | VerificationResult, ctx: PolicyContext = REFS): PolicyDecision {
  const result = 'checks' in claims ? claims : verifiedResult(claims);
  return evaluateAppraisalPolicy(parseAppraisalPolicy(doc), result, ctx);
}
function rule(d: PolicyDecision, id: string): RuleOutcome {
  const r = d.rules.find((x) => x.id === id);
  if (!r) throw new Error(`no rule ${id} in ${d.rules.map((x) => x.id).join(', ')}`);
  return r;
}
const celRule = (expr: string, claims: Claims, extra: Record<string, unknown> = {}) =>
  rule(evaluate({ rules: [{ name: 'r', expr, ...extra }] }, claims), 'rules.r');

describe('CEL rules', () => {
  it('pass and fail on real claims, with the expression as the expectation', () => {
    expect(celRule('claims.tee == "sev-snp" && claims.platform.product == "Milan"', oak.claims)).toMatchObject({ ok: true, found: true });
    const f = celRule('claims.tcb.reported.snp >= 25', oak.claims);
    expect(f).toMatchObject({ ok: false, effect: 'deny', expected: 'claims.tcb.reported.snp >= 25', found: false });
    expect(f.detail).toMatch(/rule 'r' is false/);
    expect(celRule('tcb.reported.snp >= 25', oak.claims, { message: 'SNP firmware too old' }).detail).toBe('SNP firmware too old');
  });

  it('see reference-value sets, report fields and numbers as CEL numbers', () => {
    expect(celRule('claims.measurement in refs.prod', oak.claims).ok).toBe(true);
    expect(celRule('claims.measurement in refs.prod', gosev.claims).ok).toBe(false);
    expect(celRule('claims.snp.vmpl == 0 && claims.snp.guestSvn < 1 && claims.snp.policy.smt', oak.claims).ok).toBe(true);
    expect(celRule('claims.tdx.rtmr[3] == "' + '00'.repeat(48) + '" && size(claims.tdx.rtmr) == 4', phala.claims).ok).toBe(true);
    expect(celRule('claims.tcb.advisoryIds.exists(a, a == "INTEL-SA-00960")', zk.claims).ok).toBe(true);
    expect(celRule('claims.tcb.advisoryIds.exists(a, a == "INTEL-SA-00960")', phala.claims).ok).toBe(false);
    expect(celRule('!has(claims.simulated)', oak.claims).ok).toBe(true);
  });

  it('an evaluation error is a failed rule, not a throw (fail closed)', () => {
    const missing = celRule('claims.tdx.mrTd == "00"', oak.claims); // an SNP claim set has no tdx
    expect(missing).toMatchObject({ ok: false });
    expect(missing.found).toMatchObject({ error: expect.stringMatching(/not found/) });
    expect(missing.detail).toMatch(/could not be evaluated.*fails closed/);
    expect(celRule('claims.measurement in refs.staging', oak.claims).ok).toBe(false);
    expect(celRule('claims.snp.vmpl + "a" == "0a"', oak.claims).ok).toBe(false); // no such overload
  });

  it('a non-boolean result fails closed', () => {
    const r = celRule('claims.measurement', oak.claims);
    expect(r.ok).toBe(false);
    expect(r.detail).toMatch(/not a boolean/);
  });

  it('warn rules warn, deny rules contraindicate', () => {
    expect(evaluate({ rules: [{ name: 'w', expr: 'false', effect: 'warn' }] }, oak.claims).status).toBe('warning');
    expect(evaluate({ rules: [{ name: 'd', expr: 'false' }] }, oak.claims).status).toBe('contraindicated');
    expect(evaluate({ rules: [{ name: 'w', expr: 'false', effect: 'warn' }, { name: 'd', expr: 'false' }] }, oak.claims).status).toBe('contraindicated');
  });

  it('a policy object that was not parsed (stored, hand-built) with a broken rule fails that rule closed', () => {
    const policy = { rules: [{ name: 'broken', expr: 'claims.tee ==' }] } as AppraisalPolicy;
    const d = evaluateAppraisalPolicy(policy, verifiedResult(oak.claims), REFS);
    expect(rule(d, 'rules.broken')).toMatchObject({ ok: false });
    expect(d.status).toBe('contraindicated');
  });
});

describe('status and allowed', () => {
  it('statusOf', () => {
    const o = (ok: boolean, effect: 'deny' | 'warn'): RuleOutcome => ({ id: 'x', ok, effect, detail: '' });
    expect(statusOf([])).toBe('affirming');
    expect(statusOf([o(true, 'deny'), o(true, 'warn')])).toBe('affirming');
    expect(statusOf([o(false, 'warn')])).toBe('warning');
    expect(statusOf([o(false, 'warn'), o(false, 'deny')])).toBe('contraindicated');
  });

  it('allowed is true unless contraindicated', () => {
    expect(evaluate({}, oak.claims)).toMatchObject({ status: 'affirming', allowed: true });
    expect(evaluate({ tdx: { warnTcbStatuses: ['OutOfDate'] } }, zk.claims)).toMatchObject({ status: 'warning', allowed: true });
    expect(evaluate({}, gosev.claims)).toMatchObject({ status: 'contraindicated', allowed: false });
  });
});

describe('unverified evidence', () => {
  const failedResult = (claims: Claims | undefined): VerificationResult => ({
    verified: false,
    tee: 'sev-snp',
    ...(claims ? { claims } : {}),
    checks: [
      { id: 'snp.report.signature', ok: false, detail: 'bad signature' },
      { id: 'snp.vcek.chain', ok: true, detail: 'ok' },
      { id: 'snp.tcb.match', ok: false, detail: 'mismatch' },
    ],
    warnings: [],
    collateral: [],
  });

  it('is always contraindicated, with the failed check ids', () => {
    const d = evaluate({ snp: { allowDebug: true }, rules: [{ name: 'all', expr: 'true' }] }, failedResult(oak.claims));
    expect(d.status).toBe('contraindicated');
    expect(rule(d, 'evidence.verified')).toMatchObject({ ok: false, found: ['snp.report.signature', 'snp.tcb.match'] });
    expect(rule(d, 'evidence.verified').detail).toContain('snp.report.signature');
    // The rest is still explained, but cannot rescue it.
    expect(rule(d, 'rules.all').ok).toBe(true);
    expect(d.trustworthinessVector['instance-identity']).toBe(96);
  });

  it('verified=false with no failed check is still contraindicated', () => {
    const r: VerificationResult = { ...verifiedResult(oak.claims), verified: false };
    expect(evaluate({}, r).status).toBe('contraindicated');
  });

  it('without claims, CEL rules fail and no declarative rule pretends to pass', () => {
    const d = evaluate({ snp: { minGuestSvn: 0 }, rules: [{ name: 'x', expr: 'true' }] }, failedResult(undefined));
    expect(d.status).toBe('contraindicated');
    expect(rule(d, 'rules.x').ok).toBe(false);
    expect(d.rules.filter((x) => x.ok).map((x) => x.id)).toEqual(['tee']);
  });

  it('claims of another TEE than the result fail', () => {
    const r: VerificationResult = { ...verifiedResult(phala.claims), tee: 'sev-snp' };
    const d = evaluate({}, r);
    expect(d.status).toBe('contraindicated');
    expect(d.rules.filter((x) => !x.ok).map((x) => x.id)).toContain('evidence.claims');
    expect(d.trustworthinessVector['instance-identity']).toBe(96);
  });
});

describe('trustworthiness vector (AR4SI)', () => {
  it('affirming result: 2 where rules spoke, 0 (no claim) elsewhere', () => {
    const d = evaluate({ snp: { measurements: { referenceValues: 'prod' }, minTcb: { snp: 1 } } }, oak.claims);
    expect(d.trustworthinessVector).toEqual({
      'instance-identity': 2,
      configuration: 2,
      executables: 2,
      'file-system': 0,
      hardware: 2,
      'runtime-opaque': 0,
      'storage-opaque': 0,
      'sourced-data': 0,
    });
  });

  it('a failed measurement contraindicates executables; TCB, hardware; debug, configuration', () => {
    expect(evaluate({ snp: { measurements: { referenceValues: 'prod' } } }, gosev.claims).trustworthinessVector).toMatchObject({
      executables: 96,
      configuration: 96, // DEBUG
      hardware: 2,
    });
    expect(evaluate({}, zk.claims).trustworthinessVector).toMatchObject({ hardware: 96, configuration: 2, executables: 0 });
    expect(evaluate({ tdx: { warnTcbStatuses: ['OutOfDate'] } }, zk.claims).trustworthinessVector).toMatchObject({ hardware: 32 });
  });

  it('a CEL rule speaks for the claim it names (configuration by default)', () => {
    const d = evaluate(
      {
        rules: [
          { name: 'a', expr: 'false', effect: 'warn', trustClaim: 'runtime-opaque' },
          { name: 'b', expr: 'false', effect: 'warn' },
        ],
      },
      oak.claims,
    );
    expect(d.trustworthinessVector).toMatchObject({ 'runtime-opaque': 32, configuration: 32 });
  });
});

describe('the default policy', () => {
  const policy = parseAppraisalPolicy(DEFAULT_APPRAISAL_POLICY, 'yaml');
  const run = (claims: Claims) => evaluateAppraisalPolicy(policy, verifiedResult(claims), { referenceValues: {} });

  it('parses, is named default, and has a stable hash', () => {
    expect(policy.name).toBe('default');
    expect(policyHash(parseAppraisalPolicy(DEFAULT_APPRAISAL_POLICY))).toBe(policyHash(policy));
  });

  it('accepts a non-debug SNP guest with any measurement', () => {
    expect(run(oak.claims).status).toBe('affirming');
    expect(run(withClaims(oak.claims, (c) => void (c.measurement = 'ff'.repeat(48)))).status).toBe('affirming');
  });

  it('denies the debug SNP guest', () => {
    const d = run(gosev.claims);
    expect(d.status).toBe('contraindicated');
    expect(d.rules.filter((r) => !r.ok).map((r) => r.id)).toEqual(['snp.allowDebug']);
  });

  it('accepts an UpToDate TD and denies OutOfDate and TcbNotSupported', () => {
    expect(run(phala.claims).status).toBe('affirming');
    const d = run(zk.claims);
    expect(d.status).toBe('contraindicated');
    expect(d.rules.filter((r) => !r.ok).map((r) => r.id)).toEqual(['tdx.acceptedTcbStatuses']);
    expect(run(tdxCase('gotdx-50806f-v4-no-tcb-level').claims).status).toBe('contraindicated');
  });

  it('denies a debug TD and SGX enclaves that are not UpToDate', () => {
    expect(run(withClaims(phala.claims, (c) => void (c.debug = true))).status).toBe('contraindicated');
    expect(rule(run(sgx.claims), 'sgx.acceptedTcbStatuses')).toMatchObject({ ok: false, found: 'SWHardeningNeeded' });
  });
});

describe('malformed claims', () => {
  it('fail closed instead of throwing', () => {
    const broken = { ...oak.claims, tcb: undefined } as unknown as Claims;
    const d = evaluate({ snp: { minTcb: { snp: 1 } }, rules: [{ name: 'x', expr: 'tcb.reported.snp > 0' }] }, broken);
    expect(d.status).toBe('contraindicated');
    expect(d.rules.find((r) => r.id === 'snp.claims')).toMatchObject({ ok: false });
    expect(d.rules.find((r) => r.id === 'rules.x')).toMatchObject({ ok: false });
    expect(d.trustworthinessVector['instance-identity']).toBe(96);
  });
});

describe('every declarative rule speaks for its documented AR4SI claim', () => {
  const expected: Record<string, string> = {
    tee: 'hardware',
    'snp.measurements': 'executables',
    'snp.allowDebug': 'configuration',
    'snp.allowMigrationAgent': 'configuration',
    'snp.allowSmt': 'configuration',
    'snp.minTcb': 'hardware',
    'snp.vmpl': 'configuration',
    'snp.hostData': 'configuration',
    'snp.familyId': 'executables',
    'snp.imageId': 'executables',
    'snp.idKeyDigests': 'executables',
    'snp.authorKeyDigests': 'executables',
    'snp.minGuestSvn': 'executables',
    'snp.products': 'hardware',
    'snp.signers': 'hardware',
    'tdx.mrtd': 'executables',
    'tdx.rtmr.0': 'executables',
    'tdx.rtmr.3': 'executables',
    'tdx.mrConfigId': 'configuration',
    'tdx.mrOwner': 'configuration',
    'tdx.mrOwnerConfig': 'configuration',
    'tdx.allowDebug': 'configuration',
    'tdx.allowMigratable': 'configuration',
    'tdx.requireSeptVeDisable': 'configuration',
    'tdx.acceptedTcbStatuses': 'hardware',
    'tdx.warnTcbStatuses': 'hardware',
    'tdx.forbiddenAdvisories': 'hardware',
    'tdx.mrServiceTd': 'executables',
    'tdx.minTcbEvaluationDataNumber': 'hardware',
    'sgx.mrenclave': 'executables',
    'sgx.mrsigner': 'executables',
    'sgx.isvProdId': 'executables',
    'sgx.minIsvSvn': 'executables',
    'sgx.allowDebug': 'configuration',
    'sgx.acceptedTcbStatuses': 'hardware',
    'sgx.warnTcbStatuses': 'hardware',
  };
  const h = (n: number) => '00'.repeat(n);
  const full = {
    snp: {
      measurements: [h(48)], allowSmt: true, minTcb: { snp: 0 }, vmpl: [0], hostData: [h(32)], familyId: [h(16)], imageId: [h(16)],
      idKeyDigests: [h(48)], authorKeyDigests: [h(48)], minGuestSvn: 0, products: ['Milan'], signers: ['VCEK'],
    },
    tdx: {
      mrtd: [h(48)], rtmr: { 0: [h(48)], 3: [h(48)] }, mrConfigId: [h(48)], mrOwner: [h(48)], mrOwnerConfig: [h(48)], requireSeptVeDisable: true,
      warnTcbStatuses: ['OutOfDate'], forbiddenAdvisories: ['INTEL-SA-00001'], mrServiceTd: [h(48)], minTcbEvaluationDataNumber: 1,
    },
    sgx: { mrenclave: [h(32)], mrsigner: [h(32)], isvProdId: [0], minIsvSvn: 0, warnTcbStatuses: ['OutOfDate'] },
  };

  it('covers every rule a full policy produces, for each TEE', () => {
    const ids = new Set<string>();
    for (const claims of [oak.claims, phala.claims, sgx.claims]) for (const r of evaluate(full, claims).rules) ids.add(r.id);
    ids.delete('evidence.verified');
    expect([...ids].sort()).toEqual(Object.keys(expected).sort());
    for (const id of ids) expect(claimsOfRule(id), id).toEqual([expected[id]]);
    expect(claimsOfRule('evidence.verified')).toEqual(['instance-identity', 'hardware']);
  });
});
