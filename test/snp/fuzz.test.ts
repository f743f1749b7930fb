// Fail-closed, as a property: random mutations of real SEV-SNP evidence (bytes of the report
// and of each certificate overwritten, truncated or extended; certificates dropped, swapped
// between slots or duplicated) through the public entry point verifyEvidence(). Each outcome
// must be a result or EvidenceFormatError / CollateralUnavailableError, never another
// exception; and a mutant may only verify when its claims are exactly those of the original
// (e.g. the ECDSA (r, n-s) twin of the signature), so no mutation changes what is vouched for.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import type { SnpCertificates } from '../../verifier/evidence.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { allCases } from './cases.ts';

const VALID = allCases().filter((c) => c.valid);
const SLOTS = ['vcek', 'vlek', 'ask', 'asvk', 'ark'] as const;
type Slot = (typeof SLOTS)[number];

const edit = fc.record({
  target: fc.constantFrom<'report' | Slot>('report', 'report', 'report', ...SLOTS),
  kind: fc.constantFrom('overwrite', 'overwrite', 'overwrite', 'truncate', 'extend', 'drop', 'copy-from'),
  at: fc.nat(),
  bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  from: fc.constantFrom<'report' | Slot>(...SLOTS),
});

type Edit = typeof edit extends fc.Arbitrary<infer T> ? T : never;

function apply(report: Buffer, certs: SnpCertificates, e: Edit): [Buffer, SnpCertificates] {
  const out: SnpCertificates = { ...certs };
  const get = (t: 'report' | Slot): Uint8Array | undefined => (t === 'report' ? report : out[t]);
  const target = get(e.target);
  if (e.kind === 'drop' || e.kind === 'copy-from') {
    if (e.target === 'report') return [report, out];
    if (e.kind === 'drop') delete out[e.target];
    else {
      const src = get(e.from);
      if (src) out[e.target] = src;
    }
    return [report, out];
  }
  if (!target) return [report, out];
  let b = Buffer.from(target);
  const at = e.at % (b.length + 1);
  if (e.kind === 'overwrite') {
    b = Buffer.from(b);
    for (let i = 0; i < e.bytes.length && at + i < b.length; i++) b[at + i] = e.bytes[i]!;
  } else if (e.kind === 'truncate') b = b.subarray(0, at);
  else b = Buffer.concat([b, Buffer.from(e.bytes)]);
  if (e.target === 'report') return [b, out];
  out[e.target] = b;
  return [report, out];
}

describe('SEV-SNP verifyEvidence under random mutation of real evidence', () => {
  it('never throws anything but the two verifier errors, and never verifies changed claims', async () => {
    const originals = await Promise.all(VALID.map((c) => verifyEvidence({ tee: 'sev-snp', report: c.report, certificates: c.certificates }, { at: c.at })));
    expect(originals.every((r) => r.verified)).toBe(true);
    let verifiedMutants = 0;
    await fc.assert(
      fc.asyncProperty(fc.nat(VALID.length - 1), fc.array(edit, { minLength: 1, maxLength: 4 }), async (i, edits) => {
        const c = VALID[i]!;
        let report = c.report;
        let certificates: SnpCertificates = c.certificates;
        for (const e of edits) [report, certificates] = apply(report, certificates, e);
        try {
          const r = await verifyEvidence({ tee: 'sev-snp', report, certificates }, { at: c.at });
          if (r.verified) {
            verifiedMutants++;
            expect(r.claims).toEqual(originals[i]!.claims);
          }
        } catch (err) {
          if (!(err instanceof EvidenceFormatError) && !(err instanceof CollateralUnavailableError)) throw err;
        }
      }),
      { numRuns: 400 },
    );
    // Some mutants do verify (a dropped root, an unused slot overwritten): the property was exercised on both sides.
    expect(verifiedMutants).toBeGreaterThan(0);
  });
});
