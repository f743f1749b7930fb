// One rule for every time window, SEV-SNP, Intel and X.509 alike: a certificate is valid
// from notBefore to notAfter inclusive (RFC 5280 4.1.2.5), a CRL is current from thisUpdate
// to nextUpdate inclusive (RFC 5280 5.1.2.4-5), and so are TCB Info and QE Identity from
// issueDate to nextUpdate. Checked on the real vectors at the exact instants and 1 ms past.

import { describe, expect, it } from 'vitest';
import { verifySnpReport } from '../../verifier/snp/verify-evidence.ts';
import { verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
import { parseCertificateDer, isValidAt } from '../../verifier/x509/certificate.ts';
import { isCrlCurrentAt, parseCrl } from '../../verifier/x509/crl.ts';
import { loadCase } from '../snp/cases.ts';
import { byName } from '../tdx/cases.ts';

const ms = (d: Date, delta: number): Date => new Date(d.getTime() + delta);

describe('time windows are inclusive at both ends, everywhere', () => {
  it('X.509: a certificate at notBefore and notAfter, and 1 ms outside', () => {
    const c = parseCertificateDer(loadCase('milan-v3-mstav').signer);
    expect([ms(c.notBefore, -1), c.notBefore, c.notAfter, ms(c.notAfter, 1)].map((t) => isValidAt(c, t))).toEqual([false, true, true, false]);
  });

  it('X.509: a CRL at thisUpdate and nextUpdate, and 1 ms outside', () => {
    const crl = parseCrl(byName('phala-b0c06f-v4-uptodate').collateral.pckCrl!);
    const next = crl.nextUpdate!;
    expect([ms(crl.thisUpdate, -1), crl.thisUpdate, next, ms(next, 1)].map((t) => isCrlCurrentAt(crl, t))).toEqual([false, true, true, false]);
  });

  it('SEV-SNP: the report verifies at the VCEK notAfter, and 1 ms later fails snp.chain.validity only', () => {
    const c = loadCase('milan-v3-mstav');
    const end = parseCertificateDer(c.signer).notAfter;
    expect(verifySnpReport(c.report, { certificates: c.certificates }, { at: end }).verified).toBe(true);
    const late = verifySnpReport(c.report, { certificates: c.certificates }, { at: ms(end, 1) });
    expect(late.checks.filter((x) => !x.ok).map((x) => x.id)).toEqual(['snp.chain.validity']);
  });

  it('Intel: the TCB Info is current at its nextUpdate, and 1 ms later it is not', () => {
    const c = byName('phala-b0c06f-v4-uptodate');
    const next = new Date(c.meta.collateral.tcb_info.nextUpdate);
    const validity = (at: Date) => verifyIntelQuote(c.quote, c.collateral, { at }).checks.find((x) => x.id === 'tdx.collateral.tcb-info.validity')!.ok;
    const issued = new Date(c.meta.collateral.tcb_info.issueDate);
    expect([ms(issued, -1), issued, next, ms(next, 1)].map(validity)).toEqual([false, true, true, false]);
  });

  it('an Invalid Date is refused by both verifiers, not compared (NaN is neither before nor after a window)', () => {
    const snp = loadCase('milan-v3-mstav');
    const tdx = byName('phala-b0c06f-v4-uptodate');
    expect(() => verifySnpReport(snp.report, { certificates: snp.certificates }, { at: new Date(NaN) })).toThrow(RangeError);
    expect(() => verifyIntelQuote(tdx.quote, tdx.collateral, { at: new Date(NaN) })).toThrow(RangeError);
  });
});
