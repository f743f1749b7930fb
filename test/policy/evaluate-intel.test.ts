// Every declarative TDX and SGX field, pass and fail, on claims from real quotes.
import { describe, expect, it } from 'vitest';
import type { PolicyContext } from '../../verifier/policy/index.ts';
import type { Claims } from '../../verifier/result.ts';
import { sgxCase, tdxCase, evaluate, rule, withClaims } from './fixture-claims.ts';

const phala = tdxCase('phala-b0c06f-v4-uptodate'); // UpToDate, TD 1.0, SEPT_VE_DISABLE set, RTMR 0-2 non-zero
const zk = tdxCase('zkdcap-00806f050000-v4-outofdate'); // OutOfDate, three advisories
const td15 = tdxCase('gotdx-90c06f-v5-mixed-collateral'); // TD 1.5: has MRSERVICETD
const pks = tdxCase('gotdx-50806f-v4-no-tcb-level'); // TDATTRIBUTES 0x40000000 (PKS), SEPT_VE_DISABLE clear
const automata = sgxCase('sgx-automata-00606a000000-v3-swhardening'); // SWHardeningNeeded
const phalaSgx = sgxCase('sgx-phala-00a067110000-v3-config-swhardening'); // ConfigurationAndSWHardeningNeeded

const tdxRule = (section: Record<string, unknown>, claims: Claims, id: string, ctx?: PolicyContext) => rule(evaluate({ tdx: section }, claims, ctx), id);
const sgxRule = (section: Record<string, unknown>, claims: Claims, id: string) => rule(evaluate({ sgx: section }, claims), id);

const r = (c: { report: Record<string, unknown> }, k: string): string => c.report[k] as string;

describe('TDX declarative fields on real claims', () => {
  it('mrtd: list and reference-value set', () => {
    expect(tdxRule({ mrtd: [r(phala, 'mr_td')] }, phala.claims, 'tdx.mrtd')).toMatchObject({ ok: true, found: r(phala, 'mr_td') });
    expect(tdxRule({ mrtd: [r(zk, 'mr_td')] }, phala.claims, 'tdx.mrtd')).toMatchObject({ ok: false, found: r(phala, 'mr_td') });
    const refs = { referenceValues: { 'mrtd-prod': [r(zk, 'mr_td')] } };
    expect(tdxRule({ mrtd: { referenceValues: 'mrtd-prod' } }, zk.claims, 'tdx.mrtd', refs)).toMatchObject({ ok: true });
    expect(tdxRule({ mrtd: { referenceValues: 'mrtd-prod' } }, phala.claims, 'tdx.mrtd', refs)).toMatchObject({ ok: false });
  });

  it('rtmr: one outcome per index', () => {
    const d = evaluate({ tdx: { rtmr: { 0: [r(phala, 'rtmr0')], 2: [r(zk, 'rtmr2')] } } }, phala.claims);
    expect(rule(d, 'tdx.rtmr.0')).toMatchObject({ ok: true, found: r(phala, 'rtmr0') });
    expect(rule(d, 'tdx.rtmr.2')).toMatchObject({ ok: false, found: r(phala, 'rtmr2') });
    expect(d.rules.some((x) => x.id === 'tdx.rtmr.1' || x.id === 'tdx.rtmr.3')).toBe(false);
    const refs = { referenceValues: { kernels: [r(phala, 'rtmr1')] } };
    expect(tdxRule({ rtmr: { 1: { referenceValues: 'kernels' } } }, phala.claims, 'tdx.rtmr.1', refs)).toMatchObject({ ok: true });
  });

  it('mrConfigId, mrOwner, mrOwnerConfig', () => {
    const zero = '00'.repeat(48);
    for (const [field, id] of [['mrConfigId', 'tdx.mrConfigId'], ['mrOwner', 'tdx.mrOwner'], ['mrOwnerConfig', 'tdx.mrOwnerConfig']] as const) {
      expect(tdxRule({ [field]: [zero] }, phala.claims, id), field).toMatchObject({ ok: true, found: zero });
      expect(tdxRule({ [field]: ['11'.repeat(48)] }, phala.claims, id), field).toMatchObject({ ok: false, found: zero });
    }
  });

  it('allowDebug: denied by default', () => {
    expect(rule(evaluate({}, phala.claims), 'tdx.allowDebug')).toMatchObject({ ok: true, found: false });
    const dbg = withClaims(phala.claims, (c) => {
      c.debug = true;
    });
    expect(rule(evaluate({}, dbg), 'tdx.allowDebug')).toMatchObject({ ok: false, found: true });
    expect(tdxRule({ allowDebug: true }, dbg, 'tdx.allowDebug')).toMatchObject({ ok: true });
  });

  it('requireSeptVeDisable: decoded from the raw TDATTRIBUTES bytes', () => {
    expect(tdxRule({ requireSeptVeDisable: true }, phala.claims, 'tdx.requireSeptVeDisable')).toMatchObject({ ok: true, found: true });
    expect(tdxRule({ requireSeptVeDisable: true }, pks.claims, 'tdx.requireSeptVeDisable')).toMatchObject({ ok: false, found: false });
    const none = withClaims(pks.claims, (c) => {
      delete c.tdx.tdAttributes;
    });
    expect(tdxRule({ requireSeptVeDisable: true }, none, 'tdx.requireSeptVeDisable')).toMatchObject({ ok: false, found: null });
  });

  it('acceptedTcbStatuses: UpToDate only by default', () => {
    expect(rule(evaluate({}, phala.claims), 'tdx.acceptedTcbStatuses')).toMatchObject({ ok: true, found: 'UpToDate', expected: ['UpToDate'] });
    expect(rule(evaluate({}, zk.claims), 'tdx.acceptedTcbStatuses')).toMatchObject({ ok: false, found: 'OutOfDate' });
    expect(tdxRule({ acceptedTcbStatuses: ['UpToDate', 'OutOfDate'] }, zk.claims, 'tdx.acceptedTcbStatuses')).toMatchObject({ ok: true });
    expect(rule(evaluate({}, pks.claims), 'tdx.acceptedTcbStatuses')).toMatchObject({ ok: false, found: 'TcbNotSupported' });
  });

  it('warnTcbStatuses: accepted, with a failed warn rule', () => {
    const d = evaluate({ tdx: { warnTcbStatuses: ['OutOfDate'] } }, zk.claims);
    expect(rule(d, 'tdx.acceptedTcbStatuses')).toMatchObject({ ok: true });
    expect(rule(d, 'tdx.warnTcbStatuses')).toMatchObject({ ok: false, effect: 'warn', found: 'OutOfDate' });
    expect(d.status).toBe('warning');
    expect(rule(evaluate({ tdx: { warnTcbStatuses: ['OutOfDate'] } }, phala.claims), 'tdx.warnTcbStatuses')).toMatchObject({ ok: true });
  });

  it('forbiddenAdvisories', () => {
    const bad = tdxRule({ forbiddenAdvisories: ['intel-sa-00982'], acceptedTcbStatuses: ['OutOfDate'] }, zk.claims, 'tdx.forbiddenAdvisories');
    expect(bad).toMatchObject({ ok: false, found: ['INTEL-SA-00960', 'INTEL-SA-00982', 'INTEL-SA-00986'] });
    expect(bad.detail).toContain('INTEL-SA-00982');
    expect(tdxRule({ forbiddenAdvisories: ['INTEL-SA-00615'] }, zk.claims, 'tdx.forbiddenAdvisories')).toMatchObject({ ok: true });
    expect(tdxRule({ forbiddenAdvisories: ['INTEL-SA-00982'] }, phala.claims, 'tdx.forbiddenAdvisories')).toMatchObject({ ok: true, found: [] });
  });

  it('mrServiceTd: TD 1.5 only; a TD 1.0 report fails closed', () => {
    const v = r(td15, 'mr_service_td');
    expect(tdxRule({ mrServiceTd: [v] }, td15.claims, 'tdx.mrServiceTd')).toMatchObject({ ok: true, found: v });
    expect(tdxRule({ mrServiceTd: ['11'.repeat(48)] }, td15.claims, 'tdx.mrServiceTd')).toMatchObject({ ok: false });
    const r10 = tdxRule({ mrServiceTd: [v] }, phala.claims, 'tdx.mrServiceTd');
    expect(r10).toMatchObject({ ok: false, found: null });
    expect(r10.detail).toMatch(/TD 1\.0/);
  });

  it('minTcbEvaluationDataNumber', () => {
    expect(tdxRule({ minTcbEvaluationDataNumber: 17 }, phala.claims, 'tdx.minTcbEvaluationDataNumber')).toMatchObject({ ok: true, found: 17 });
    expect(tdxRule({ minTcbEvaluationDataNumber: 18 }, phala.claims, 'tdx.minTcbEvaluationDataNumber')).toMatchObject({ ok: false, found: 17 });
  });
});

describe('SGX declarative fields on real claims', () => {
  it('mrenclave and mrsigner', () => {
    expect(sgxRule({ mrenclave: [r(automata, 'mrenclave')] }, automata.claims, 'sgx.mrenclave')).toMatchObject({ ok: true });
    expect(sgxRule({ mrenclave: [r(phalaSgx, 'mrenclave')] }, automata.claims, 'sgx.mrenclave')).toMatchObject({ ok: false });
    expect(sgxRule({ mrsigner: [r(automata, 'mrsigner')] }, automata.claims, 'sgx.mrsigner')).toMatchObject({ ok: true });
    expect(sgxRule({ mrsigner: ['00'.repeat(32)] }, automata.claims, 'sgx.mrsigner')).toMatchObject({ ok: false, found: r(automata, 'mrsigner') });
  });

  it('isvProdId and minIsvSvn', () => {
    expect(sgxRule({ isvProdId: [0] }, automata.claims, 'sgx.isvProdId')).toMatchObject({ ok: true, found: 0 });
    expect(sgxRule({ isvProdId: [1, 2] }, automata.claims, 'sgx.isvProdId')).toMatchObject({ ok: false, found: 0 });
    expect(sgxRule({ minIsvSvn: 0 }, automata.claims, 'sgx.minIsvSvn')).toMatchObject({ ok: true });
    expect(sgxRule({ minIsvSvn: 1 }, automata.claims, 'sgx.minIsvSvn')).toMatchObject({ ok: false, found: 0 });
  });

  it('allowDebug and acceptedTcbStatuses', () => {
    expect(rule(evaluate({}, automata.claims), 'sgx.allowDebug')).toMatchObject({ ok: true, found: false });
    expect(rule(evaluate({}, automata.claims), 'sgx.acceptedTcbStatuses')).toMatchObject({ ok: false, found: 'SWHardeningNeeded' });
    const d = evaluate({ sgx: { acceptedTcbStatuses: ['UpToDate'], warnTcbStatuses: ['SWHardeningNeeded'] } }, automata.claims);
    expect(d.status).toBe('warning');
    expect(rule(evaluate({ sgx: { acceptedTcbStatuses: ['SWHardeningNeeded'] } }, phalaSgx.claims), 'sgx.acceptedTcbStatuses')).toMatchObject({
      ok: false,
      found: 'ConfigurationAndSWHardeningNeeded',
    });
  });
});

describe('TEE sections', () => {
  it('only the section of the evidence TEE applies', () => {
    const d = evaluate({ snp: { minGuestSvn: 99 }, sgx: { minIsvSvn: 99 }, tdx: { mrtd: [r(phala, 'mr_td')] } }, phala.claims);
    expect(d.rules.filter((x) => x.id.startsWith('snp.') || x.id.startsWith('sgx.'))).toEqual([]);
    expect(d.status).toBe('affirming');
  });

  it('a policy that does not accept the TEE fails the tee rule', () => {
    const d = evaluate({ tees: ['sev-snp'] }, phala.claims);
    expect(rule(d, 'tee')).toMatchObject({ ok: false, expected: ['sev-snp'], found: 'tdx' });
    expect(d.status).toBe('contraindicated');
    expect(d.trustworthinessVector.hardware).toBe(96);
  });
});
