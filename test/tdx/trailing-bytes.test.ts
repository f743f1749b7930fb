// Bytes after a quote's end (issue 16 item 6): real TDX and SGX vectors, trimmed to their
// exact length or with bytes appended, verified by the real verifier and appraised with
// tdx|sgx.allowTrailingBytes unset (accept, as Intel's QVL does since DCAP 1.18), true and
// false. The count is in the claims, where CEL sees it too.

import { describe, expect, it } from 'vitest';
import { evaluateAppraisalPolicy, parseAppraisalPolicy, PolicyValidationError } from '../../verifier/policy/index.ts';
import type { PolicyDecision } from '../../verifier/policy/index.ts';
import type { VerificationResult } from '../../verifier/result.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { byName, type IntelCase } from './cases.ts';

const NO_REFS = { referenceValues: {} };

async function verifyWith(c: IntelCase, quote: Buffer): Promise<VerificationResult> {
  return verifyEvidence({ tee: c.tee, quote, collateral: c.collateral }, { at: c.at });
}

const exact = (c: IntelCase): Buffer => c.quote.subarray(0, c.meta.quote.quote_length);
const padded = (c: IntelCase, extra: Buffer): Buffer => Buffer.concat([c.quote, extra]);
const trailingOf = (r: VerificationResult, tee: 'tdx' | 'sgx') => (r.claims?.[tee] as { quote?: { length: number; trailingBytes: number } } | undefined)?.quote;
const ruleOf = (d: PolicyDecision, id: string) => d.rules.find((r) => r.id === id);
const appraise = (doc: unknown, r: VerificationResult) => evaluateAppraisalPolicy(parseAppraisalPolicy(doc), r, NO_REFS);

// phala: 70 zero bytes of padding as served; oasis-uptodate: none; automata (SGX v3): none.
const CASES: [IntelCase, 'tdx' | 'sgx', Record<string, unknown>][] = [
  [byName('phala-b0c06f-v4-uptodate'), 'tdx', {}],
  [byName('oasis-c0806f-v4-uptodate-nocrl'), 'tdx', {}],
  [byName('sgx-automata-00606a000000-v3-swhardening'), 'sgx', { warnTcbStatuses: ['SWHardeningNeeded'] }],
];

describe.each(CASES.map(([c, tee, base]) => [c.name, c, tee, base] as const))('%s', (_n, c, tee, base) => {
  const id = `${tee}.allowTrailingBytes`;
  const extra = Buffer.from('deadbeef00ff', 'hex');

  it('the claims carry the quote length and the trailing count; the signed quote still verifies', async () => {
    const plain = await verifyWith(c, exact(c));
    expect(plain.verified).toBe(true);
    expect(trailingOf(plain, tee)).toEqual({ length: c.meta.quote.quote_length, trailingBytes: 0 });
    expect(plain.warnings.some((w) => w.includes("follow the quote's end"))).toBe(false);

    const more = await verifyWith(c, padded(c, extra));
    expect(more.verified).toBe(true);
    const n = c.meta.quote.trailing_bytes + extra.length;
    expect(trailingOf(more, tee)).toEqual({ length: c.meta.quote.quote_length, trailingBytes: n });
    expect(more.warnings).toContain(
      `${n} bytes follow the quote's end (offset ${c.meta.quote.quote_length}); they were ignored and are not covered by any signature (a policy may refuse them: ${id}).`,
    );
  });

  it('unset: accepted with no rule of its own (the QVL default), whatever follows the quote', async () => {
    const more = await verifyWith(c, padded(c, extra));
    const plain = await verifyWith(c, exact(c));
    const d = appraise({ [tee]: base }, more);
    expect(ruleOf(d, id)).toBeUndefined();
    expect(d.allowed).toBe(true);
    expect(d.status).toBe(appraise({ [tee]: base }, plain).status);
  });

  it('false: denied when bytes follow, naming the rule, expected 0 and the count found; passes on the exact quote', async () => {
    const n = c.meta.quote.trailing_bytes + extra.length;
    const d = appraise({ [tee]: { ...base, allowTrailingBytes: false } }, await verifyWith(c, padded(c, extra)));
    expect(d.status).toBe('contraindicated');
    expect(d.rules.filter((r) => !r.ok && r.effect === 'deny').map((r) => r.id)).toEqual([id]);
    expect(ruleOf(d, id)).toMatchObject({ ok: false, effect: 'deny', expected: 0, found: n });
    expect(ruleOf(d, id)?.detail).toContain(`${n} unsigned bytes follow the quote's end`);
    expect(d.trustworthinessVector.configuration).toBe(96);

    const ok = appraise({ [tee]: { ...base, allowTrailingBytes: false } }, await verifyWith(c, exact(c)));
    expect(ruleOf(ok, id)).toMatchObject({ ok: true, expected: 0, found: 0 });
    expect(ok.allowed).toBe(true);
  });

  it('true: accepted, the rule showing the count', async () => {
    const n = c.meta.quote.trailing_bytes + extra.length;
    const d = appraise({ [tee]: { ...base, allowTrailingBytes: true } }, await verifyWith(c, padded(c, extra)));
    expect(ruleOf(d, id)).toMatchObject({ ok: true, expected: 'any', found: n });
    expect(d.allowed).toBe(true);
  });

  it('CEL sees the count', async () => {
    const doc = { [tee]: base, rules: [{ name: 'exact-quote', expr: `claims.${tee}.quote.trailingBytes == 0` }] };
    expect(ruleOf(appraise(doc, await verifyWith(c, exact(c))), 'rules.exact-quote')).toMatchObject({ ok: true });
    expect(ruleOf(appraise(doc, await verifyWith(c, padded(c, extra))), 'rules.exact-quote')).toMatchObject({ ok: false });
  });
});

describe('allowTrailingBytes: fail closed and validated', () => {
  it('false fails closed when the claims carry no count (a stored result of an older version)', async () => {
    const c = byName('phala-b0c06f-v4-uptodate');
    const r = await verifyWith(c, c.quote);
    const old = structuredClone(r);
    delete (old.claims!.tdx as Record<string, unknown>).quote;
    expect(ruleOf(appraise({ tdx: { allowTrailingBytes: false } }, old), 'tdx.allowTrailingBytes')).toMatchObject({ ok: false, expected: 0, found: null });
  });

  it('the real 70-byte padding of phala and oasis-trailing is what the vector records', async () => {
    for (const name of ['phala-b0c06f-v4-uptodate', 'oasis-c0806f-v4-trailing-nocrl']) {
      const c = byName(name);
      const r = await verifyWith(c, c.quote);
      expect(trailingOf(r, 'tdx'), name).toEqual({ length: c.meta.quote.quote_length, trailingBytes: 70 });
      expect(ruleOf(appraise({ tdx: { allowTrailingBytes: false } }, r), 'tdx.allowTrailingBytes'), name).toMatchObject({ ok: false, found: 70 });
    }
  });

  it('a non-boolean is rejected at its path', () => {
    for (const tee of ['tdx', 'sgx']) {
      try {
        parseAppraisalPolicy({ [tee]: { allowTrailingBytes: 'yes' } });
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(PolicyValidationError);
        expect((e as PolicyValidationError).issues.map((i) => i.path)).toEqual([`${tee}.allowTrailingBytes`]);
      }
    }
  });
});
