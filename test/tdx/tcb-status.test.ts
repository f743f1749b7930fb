// Intel's TCB status rules (QVL TcbLevelCheck.cpp, TdxModuleCheck.cpp, TDRelaunchCheck.cpp)
// on the real TDX TCB Info of FMSPC b0c06f000000 and the real PCK certificate of that
// vector, with the TD report's TEE_TCB_SVN / TEE_TCB_SVN_2 and the QE level varied.

import { describe, expect, it } from 'vitest';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import type { TdReport } from '../../verifier/tdx/abi/td-report.ts';
import { parseQeIdentity, type QeIdentityLevel } from '../../verifier/tdx/qe-identity.ts';
import { parseTcbInfo } from '../../verifier/tdx/tcb-info.ts';
import { evaluateTcb } from '../../verifier/tdx/tcb-status.ts';
import { parsePckChain } from '../../verifier/tdx/verify-pck-chain.ts';
import { byName } from './cases.ts';

const c = byName('phala-b0c06f-v4-uptodate');
const quote = parseIntelQuote(c.quote);
const tcbInfo = parseTcbInfo(c.collateral.tcbInfo).body;
const pck = parsePckChain(quote.certification.pckChainPem).extension;
const qe = parseQeIdentity(c.collateral.qeIdentity).body;
const qeUpToDate = qe.tcbLevels[0]!;
const qeOutOfDate: QeIdentityLevel = { tcb: { isvsvn: 1 }, tcbDate: '2020-01-01T00:00:00Z', tcbStatus: 'OutOfDate', advisoryIDs: ['INTEL-SA-00999'] };
const qeRevoked: QeIdentityLevel = { tcb: { isvsvn: 1 }, tcbDate: '2020-01-01T00:00:00Z', tcbStatus: 'Revoked' };

const svn = (...lead: number[]): Buffer => Buffer.concat([Buffer.from(lead), Buffer.alloc(16 - lead.length)]);
function td(teeTcbSvn: Buffer, teeTcbSvn2?: Buffer): TdReport {
  if (quote.body.kind === 'sgx') throw new Error('TDX vector expected');
  const base = { ...quote.body.report, teeTcbSvn };
  return teeTcbSvn2 ? { ...base, kind: 'td15', teeTcbSvn2, mrServiceTd: Buffer.alloc(48) } : { ...base, kind: 'td10' };
}

describe('TDX TCB level, module and QE', () => {
  it('the vector itself: UpToDate, level of 2024-03-13', () => {
    const e = evaluateTcb({ tcbInfo, pck, td: td(quote.body.kind === 'sgx' ? svn() : quote.body.report.teeTcbSvn), qeLevel: qeUpToDate });
    expect(e).toMatchObject({ status: 'UpToDate', tcbDate: '2024-03-13T00:00:00Z', advisoryIds: [] });
    expect(e.moduleLevel?.tcb.isvsvn).toBe(4);
  });

  it('skips TEE_TCB_SVN[0..1] when the module major version is above 0 (judged by the module identity)', () => {
    // Index 0 is 4 < 5 required by every level: compared, nothing would match.
    expect(evaluateTcb({ tcbInfo, pck, td: td(svn(4, 1, 2)), qeLevel: qeUpToDate }).status).toBe('UpToDate');
  });

  it('compares all 16 TEE_TCB_SVN bytes for module major version 0, with no module identity', () => {
    expect(evaluateTcb({ tcbInfo, pck, td: td(svn(5, 0, 2)), qeLevel: qeUpToDate })).toMatchObject({ status: 'UpToDate' });
    const e = evaluateTcb({ tcbInfo, pck, td: td(svn(4, 0, 2)), qeLevel: qeUpToDate });
    expect(e.status).toBe('TcbNotSupported');
    expect(e.moduleLevel).toBeUndefined();
  });

  it('an out-of-date TDX module makes an UpToDate level OutOfDate', () => {
    const e = evaluateTcb({ tcbInfo, pck, td: td(svn(3, 1, 3)), qeLevel: qeUpToDate });
    expect(e.status).toBe('OutOfDate');
    expect(e.moduleLevel?.tcbStatus).toBe('OutOfDate');
  });

  it('a module major version without identity is TcbNotSupported', () => {
    const e = evaluateTcb({ tcbInfo, pck, td: td(svn(6, 2, 3)), qeLevel: qeUpToDate });
    expect(e.status).toBe('TcbNotSupported');
    expect(e.reason).toContain('TDX_02');
  });

  it('a module ISVSVN below every module level is TcbNotSupported', () => {
    expect(evaluateTcb({ tcbInfo, pck, td: td(svn(1, 1, 3)), qeLevel: qeUpToDate }).status).toBe('TcbNotSupported');
  });

  it('a TDX component below every level is TcbNotSupported', () => {
    expect(evaluateTcb({ tcbInfo, pck, td: td(svn(6, 1, 1)), qeLevel: qeUpToDate }).status).toBe('TcbNotSupported');
  });

  it('QE identity OutOfDate / Revoked / no level fold into the result', () => {
    const t = td(svn(6, 1, 3));
    expect(evaluateTcb({ tcbInfo, pck, td: t, qeLevel: qeOutOfDate })).toMatchObject({ status: 'OutOfDate', advisoryIds: ['INTEL-SA-00999'] });
    expect(evaluateTcb({ tcbInfo, pck, td: t, qeLevel: qeRevoked }).status).toBe('Revoked');
    expect(evaluateTcb({ tcbInfo, pck, td: t, qeLevel: undefined }).status).toBe('TcbNotSupported');
  });

  it('a level status a TCB Info may not serve (a computed status, or an unknown one) is TcbNotSupported', () => {
    for (const served of ['TDRelaunchAdvised', 'TDRelaunchAdvisedConfigurationNeeded', 'TcbNotSupported', 'Fine']) {
      const forged = { ...tcbInfo, tcbLevels: tcbInfo.tcbLevels.map((l) => ({ ...l, tcbStatus: served })) };
      const e = evaluateTcb({ tcbInfo: forged, pck, td: td(svn(6, 1, 3)), qeLevel: qeUpToDate });
      expect(e.status, served).toBe('TcbNotSupported');
      expect(e.reason).toContain(served);
    }
  });

  it('PCESVN below every level is TcbNotSupported', () => {
    expect(evaluateTcb({ tcbInfo, pck: { ...pck, pceSvn: 4 }, td: td(svn(6, 1, 3)), qeLevel: qeUpToDate }).status).toBe('TcbNotSupported');
  });

  it('PCESVN between levels matches the lower level with its advisories', () => {
    const e = evaluateTcb({ tcbInfo, pck: { ...pck, pceSvn: 5 }, td: td(svn(6, 1, 3)), qeLevel: qeUpToDate });
    expect(e.status).toBe('OutOfDate');
    expect(e.advisoryIds).toContain('INTEL-SA-00837');
    expect(e.sgxLevel?.tcb.pcesvn).toBe(5);
  });
});

describe('TD 1.5 relaunch (TDRelaunchCheck.cpp)', () => {
  it('TDRelaunchAdvised when only the launch-time module is out of date and TEE_TCB_SVN_2 meets the latest level', () => {
    const e = evaluateTcb({ tcbInfo, pck, td: td(svn(3, 1, 3), svn(6, 1, 3)), qeLevel: qeUpToDate });
    expect(e.status).toBe('TDRelaunchAdvised');
  });

  it('no relaunch advice when the running module is not current either', () => {
    expect(evaluateTcb({ tcbInfo, pck, td: td(svn(3, 1, 3), svn(3, 1, 3)), qeLevel: qeUpToDate }).status).toBe('OutOfDate');
  });

  it('no relaunch advice when the QE is out of date', () => {
    expect(evaluateTcb({ tcbInfo, pck, td: td(svn(3, 1, 3), svn(6, 1, 3)), qeLevel: qeOutOfDate }).status).toBe('OutOfDate');
  });

  it('TEE_TCB_SVN_2 naming a module without identity is TcbNotSupported', () => {
    expect(evaluateTcb({ tcbInfo, pck, td: td(svn(3, 1, 3), svn(6, 9, 3)), qeLevel: qeUpToDate }).status).toBe('TcbNotSupported');
  });

  it('a TD 1.5 report that is UpToDate stays UpToDate', () => {
    expect(evaluateTcb({ tcbInfo, pck, td: td(svn(6, 1, 3), svn(6, 1, 3)), qeLevel: qeUpToDate }).status).toBe('UpToDate');
  });
});

describe('SGX', () => {
  const s = byName('sgx-phala-00a067110000-v3-config-swhardening');
  const sq = parseIntelQuote(s.quote);
  const sInfo = parseTcbInfo(s.collateral.tcbInfo).body;
  const sPck = parsePckChain(sq.certification.pckChainPem).extension;

  it('the vector: ConfigurationAndSWHardeningNeeded with its advisories', () => {
    const level = parseQeIdentity(s.collateral.qeIdentity).body.tcbLevels[0]!;
    expect(evaluateTcb({ tcbInfo: sInfo, pck: sPck, qeLevel: level })).toMatchObject({
      status: 'ConfigurationAndSWHardeningNeeded',
      advisoryIds: ['INTEL-SA-00289', 'INTEL-SA-00615'],
    });
  });

  it('an out-of-date QE turns ConfigurationAndSWHardeningNeeded into OutOfDateConfigurationNeeded', () => {
    expect(evaluateTcb({ tcbInfo: sInfo, pck: sPck, qeLevel: qeOutOfDate }).status).toBe('OutOfDateConfigurationNeeded');
  });
});
