import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { canonicalPolicyJson, DEFAULT_APPRAISAL_POLICY, parseAppraisalPolicy, policyHash } from '../../verifier/policy/index.ts';

const M = '91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7';

const YAML_DOC = `
name: prod
snp:
  minTcb: {snp: 8, bootloader: 3}
  allowDebug: false
tdx:
  mrtd: ["${M.toUpperCase()}"]
  acceptedTcbStatuses: [UpToDate, SWHardeningNeeded]
rules:
  - {name: a, expr: 'claims.tee == "tdx"', effect: warn}
`;
const JSON_DOC = `{"rules":[{"effect":"warn","expr":"claims.tee == \\"tdx\\"","name":"a"}],
  "tdx":{"acceptedTcbStatuses":["UpToDate","SWHardeningNeeded"],"mrtd":["${M}"]},
  "snp":{"allowDebug":false,"minTcb":{"bootloader":3,"snp":8}},"name":"prod"}`;

/** Rebuild an object with its keys in a shuffled order at every level. */
function reorder(v: unknown, rnd: () => number): unknown {
  if (Array.isArray(v)) return v.map((x) => reorder(x, rnd));
  if (v && typeof v === 'object') {
    const entries = Object.entries(v).sort(() => rnd() - 0.5);
    return Object.fromEntries(entries.map(([k, x]) => [k, reorder(x, rnd)]));
  }
  return v;
}

describe('policyHash', () => {
  it('is the same for the YAML and the JSON form, whatever the key order and hex case', () => {
    const a = parseAppraisalPolicy(YAML_DOC, 'yaml');
    const b = parseAppraisalPolicy(JSON_DOC, 'json');
    expect(canonicalPolicyJson(a)).toBe(canonicalPolicyJson(b));
    expect(policyHash(a)).toBe(policyHash(b));
  });

  it('is SHA-256 of the canonical JSON: sorted keys, no whitespace', () => {
    const p = parseAppraisalPolicy({ tees: ['tdx'], name: 'x', snp: { allowSmt: false, allowDebug: true } });
    const canonical = '{"name":"x","snp":{"allowDebug":true,"allowSmt":false},"tees":["tdx"]}';
    expect(canonicalPolicyJson(p)).toBe(canonical);
    expect(policyHash(p)).toBe(createHash('sha256').update(canonical).digest('hex'));
  });

  it('changes when any value changes', () => {
    const a = parseAppraisalPolicy({ snp: { minTcb: { snp: 8 } } });
    const b = parseAppraisalPolicy({ snp: { minTcb: { snp: 9 } } });
    const c = parseAppraisalPolicy({ tdx: { acceptedTcbStatuses: ['SWHardeningNeeded', 'UpToDate'] } });
    const d = parseAppraisalPolicy({ tdx: { acceptedTcbStatuses: ['UpToDate', 'SWHardeningNeeded'] } });
    expect(policyHash(a)).not.toBe(policyHash(b));
    expect(policyHash(c)).not.toBe(policyHash(d));
  });

  it('existing policies keep their hashes when fields are added to the schema (pinned before tdx|sgx.allowTrailingBytes)', () => {
    // Defaults are not filled in, so a new optional field leaves every stored policy's hash as it was.
    // The default document itself changed once since (Azure tees and the azure block, issue 13): its pin moved with it.
    expect(policyHash(parseAppraisalPolicy(DEFAULT_APPRAISAL_POLICY))).toBe('1bd15a83d7fcdb2603bfbde82c02a8590b1bee4562c02fceaa6da10dcc4aaf04');
    const tdxSgx = { tdx: { allowDebug: false, allowMigratable: false, requireSeptVeDisable: true, acceptedTcbStatuses: ['UpToDate'] }, sgx: { allowDebug: false } };
    expect(policyHash(parseAppraisalPolicy(tdxSgx))).toBe('e58d600ed364a5036bd12944dbc3f0031aaae22312a0bd4d4135b8b9a97b19d7');
    // Setting the new field, either way, is a different policy.
    const strict = parseAppraisalPolicy({ ...tdxSgx, tdx: { ...tdxSgx.tdx, allowTrailingBytes: false } });
    const lenient = parseAppraisalPolicy({ ...tdxSgx, tdx: { ...tdxSgx.tdx, allowTrailingBytes: true } });
    expect(new Set([policyHash(strict), policyHash(lenient), policyHash(parseAppraisalPolicy(tdxSgx))]).size).toBe(3);
    expect(canonicalPolicyJson(strict)).toContain('"allowTrailingBytes":false');
  });

  it('property: stable under key reordering and a YAML round trip', () => {
    const base = parseAppraisalPolicy(DEFAULT_APPRAISAL_POLICY);
    const docs = [base, parseAppraisalPolicy(YAML_DOC)];
    fc.assert(
      fc.property(fc.constantFrom(...docs), fc.integer(), (doc, seed) => {
        let s = seed;
        const rnd = () => ((s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
        const shuffled = reorder(doc, rnd);
        const viaYaml = parseAppraisalPolicy(toYaml(shuffled), 'yaml');
        const viaJson = parseAppraisalPolicy(JSON.stringify(shuffled), 'json');
        return policyHash(viaYaml) === policyHash(doc) && policyHash(viaJson) === policyHash(doc);
      }),
      { numRuns: 200 },
    );
  });

  it('property: any generated policy hashes the same through JSON and YAML text', () => {
    const hexOf = (bytes: number) => fc.uint8Array({ minLength: bytes, maxLength: bytes }).map((b) => Buffer.from(b).toString('hex'));
    const policyArb = fc.record(
      {
        name: fc.string({ minLength: 1, maxLength: 20 }),
        description: fc.string({ maxLength: 40 }),
        tees: fc.subarray(['sev-snp', 'tdx', 'sgx'], { minLength: 1 }),
        snp: fc.record(
          {
            measurements: fc.array(hexOf(48), { minLength: 1, maxLength: 3 }),
            allowDebug: fc.boolean(),
            minTcb: fc.record({ bootloader: fc.integer({ min: 0, max: 255 }), snp: fc.integer({ min: 0, max: 255 }) }, { requiredKeys: ['snp'] }),
            minGuestSvn: fc.nat(),
          },
          { requiredKeys: [] },
        ),
        tdx: fc.record({ mrtd: fc.array(hexOf(48), { minLength: 1, maxLength: 2 }), minTcbEvaluationDataNumber: fc.nat(100) }, { requiredKeys: [] }),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(policyArb, (doc) => {
        const a = parseAppraisalPolicy(JSON.stringify(doc), 'json');
        const b = parseAppraisalPolicy(toYaml(doc), 'yaml');
        return policyHash(a) === policyHash(b) && canonicalPolicyJson(a) === canonicalPolicyJson(b);
      }),
      { numRuns: 200 },
    );
  });
});
