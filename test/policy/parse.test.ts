import { describe, expect, it } from 'vitest';
import { INTEL_TCB_STATUSES, parseAppraisalPolicy, PolicyValidationError } from '../../verifier/policy/index.ts';
import type { PolicyIssue } from '../../verifier/policy/index.ts';

function issuesOf(source: unknown, format?: 'json' | 'yaml'): PolicyIssue[] {
  try {
    parseAppraisalPolicy(source, format);
  } catch (e) {
    expect(e).toBeInstanceOf(PolicyValidationError);
    expect((e as PolicyValidationError).code).toBe('policy_invalid');
    return (e as PolicyValidationError).issues;
  }
  throw new Error('the policy was accepted');
}

const M = 'ab'.repeat(48);

describe('parseAppraisalPolicy: valid documents', () => {
  it('accepts a full SNP/TDX/SGX policy in YAML and normalises hex to lower case', () => {
    const p = parseAppraisalPolicy(`
name: prod
tees: [sev-snp, tdx]
snp:
  measurements: ["${M.toUpperCase()}"]
  allowDebug: false
  allowMigrationAgent: false
  allowSmt: true
  minTcb: { bootloader: 3, tee: 0, snp: 8, microcode: 115, fmc: 1 }
  vmpl: { max: 0 }
  hostData: { referenceValues: host-data }
  familyId: ["${'01'.padEnd(32, '0')}"]
  imageId: ["${'02'.padEnd(32, '0')}"]
  idKeyDigests: ["${'cd'.repeat(48)}"]
  authorKeyDigests: ["${'ef'.repeat(48)}"]
  minGuestSvn: 1
  products: [Milan, Genoa, Turin]
  signers: [VCEK, VLEK]
tdx:
  mrtd: { referenceValues: mrtd-prod }
  rtmr: { 0: ["${M}"], 2: { referenceValues: kernels } }
  mrConfigId: ["${'00'.repeat(48)}"]
  mrOwner: ["${'00'.repeat(48)}"]
  mrOwnerConfig: ["${'00'.repeat(48)}"]
  allowDebug: false
  requireSeptVeDisable: true
  acceptedTcbStatuses: [UpToDate]
  warnTcbStatuses: [SWHardeningNeeded]
  forbiddenAdvisories: [intel-sa-00960]
  mrServiceTd: ["${'00'.repeat(48)}"]
  minTcbEvaluationDataNumber: 17
sgx:
  mrenclave: ["${'aa'.repeat(32)}"]
  mrsigner: ["${'bb'.repeat(32)}"]
  isvProdId: [0, 1]
  minIsvSvn: 2
rules:
  - name: not-simulated
    expr: "!has(claims.simulated)"
  - name: fresh-firmware
    expr: "tcb.reported.snp >= 8"
    effect: warn
    message: SNP firmware is old
    trustClaim: hardware
`);
    expect(p.snp?.measurements).toEqual([M]);
    expect(p.tdx?.forbiddenAdvisories).toEqual(['INTEL-SA-00960']);
    expect(p.tdx?.rtmr?.['2']).toEqual({ referenceValues: 'kernels' });
    expect(p.rules?.map((r) => r.name)).toEqual(['not-simulated', 'fresh-firmware']);
  });

  it('returns a frozen policy (its compiled rules are cached by identity)', () => {
    const p = parseAppraisalPolicy({ tees: ['tdx'], rules: [{ name: 'a', expr: 'true' }] });
    expect(() => {
      (p.rules as { expr: string }[])[0]!.expr = 'false';
    }).toThrow(TypeError);
    expect(() => {
      (p.tees as string[]).push('sgx');
    }).toThrow(TypeError);
  });

  it('accepts JSON text and an already-parsed object', () => {
    expect(parseAppraisalPolicy('{"tees": ["tdx"]}', 'json')).toEqual({ tees: ['tdx'] });
    expect(parseAppraisalPolicy({ tees: ['sgx'] })).toEqual({ tees: ['sgx'] });
    expect(parseAppraisalPolicy('{}')).toEqual({});
  });

  it('accepts every Intel TCB status the verifier can report, from the one list in verifier/result.ts', () => {
    const all = [...INTEL_TCB_STATUSES];
    expect(all).toContain('TDRelaunchAdvisedConfigurationNeeded');
    expect(parseAppraisalPolicy({ tdx: { acceptedTcbStatuses: all } })).toEqual({ tdx: { acceptedTcbStatuses: all } });
  });
});

describe('parseAppraisalPolicy: every problem points at its field', () => {
  const cases: [string, unknown, string, RegExp][] = [
    ['TCB component out of range', { snp: { minTcb: { bootloader: 256 } } }, 'snp.minTcb.bootloader', /<=255/],
    ['TCB component not an integer', { snp: { minTcb: { snp: 1.5 } } }, 'snp.minTcb.snp', /int/],
    ['unknown top-level key', { snpp: {} }, 'snpp', /unknown field/],
    ['unknown nested key (typo)', { snp: { allowDbug: true } }, 'snp.allowDbug', /unknown field/],
    ['unknown TCB component', { snp: { minTcb: { ucode: 1 } } }, 'snp.minTcb.ucode', /unknown field/],
    ['measurement too short', { snp: { measurements: ['abcd'] } }, 'snp.measurements[0]', /48 bytes/],
    ['measurement not hex', { snp: { measurements: ['zz'.repeat(48)] } }, 'snp.measurements[0]', /48 bytes/],
    ['host data of a measurement size', { snp: { hostData: [M] } }, 'snp.hostData[0]', /32 bytes/],
    ['family id too long', { snp: { familyId: ['00'.repeat(17)] } }, 'snp.familyId[0]', /16 bytes/],
    ['MRENCLAVE of 48 bytes', { sgx: { mrenclave: [M] } }, 'sgx.mrenclave[0]', /32 bytes/],
    ['RTMR index 4', { tdx: { rtmr: { 4: [M] } } }, 'tdx.rtmr.4', /unknown field/],
    ['RTMR value bad', { tdx: { rtmr: { 1: ['00'] } } }, 'tdx.rtmr.1[0]', /48 bytes/],
    ['empty measurement list', { snp: { measurements: [] } }, 'snp.measurements', /at least one/],
    ['bad reference set name', { tdx: { mrtd: { referenceValues: '../etc' } } }, 'tdx.mrtd.referenceValues', /reference-value set name/],
    ['unknown TCB status', { tdx: { acceptedTcbStatuses: ['UpToDat'] } }, 'tdx.acceptedTcbStatuses[0]', /UpToDate/],
    ['unknown product', { snp: { products: ['Rome'] } }, 'snp.products[0]', /Milan/],
    ['unknown signer', { snp: { signers: ['ARK'] } }, 'snp.signers[0]', /VCEK/],
    ['VMPL out of range', { snp: { vmpl: [4] } }, 'snp.vmpl[0]', /<=3/],
    ['unknown TEE', { tees: ['sev'] }, 'tees[0]', /sev-snp/],
    ['duplicate TEE', { tees: ['tdx', 'tdx'] }, 'tees', /duplicate/],
    ['bad advisory id', { tdx: { forbiddenAdvisories: ['00960'] } }, 'tdx.forbiddenAdvisories[0]', /INTEL-SA/],
    ['wrong type', { snp: { allowDebug: 'no' } }, 'snp.allowDebug', /boolean/],
    ['measurements neither list nor set', { snp: { measurements: 'abc' } }, 'snp.measurements', /list of 48-byte hex values or \{ referenceValues/],
    ['reference set name not a string', { snp: { hostData: { referenceValues: 1 } } }, 'snp.hostData.referenceValues', /expected string/],
    ['misspelt referenceValues', { tdx: { mrtd: { referenceValue: 'x' } } }, 'tdx.mrtd.referenceValue', /unknown field/],
    ['VMPL neither list nor max', { snp: { vmpl: 'x' } }, 'snp.vmpl', /list of VMPLs/],
    ['VMPL max out of range', { snp: { vmpl: { max: 5 } } }, 'snp.vmpl.max', /<=3/],
    ['empty TCB minimum (a check that could not fail)', { snp: { minTcb: {} } }, 'snp.minTcb', /at least one TCB component/],
    ['per-product TCB minimum out of range', { snp: { minTcb: { Milan: { snp: 300 } } } }, 'snp.minTcb.Milan.snp', /<=255/],
    ['per-product TCB minimum empty', { snp: { minTcb: { Genoa: {} } } }, 'snp.minTcb.Genoa', /at least one TCB component/],
    ['TCB minimums mixing both forms', { snp: { minTcb: { Milan: { snp: 1 }, snp: 2 } } }, 'snp.minTcb', /not both/],
    ['TCB minimum for an unknown product', { snp: { minTcb: { Rome: { snp: 1 } } } }, 'snp.minTcb.Rome', /unknown field/],
    ['rule without expr', { rules: [{ name: 'x' }] }, 'rules[0].expr', /.+/],
    ['duplicate rule names', { rules: [{ name: 'x', expr: 'true' }, { name: 'x', expr: 'true' }] }, 'rules[1].name', /duplicate rule name/],
    ['bad rule effect', { rules: [{ name: 'x', expr: 'true', effect: 'block' }] }, 'rules[0].effect', /deny/],
    ['bad rule name', { rules: [{ name: 'has space', expr: 'true' }] }, 'rules[0].name', /rule name/],
  ];
  for (const [what, doc, path, message] of cases) {
    it(what, () => {
      const issues = issuesOf(doc);
      const hit = issues.find((i) => i.path === path);
      expect(hit, JSON.stringify(issues)).toBeDefined();
      expect(hit?.message).toMatch(message);
    });
  }

  it('reports every problem at once', () => {
    const issues = issuesOf({ snp: { allowDbug: true, minTcb: { bootloader: -1 } }, tdx: { mrtd: ['00'] } });
    expect(issues.map((i) => i.path).sort()).toEqual(['snp.allowDbug', 'snp.minTcb.bootloader', 'tdx.mrtd[0]']);
  });

  it('explains an unquoted all-digit hex value in YAML, which reads as a number', () => {
    const issues = issuesOf(`snp:\n  hostData: [${'0'.repeat(64)}]\n`);
    expect(issues).toEqual([{ path: 'snp.hostData[0]', message: expect.stringMatching(/quote hex values in YAML/) }]);
    expect(parseAppraisalPolicy(`snp:\n  hostData: ["${'0'.repeat(64)}"]\n`).snp?.hostData).toEqual(['0'.repeat(64)]);
  });

  it('rejects a document that is not a mapping', () => {
    expect(issuesOf('- a\n- b')[0]?.message).toMatch(/mapping/);
    expect(issuesOf('42')[0]?.message).toMatch(/mapping/);
    expect(issuesOf(null)[0]?.message).toMatch(/mapping/);
  });

  it('rejects YAML and JSON syntax errors with their position', () => {
    expect(issuesOf('snp: [1,\n b: 2')[0]?.message).toMatch(/^YAML syntax: .*line 2/);
    expect(issuesOf('{"snp": ', 'json')[0]?.message).toMatch(/^JSON syntax/);
  });

  it('rejects duplicate keys, which JSON.parse would silently resolve', () => {
    expect(issuesOf('{"snp": {"allowDebug": false, "allowDebug": true}}', 'json')[0]?.message).toMatch(/unique/);
    expect(issuesOf('tees: [tdx]\ntees: [sgx]\n')[0]?.message).toMatch(/unique/);
  });

  it('rejects an oversized document', () => {
    expect(issuesOf(`# ${'x'.repeat(300_000)}\n{}`)[0]?.message).toMatch(/larger than/);
  });
});

describe('parseAppraisalPolicy: CEL rules are compiled at upload', () => {
  const bad: [string, RegExp][] = [
    ['claims.tee ==', /does not compile: at 1:/],
    ['claim.tee == "tdx"', /unknown variable 'claim'/],
    ['status == "affirming"', /unknown variable 'status'/],
    ['sise(claims.tcb.advisoryIds) == 0', /unknown function 'sise'/],
    ['claims.tcb.advisoryIds.exists(a, b == 1)', /unknown variable 'b'/],
    ['[1].all(a, [2].all(b, [3].all(c, a + b + c > 0)))', /nest at most 2 deep/],
  ];
  for (const [expr, message] of bad) {
    it(`rejects ${expr}`, () => {
      const issues = issuesOf({ rules: [{ name: 'ok', expr: 'true' }, { name: 'bad', expr }] });
      expect(issues).toHaveLength(1);
      expect(issues[0]?.path).toBe('rules[1].expr');
      expect(issues[0]?.message).toMatch(message);
    });
  }

  it('accepts macros, comprehension variables, string extensions and type names', () => {
    const p = parseAppraisalPolicy({
      rules: [
        { name: 'a', expr: 'claims.tcb.advisoryIds.all(a, !a.startsWith("INTEL-SA-00"))' },
        { name: 'b', expr: 'claims.platform.fmspc.lowerAscii() == claims.platform.fmspc' },
        { name: 'c', expr: 'type(claims.debug) == bool && [1, 2].exists(x, x > 1) ? true : false' },
        { name: 'd', expr: 'claims.measurement in refs["prod"] || {"k": tcb}["k"] == tcb' },
        { name: 'e', expr: 'claims.tcb.advisoryIds.exists(a, refs.allowed.exists(b, a == b)) && [1].map(x, x).map(y, y).size() == 1' },
      ],
    });
    expect(p.rules).toHaveLength(5);
  });
});
