// Every declarative SEV-SNP field, pass and fail, on claims from real reports.
import { describe, expect, it } from 'vitest';
import type { PolicyContext, RuleOutcome } from '../../verifier/policy/index.ts';
import type { Claims } from '../../verifier/result.ts';
import { snpCase, evaluate, rule, withClaims } from './fixture-claims.ts';

const turin = snpCase('turin-v5-mstav'); // v5, FMC in the TCB, ID block fields, host data, guest SVN 2
const oak = snpCase('milan-v3-gcp-oak'); // Milan, VCEK, plain launch
const gosev = snpCase('milan-v2-gosevguest'); // DEBUG policy bit set
const vlek = snpCase('milan-v3-vlek-aws-trustee'); // VLEK, VMPL 1
const genoa = snpCase('genoa-v3-mstav');



/** Evaluate `snp: section` and return the one rule it names. */
function snpRule(section: Record<string, unknown>, claims: Claims, id: string, ctx?: PolicyContext): RuleOutcome {
  return rule(evaluate({ snp: section }, claims, ctx), id);
}

describe('SEV-SNP declarative fields on real claims', () => {
  it('fixtures are what their case.json says', () => {
    expect(turin.fields.version).toBe(5);
    expect(gosev.claims.debug).toBe(true);
    expect(vlek.claims.platform.signer).toBe('VLEK');
    expect((vlek.claims.snp as { vmpl: number }).vmpl).toBe(1);
  });

  it('measurements: inline list', () => {
    const ok = snpRule({ measurements: [turin.claims.measurement.toUpperCase()] }, turin.claims, 'snp.measurements');
    expect(ok).toMatchObject({ ok: true, found: turin.claims.measurement });
    const bad = snpRule({ measurements: [oak.claims.measurement] }, turin.claims, 'snp.measurements');
    expect(bad).toMatchObject({ ok: false, effect: 'deny', expected: [oak.claims.measurement], found: turin.claims.measurement });
    expect(bad.detail).toContain(turin.claims.measurement);
  });

  it('measurements: reference-value set, missing set, empty set', () => {
    const refs = { referenceValues: { prod: [oak.claims.measurement, turin.claims.measurement.toUpperCase()], empty: [] } };
    expect(snpRule({ measurements: { referenceValues: 'prod' } }, turin.claims, 'snp.measurements', refs)).toMatchObject({ ok: true });
    expect(snpRule({ measurements: { referenceValues: 'prod' } }, genoa.claims, 'snp.measurements', refs)).toMatchObject({ ok: false });
    const missing = snpRule({ measurements: { referenceValues: 'staging' } }, turin.claims, 'snp.measurements', refs);
    expect(missing).toMatchObject({ ok: false, expected: { referenceValues: 'staging' } });
    expect(missing.detail).toMatch(/does not exist/);
    expect(snpRule({ measurements: { referenceValues: 'empty' } }, turin.claims, 'snp.measurements', refs).detail).toMatch(/is empty/);
    // A set name that is also an Object.prototype property is still just a missing set.
    expect(snpRule({ measurements: { referenceValues: 'constructor' } }, turin.claims, 'snp.measurements', refs).detail).toMatch(/does not exist/);
  });

  it('allowDebug: denied by default, allowed when set', () => {
    expect(rule(evaluate({}, gosev.claims), 'snp.allowDebug')).toMatchObject({ ok: false, expected: false, found: true });
    expect(rule(evaluate({}, oak.claims), 'snp.allowDebug')).toMatchObject({ ok: true, found: false });
    expect(snpRule({ allowDebug: true }, gosev.claims, 'snp.allowDebug')).toMatchObject({ ok: true, found: true });
  });

  it('allowMigrationAgent: denied by default (from the decoded guest policy)', () => {
    expect(rule(evaluate({}, oak.claims), 'snp.allowMigrationAgent')).toMatchObject({ ok: true, found: false });
    const ma = withClaims(oak.claims, (c) => {
      (c.snp.policy as Record<string, unknown>).migrateMa = true;
    });
    expect(rule(evaluate({}, ma), 'snp.allowMigrationAgent')).toMatchObject({ ok: false, found: true });
    expect(snpRule({ allowMigrationAgent: true }, ma, 'snp.allowMigrationAgent')).toMatchObject({ ok: true });
  });

  it('guest policy bits missing from the claims fail closed', () => {
    const missing = withClaims(oak.claims, (c) => {
      delete c.snp.policy;
    });
    expect(rule(evaluate({}, missing), 'snp.allowMigrationAgent')).toMatchObject({ ok: false, found: null });
    expect(snpRule({ allowSmt: false }, missing, 'snp.allowSmt')).toMatchObject({ ok: false, found: null });
  });

  it('allowSmt: false denies a guest whose policy allows SMT (policy 0x30000 has it)', () => {
    expect(snpRule({ allowSmt: false }, oak.claims, 'snp.allowSmt')).toMatchObject({ ok: false, found: true });
    expect(snpRule({ allowSmt: true }, oak.claims, 'snp.allowSmt')).toMatchObject({ ok: true });
    expect(evaluate({}, oak.claims).rules.some((r) => r.id === 'snp.allowSmt')).toBe(false);
  });

  it('minTcb: each component against REPORTED_TCB', () => {
    // oak: bootloader 4, tee 0, snp 24, microcode 219
    const ok = snpRule({ minTcb: { bootloader: 4, tee: 0, snp: 24, microcode: 219 } }, oak.claims, 'snp.minTcb');
    expect(ok).toMatchObject({ ok: true, found: { bootloader: 4, tee: 0, snp: 24, microcode: 219 } });
    for (const c of ['bootloader', 'tee', 'snp', 'microcode'] as const) {
      const min = { bootloader: 4, tee: 0, snp: 24, microcode: 219, [c]: (oak.claims.tcb.reported?.[c] ?? 0) + 1 };
      const r = snpRule({ minTcb: min }, oak.claims, 'snp.minTcb');
      expect(r.ok, c).toBe(false);
      expect(r.detail).toContain(c);
    }
  });

  it('minTcb: the VLEK report whose reported TCB is below its current TCB is held to the reported one', () => {
    const v2 = snpCase('milan-v2-vlek-aws-constellation'); // current snp 22, reported snp 21
    expect(snpRule({ minTcb: { snp: 22 } }, v2.claims, 'snp.minTcb')).toMatchObject({ ok: false, found: { snp: 21 } });
    expect(snpRule({ minTcb: { snp: 21 } }, v2.claims, 'snp.minTcb')).toMatchObject({ ok: true });
  });

  it('minTcb.fmc: checked on Turin, not applicable to Milan', () => {
    expect(snpRule({ minTcb: { fmc: 1 } }, turin.claims, 'snp.minTcb')).toMatchObject({ ok: true, found: { fmc: 1 } });
    expect(snpRule({ minTcb: { fmc: 2 } }, turin.claims, 'snp.minTcb')).toMatchObject({ ok: false });
    expect(snpRule({ minTcb: { fmc: 2, snp: 24 } }, oak.claims, 'snp.minTcb')).toMatchObject({ ok: true, expected: { snp: 24 } });
    expect(snpRule({ minTcb: { fmc: 2 } }, oak.claims, 'snp.minTcb').detail).toMatch(/no minimum applies: Milan has no FMC/);
    const noFmc = withClaims(turin.claims, (c) => {
      delete c.tcb.reported?.fmc;
    });
    expect(snpRule({ minTcb: { fmc: 1 } }, noFmc, 'snp.minTcb')).toMatchObject({ ok: false });
    const unknownProduct = withClaims(oak.claims, (c) => {
      delete c.platform.product;
    });
    expect(snpRule({ minTcb: { fmc: 1 } }, unknownProduct, 'snp.minTcb')).toMatchObject({ ok: false });
  });

  it('minTcb per product: each report is held to its own product line, an unlisted product fails', () => {
    const perProduct = { minTcb: { Milan: { snp: 24, microcode: 219 }, Turin: { fmc: 1, snp: 4 } } };
    expect(snpRule(perProduct, oak.claims, 'snp.minTcb')).toMatchObject({ ok: true, expected: { snp: 24, microcode: 219 } });
    expect(snpRule(perProduct, turin.claims, 'snp.minTcb')).toMatchObject({ ok: true, expected: { fmc: 1, snp: 4 } });
    expect(snpRule({ minTcb: { Milan: { snp: 25 } } }, oak.claims, 'snp.minTcb')).toMatchObject({ ok: false, found: { snp: 24 } });
    const genoaRule = snpRule(perProduct, genoa.claims, 'snp.minTcb');
    expect(genoaRule).toMatchObject({ ok: false, found: 'Genoa' });
    expect(genoaRule.detail).toMatch(/no minimum TCB for Genoa/);
  });

  it('minTcb: missing reported TCB fails closed', () => {
    const none = withClaims(oak.claims, (c) => {
      delete c.tcb.reported;
    });
    expect(snpRule({ minTcb: { snp: 1 } }, none, 'snp.minTcb')).toMatchObject({ ok: false, found: null });
  });

  it('vmpl: allowed list and max', () => {
    expect(snpRule({ vmpl: [0] }, oak.claims, 'snp.vmpl')).toMatchObject({ ok: true, found: 0 });
    expect(snpRule({ vmpl: [0] }, vlek.claims, 'snp.vmpl')).toMatchObject({ ok: false, found: 1 });
    expect(snpRule({ vmpl: { max: 1 } }, vlek.claims, 'snp.vmpl')).toMatchObject({ ok: true });
    expect(snpRule({ vmpl: { max: 0 } }, vlek.claims, 'snp.vmpl')).toMatchObject({ ok: false });
  });

  it('hostData, familyId, imageId, idKeyDigests, authorKeyDigests', () => {
    const f = turin.fields as Record<string, string>;
    const fields: [string, string, string][] = [
      ['hostData', 'snp.hostData', f.host_data ?? ''],
      ['familyId', 'snp.familyId', f.family_id ?? ''],
      ['imageId', 'snp.imageId', f.image_id ?? ''],
      ['idKeyDigests', 'snp.idKeyDigests', f.id_key_digest ?? ''],
      ['authorKeyDigests', 'snp.authorKeyDigests', f.author_key_digest ?? ''],
    ];
    for (const [field, id, value] of fields) {
      expect(snpRule({ [field]: [value] }, turin.claims, id), field).toMatchObject({ ok: true, found: value });
      const other = value.replace(/^./, (ch) => (ch === '0' ? '1' : '0'));
      expect(snpRule({ [field]: [other] }, turin.claims, id), field).toMatchObject({ ok: false, found: value });
    }
  });

  it('minGuestSvn', () => {
    expect(snpRule({ minGuestSvn: 2 }, turin.claims, 'snp.minGuestSvn')).toMatchObject({ ok: true, found: 2 });
    expect(snpRule({ minGuestSvn: 3 }, turin.claims, 'snp.minGuestSvn')).toMatchObject({ ok: false, found: 2, expected: { min: 3 } });
  });

  it('products and signers', () => {
    expect(snpRule({ products: ['Milan', 'Genoa'] }, genoa.claims, 'snp.products')).toMatchObject({ ok: true, found: 'Genoa' });
    expect(snpRule({ products: ['Milan', 'Genoa'] }, turin.claims, 'snp.products')).toMatchObject({ ok: false, found: 'Turin' });
    expect(snpRule({ signers: ['VCEK'] }, oak.claims, 'snp.signers')).toMatchObject({ ok: true });
    expect(snpRule({ signers: ['VCEK'] }, vlek.claims, 'snp.signers')).toMatchObject({ ok: false, found: 'VLEK' });
  });

  it('a field missing from the claims fails closed', () => {
    const bare = withClaims(turin.claims, (c) => {
      delete c.snp.hostData;
      delete c.snp.guestSvn;
      delete c.snp.vmpl;
    });
    expect(snpRule({ hostData: [turin.fields.host_data] }, bare, 'snp.hostData')).toMatchObject({ ok: false, found: null });
    expect(snpRule({ minGuestSvn: 0 }, bare, 'snp.minGuestSvn')).toMatchObject({ ok: false });
    expect(snpRule({ vmpl: { max: 3 } }, bare, 'snp.vmpl')).toMatchObject({ ok: false });
  });

  it('a strict policy for the Turin report affirms it, with one outcome per field', () => {
    const f = turin.fields as Record<string, string>;
    const d = evaluate(
      {
        tees: ['sev-snp'],
        snp: {
          measurements: [turin.claims.measurement],
          allowSmt: true,
          minTcb: { fmc: 1, bootloader: 1, tee: 1, snp: 4, microcode: 81 },
          vmpl: [0],
          hostData: [f.host_data],
          familyId: [f.family_id],
          imageId: [f.image_id],
          idKeyDigests: [f.id_key_digest],
          minGuestSvn: 2,
          products: ['Turin'],
          signers: ['VCEK'],
        },
      },
      turin.claims,
    );
    expect(d.rules.filter((r) => !r.ok)).toEqual([]);
    expect(d.status).toBe('affirming');
    expect(d.rules.map((r) => r.id)).toEqual([
      'tee',
      'evidence.verified',
      'snp.measurements',
      'snp.allowDebug',
      'snp.allowMigrationAgent',
      'snp.allowSmt',
      'snp.minTcb',
      'snp.vmpl',
      'snp.hostData',
      'snp.familyId',
      'snp.imageId',
      'snp.idKeyDigests',
      'snp.minGuestSvn',
      'snp.products',
      'snp.signers',
    ]);
  });
});
