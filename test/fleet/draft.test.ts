// draftWithTcb: a candidate minimum TCB put into a base policy, replacing only what it names,
// validated as an uploaded policy would be; and the platform ids the fleet and the what-if share.

import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { draftWithTcb } from '../../server/fleet/what-if.ts';
import { platformOf, workloadKey, workloadOf } from '../../server/fleet/platform.ts';
import { DEFAULT_APPRAISAL_POLICY, parseAppraisalPolicy, PolicyValidationError } from '../../verifier/policy/index.ts';

const base = parseAppraisalPolicy(DEFAULT_APPRAISAL_POLICY);

describe('draftWithTcb', () => {
  it('puts per-product minimums into a policy that had none; products not named get none', () => {
    const d = draftWithTcb(base, { snp: { Genoa: { snp: 22, microcode: 72 } } });
    expect(d.snp?.minTcb).toEqual({ Milan: { bootloader: 0 }, Genoa: { snp: 22, microcode: 72 }, Turin: { bootloader: 0 } });
    // Everything else is the base policy's.
    expect({ ...d, snp: { ...d.snp, minTcb: undefined } }).toEqual({ ...base, snp: { ...base.snp, minTcb: undefined } });
    expect(Object.isFrozen(base.snp)).toBe(true);
    expect(base.snp?.minTcb).toBeUndefined();
  });

  it('keeps a flat minimum for the products not named, and a per-product one as it was', () => {
    const flat = parseAppraisalPolicy({ snp: { minTcb: { bootloader: 3, snp: 8 } } });
    expect(draftWithTcb(flat, { snp: { Milan: { bootloader: 4 } } }).snp?.minTcb).toEqual({ Milan: { bootloader: 4 }, Genoa: { bootloader: 3, snp: 8 }, Turin: { bootloader: 3, snp: 8 } });
    const perProduct = parseAppraisalPolicy({ snp: { minTcb: { Milan: { snp: 20 }, Turin: { fmc: 1 } } } });
    // Genoa stays absent: the base refuses Genoa reports, and so does the draft.
    expect(draftWithTcb(perProduct, { snp: { Milan: { snp: 24 } } }).snp?.minTcb).toEqual({ Milan: { snp: 24 }, Turin: { fmc: 1 } });
  });

  it('replaces the Intel fields the candidate sets, keeping the others', () => {
    const p = parseAppraisalPolicy({ tdx: { acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'], allowDebug: false } });
    const d = draftWithTcb(p, { tdx: { minTcbEvaluationDataNumber: 18 }, sgx: { acceptedTcbStatuses: ['UpToDate'] } });
    expect(d.tdx).toEqual({ acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'], allowDebug: false, minTcbEvaluationDataNumber: 18 });
    expect(d.sgx).toEqual({ acceptedTcbStatuses: ['UpToDate'] });
  });

  it('validates the result as any policy: a bad value is policy_invalid at its field', () => {
    const err = (() => {
      try {
        draftWithTcb(base, { snp: { Milan: { bootloader: 300 } } });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(err).toBeInstanceOf(PolicyValidationError);
    expect((err as PolicyValidationError).issues[0]?.path).toBe('snp.minTcb.Milan.bootloader');
  });
});

describe('platformOf', () => {
  const chip = 'ab'.repeat(64);
  it('names an SNP chip by the first 16 hex of SHA-256 of CHIP_ID, a masked one by its product', () => {
    const p = platformOf({ tee: 'sev-snp', platform: { product: 'Genoa', chipId: chip, signer: 'VLEK' }, tcb: { reported: { bootloader: 1, tee: 0, snp: 2, microcode: 3 } }, firmware: { major: 1, minor: 2, build: 3 }, intel: undefined });
    expect(p).toEqual({
      id: createHash('sha256').update(Buffer.from(chip, 'hex')).digest('hex').slice(0, 16),
      vendor: 'amd',
      product: 'Genoa',
      snp: { chipIdMasked: false, signer: 'VLEK', reportedTcb: { bootloader: 1, tee: 0, snp: 2, microcode: 3 }, firmware: '1.2.3' },
    });
    expect(platformOf({ tee: 'az-snp-vtpm', platform: { product: 'Milan', chipId: '00'.repeat(64) }, tcb: {}, firmware: undefined, intel: undefined })).toMatchObject({ id: 'masked:Milan', snp: { chipIdMasked: true, reportedTcb: null, firmware: null } });
  });

  it('names an Intel platform by its PPID hash, or by FMSPC for a result that kept none; nothing for shapes not ours', () => {
    const ppidSha256 = 'cd'.repeat(32);
    expect(platformOf({ tee: 'tdx', platform: { fmspc: '00806f050000' }, tcb: { status: 'UpToDate' }, firmware: undefined, intel: { ppidSha256, pceId: '0000', qe: { isvSvn: 4, status: 'UpToDate' } } })).toMatchObject({
      id: ppidSha256.slice(0, 16),
      vendor: 'intel',
      intel: { fmspc: '00806f050000', pceId: '0000', tcbStatus: 'UpToDate', qe: { isvSvn: 4, status: 'UpToDate', tcbDate: null } },
    });
    expect(platformOf({ tee: 'sgx', platform: { fmspc: '00606a000000' }, tcb: {}, firmware: undefined, intel: undefined })?.id).toBe('fmspc:00606a000000');
    expect(platformOf({ tee: 'sev-snp', platform: 'Milan', tcb: null, firmware: null, intel: null })).toBeUndefined();
    expect(platformOf({ tee: 'sev-snp', platform: { chipId: 'not hex' }, tcb: null, firmware: null, intel: null })).toBeUndefined();
    expect(platformOf({ tee: 'tdx', platform: {}, tcb: null, firmware: null, intel: null })).toBeUndefined();
  });

  it('tells workloads apart by measurement and, for TDX, RTMRs', () => {
    const m = '11'.repeat(48);
    expect(workloadKey(workloadOf(m, undefined)!)).not.toBe(workloadKey(workloadOf(m, ['00', '01', '02', '03'])!));
    expect(workloadOf(7, undefined)).toBeUndefined();
  });
});
