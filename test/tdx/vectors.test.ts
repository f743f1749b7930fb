// Every Intel vector of test/fixtures/tdx and test/fixtures/sgx gives the result, TCB
// status and advisories its case.json expects at its verify_at, and parses to the field
// values case.json records.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import type { CollateralSource } from '../../verifier/collateral/source.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { intelCollateralNeeds, verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
import { ALL_CASES, byName, type IntelCase } from './cases.ts';

const failed = (r: { checks: { id: string; ok: boolean }[] }): string[] => r.checks.filter((c) => !c.ok).map((c) => c.id);

/** The checks each negative vector must fail, and only those. */
const EXPECTED_FAILURES: Record<string, string[]> = {
  'gotdx-50806f-v4-no-tcb-level': ['tdx.tcb.status'],
  'phala-90c06f-v5-no-tcb-level': ['tdx.tcb.status'],
  // Only the TCB Info is current in 2026; its 2018 TCB Signing certificate expired in 2025.
  'gotdx-90c06f-v5-mixed-collateral': [
    'tdx.pck.crl',
    'tdx.collateral.tcb-info.chain',
    'tdx.collateral.qe-identity.chain',
    'tdx.collateral.qe-identity.validity',
    'tdx.root-ca.crl',
  ],
};

describe.each(ALL_CASES.map((c) => [c.name, c] as [string, IntelCase]))('%s', (_name, c) => {
  it('parses to the fields case.json records', () => {
    const q = parseIntelQuote(c.quote);
    const m = c.meta;
    expect(q.tee).toBe(c.tee);
    expect(q.length).toBe(m.quote.quote_length);
    expect(q.trailingBytes).toBe(m.quote.trailing_bytes);
    expect(q.header.version).toBe(m.quote.version);
    expect(q.header.qeSvn).toBe(m.quote.header_qe_svn);
    expect(q.header.pceSvn).toBe(m.quote.header_pce_svn);
    expect(q.header.qeVendorId.toString('hex')).toBe(m.quote.qe_vendor_id);
    expect(q.header.userData.toString('hex')).toBe(m.quote.header_user_data);
    const qe = q.certification.qeReport;
    expect({
      isvsvn: qe.isvSvn,
      isvprodid: qe.isvProdId,
      mrsigner: qe.mrSigner.toString('hex'),
      mrenclave: qe.mrEnclave.toString('hex'),
      attributes: qe.attributes.toString('hex'),
      report_data: qe.reportData.toString('hex'),
    }).toEqual({
      isvsvn: m.qe_report.isvsvn,
      isvprodid: m.qe_report.isvprodid,
      mrsigner: m.qe_report.mrsigner,
      mrenclave: m.qe_report.mrenclave,
      attributes: m.qe_report.attributes,
      report_data: m.qe_report.report_data,
    });
    if (q.body.kind === 'sgx') {
      const r = q.body.report;
      expect({
        cpusvn: r.cpuSvn.toString('hex'),
        attributes: r.attributes.toString('hex'),
        mrenclave: r.mrEnclave.toString('hex'),
        mrsigner: r.mrSigner.toString('hex'),
        isvprodid: r.isvProdId,
        isvsvn: r.isvSvn,
        report_data: r.reportData.toString('hex'),
      }).toEqual({ ...m.report, miscselect: undefined });
      expect(r.miscSelect).toBe(Buffer.from(m.report.miscselect!, 'hex').readUInt32LE(0));
    } else {
      const r = q.body.report;
      const h = (b: Buffer | undefined) => b?.toString('hex');
      expect({
        tee_tcb_svn: h(r.teeTcbSvn),
        mr_seam: h(r.mrSeam),
        mr_signer_seam: h(r.mrSignerSeam),
        seam_attributes: h(r.seamAttributes),
        td_attributes: h(r.tdAttributes),
        xfam: h(r.xfam),
        mr_td: h(r.mrTd),
        mr_config_id: h(r.mrConfigId),
        mr_owner: h(r.mrOwner),
        mr_owner_config: h(r.mrOwnerConfig),
        rtmr0: h(r.rtmr[0]),
        rtmr1: h(r.rtmr[1]),
        rtmr2: h(r.rtmr[2]),
        rtmr3: h(r.rtmr[3]),
        report_data: h(r.reportData),
        ...(r.teeTcbSvn2 ? { tee_tcb_svn_2: h(r.teeTcbSvn2), mr_service_td: h(r.mrServiceTd) } : {}),
      }).toEqual(m.report);
      expect(q.body.kind).toBe(m.quote.version === 5 && r.teeTcbSvn2 ? 'td15' : 'td10');
    }
    expect(intelCollateralNeeds(c.quote)).toEqual({
      tee: c.tee,
      fmspc: m.pck.fmspc,
      pckCa: m.pck.issuer_ca.includes('Processor') ? 'processor' : 'platform',
    });
  });

  it(`verifies to ${c.meta.expected.verification.split(' ')[0]} with TCB status ${c.status}`, () => {
    const r = verifyIntelQuote(c.quote, c.collateral, { at: c.at });
    expect(r.tee).toBe(c.tee);
    expect(r.verified).toBe(c.verified);
    expect(r.tcb?.status).toBe(c.status);
    expect(r.tcb?.advisoryIds).toEqual(c.meta.expected.advisory_ids);
    expect(failed(r)).toEqual(EXPECTED_FAILURES[c.name] ?? []);
    expect(r.tcb?.evaluationDataNumber).toBe(
      Math.min(c.meta.collateral.tcb_info.tcbEvaluationDataNumber, c.meta.collateral.qe_identity.tcbEvaluationDataNumber),
    );
    // Claims: normalised and by name.
    const claims = r.claims!;
    expect(claims.platform).toEqual({ fmspc: c.meta.pck.fmspc, signer: 'PCK' });
    // The platform's identity for the fleet view: the PPID only hashed, the PCE-ID, the QE's SVN.
    expect(r.platform).toMatchObject({ ppidSha256: createHash('sha256').update(Buffer.from(c.meta.pck.ppid, 'hex')).digest('hex'), pceId: c.meta.pck.pceid.toLowerCase(), qe: { isvSvn: parseIntelQuote(c.quote).certification.qeReport.isvSvn } });
    expect(claims.tcb.status).toBe(c.status);
    expect(claims.simulated).toBeUndefined();
    if (c.tee === 'tdx') {
      expect(claims.measurement).toBe(c.meta.report.mr_td);
      expect(claims.reportData).toBe(c.meta.report.report_data);
      expect(claims.tdx?.rtmr).toEqual([c.meta.report.rtmr0, c.meta.report.rtmr1, c.meta.report.rtmr2, c.meta.report.rtmr3]);
      expect(claims.debug).toBe((Buffer.from(c.meta.report.td_attributes!, 'hex')[0]! & 1) === 1);
    } else {
      expect(claims.measurement).toBe(c.meta.report.mrenclave);
      expect(claims.sgx?.mrSigner).toBe(c.meta.report.mrsigner);
    }
    // The trailing padding is reported, never verified.
    expect(r.warnings.some((w) => w.includes('follow the quote'))).toBe(c.meta.quote.trailing_bytes > 0);
    // Every document used is recorded.
    const kinds = r.collateral.map((u) => u.kind).sort();
    expect(kinds).toEqual(c.collateral.pckCrl ? ['pck-crl', 'qe-identity', 'root-ca-crl', 'tcb-info'] : ['qe-identity', 'tcb-info']);
    for (const u of r.collateral) expect(u).toMatchObject({ source: 'input', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
  });
});

describe('vectors without CRLs (oasis)', () => {
  const c = byName('oasis-c0806f-v4-uptodate-nocrl');

  it('verify with a warning by default (crl: prefer)', () => {
    const r = verifyIntelQuote(c.quote, c.collateral, { at: c.at });
    expect(r.verified).toBe(true);
    expect(r.warnings.some((w) => w.startsWith('No PCK CRL was supplied'))).toBe(true);
    expect(r.warnings.some((w) => w.startsWith('No Root CA CRL was supplied'))).toBe(true);
  });

  it('are rejected when CRLs are required, naming both', () => {
    const r = verifyIntelQuote(c.quote, c.collateral, { at: c.at, crl: 'require' });
    expect(r.verified).toBe(false);
    expect(failed(r)).toEqual(['tdx.pck.crl', 'tdx.root-ca.crl']);
  });

  it('record that revocation was not checked when CRL checks are off', () => {
    const withCrl = byName('phala-b0c06f-v4-uptodate');
    const r = verifyIntelQuote(withCrl.quote, withCrl.collateral, { at: withCrl.at, crl: 'off' });
    expect(r.verified).toBe(true);
    expect(r.checks.some((x) => x.id.endsWith('.crl'))).toBe(false);
    expect(r.collateral.map((u) => u.kind)).not.toContain('pck-crl');
    expect(r.warnings.some((w) => w.includes('CRL checks were skipped'))).toBe(true);
  });
});

describe('verifyEvidence (the one entry point)', () => {
  const c = byName('zkdcap-00806f050000-v4-outofdate');

  it('uses collateral carried with the evidence, recorded as such', async () => {
    const r = await verifyEvidence({ tee: 'tdx', quote: c.quote, collateral: c.collateral }, { at: c.at });
    expect(r.verified).toBe(true);
    expect(r.tcb?.status).toBe('OutOfDate');
    expect(new Set(r.collateral.map((u) => u.source))).toEqual(new Set(['evidence']));
  });

  it('asks a collateral source for what the quote needs, and records where each document came from', async () => {
    const asked: string[] = [];
    const doc = (bytes: Uint8Array | string, issuerChain?: string, stale?: boolean) => ({
      bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes,
      source: 'cache',
      ...(issuerChain ? { issuerChain } : {}),
      ...(stale ? { stale } : {}),
    });
    const unavailable = (d: string) => Promise.reject(new CollateralUnavailableError(d, `no ${d}`));
    const source: CollateralSource = {
      snpVcek: () => unavailable('vcek'),
      snpCertChain: () => unavailable('cert_chain'),
      snpCrl: () => unavailable('crl'),
      intelTcbInfo: (req) => (asked.push(`tcb-info ${req.tee} ${req.fmspc}`), Promise.resolve(doc(c.collateral.tcbInfo, c.collateral.tcbInfoIssuerChain))),
      intelQeIdentity: (req) => (asked.push(`qe-identity ${req.tee}`), Promise.resolve(doc(c.collateral.qeIdentity, c.collateral.qeIdentityIssuerChain))),
      intelPckCrl: (req) => (asked.push(`pck-crl ${req.ca}`), Promise.resolve(doc(c.collateral.pckCrl!, c.collateral.pckCrlIssuerChain))),
      intelRootCaCrl: () => (asked.push('root-ca-crl'), Promise.resolve(doc(c.collateral.rootCaCrl!, undefined, true))),
    };
    const r = await verifyEvidence({ tee: 'tdx', quote: c.quote }, { at: c.at, collateral: source });
    expect(r.verified).toBe(true);
    expect(asked.sort()).toEqual(['pck-crl platform', 'qe-identity tdx', 'root-ca-crl', 'tcb-info tdx 00806f050000']);
    expect(r.collateral.find((u) => u.kind === 'root-ca-crl')).toMatchObject({ source: 'cache', stale: true });
    expect(r.collateral.find((u) => u.kind === 'tcb-info')).toMatchObject({ source: 'cache' });
  });

  it('verifies the bytes it was handed, even if the caller changes its buffer while collateral is fetched', async () => {
    const quote = Buffer.from(c.quote);
    const original = verifyIntelQuote(c.quote, c.collateral, { at: c.at });
    const doc = (bytes: Uint8Array | string, issuerChain?: string) => ({
      bytes: typeof bytes === 'string' ? Buffer.from(bytes, 'utf8') : bytes,
      source: 'cache',
      ...(issuerChain ? { issuerChain } : {}),
    });
    const source: CollateralSource = {
      snpVcek: () => Promise.reject(new CollateralUnavailableError('vcek', 'none')),
      snpCertChain: () => Promise.reject(new CollateralUnavailableError('cert_chain', 'none')),
      snpCrl: () => Promise.reject(new CollateralUnavailableError('crl', 'none')),
      intelTcbInfo: () => {
        quote.fill(0x41, 48 + 136, 48 + 136 + 48); // MRTD, while the verifier waits
        return Promise.resolve(doc(c.collateral.tcbInfo, c.collateral.tcbInfoIssuerChain));
      },
      intelQeIdentity: () => Promise.resolve(doc(c.collateral.qeIdentity, c.collateral.qeIdentityIssuerChain)),
      intelPckCrl: () => Promise.resolve(doc(c.collateral.pckCrl!, c.collateral.pckCrlIssuerChain)),
      intelRootCaCrl: () => Promise.resolve(doc(c.collateral.rootCaCrl!)),
    };
    const r = await verifyEvidence({ tee: 'tdx', quote }, { at: c.at, collateral: source });
    expect(quote.subarray(48 + 136, 48 + 136 + 48).every((b) => b === 0x41)).toBe(true);
    expect(r.verified).toBe(original.verified);
    expect(r.claims).toEqual(original.claims);
  });

  it('fails closed, naming the document, when no collateral can be had', async () => {
    await expect(verifyEvidence({ tee: 'tdx', quote: c.quote }, { at: c.at })).rejects.toMatchObject({
      name: 'CollateralUnavailableError',
      document: 'tcb-info',
    });
  });

  it('rejects evidence whose label does not match the quote', async () => {
    await expect(verifyEvidence({ tee: 'sgx', quote: c.quote, collateral: c.collateral }, { at: c.at })).rejects.toBeInstanceOf(EvidenceFormatError);
  });
});
