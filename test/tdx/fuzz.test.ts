// Arbitrary input never crashes the parser or the verifier: it either parses or throws
// EvidenceFormatError (fast-check over truncations, splices and random bytes of real quotes).

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CollateralUnavailableError, EvidenceFormatError } from '../../verifier/errors.ts';
import type { IntelCollateral } from '../../verifier/evidence.ts';
import { parseIntelQuote } from '../../verifier/tdx/abi/quote.ts';
import { verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
import { verifyEvidence } from '../../verifier/verify-evidence.ts';
import { ALL_CASES } from './cases.ts';

function survives(bytes: Uint8Array, i: number): boolean {
  const c = ALL_CASES[i % ALL_CASES.length]!;
  try {
    verifyIntelQuote(bytes, c.collateral, { at: c.at });
    return true;
  } catch (err) {
    if (err instanceof EvidenceFormatError) return true;
    throw err;
  }
}

describe('malformed quotes fail with EvidenceFormatError, never a crash', () => {
  it('truncations, overwritten runs and random tails of real quotes', () => {
    fc.assert(
      fc.property(
        fc.nat(ALL_CASES.length - 1),
        fc.nat(6000),
        fc.nat(6000),
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        (i, cut, at, junk) => {
          const q = ALL_CASES[i]!.quote;
          const truncated = q.subarray(0, cut % (q.length + 1));
          const spliced = Buffer.from(q);
          spliced.set(junk.subarray(0, Math.max(0, spliced.length - (at % q.length))), at % q.length);
          return survives(truncated, i) && survives(spliced, i);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('random bytes behind a valid-looking header', () => {
    fc.assert(
      fc.property(fc.constantFrom(3, 4, 5), fc.constantFrom(0, 0x81), fc.uint8Array({ minLength: 0, maxLength: 2000 }), (version, tee, rest) => {
        const header = Buffer.alloc(48);
        header.writeUInt16LE(version, 0);
        header.writeUInt16LE(2, 2);
        header.writeUInt32LE(tee, 4);
        return survives(Buffer.concat([header, rest]), 0);
      }),
      { numRuns: 300 },
    );
  });
});

// Fail-closed, as a property through the public entry point: random overwrites of the quote
// (within its own length: trailing padding is covered by no signature and is ignored) and of
// every collateral document, text or DER. Only the two verifier errors may escape, and a
// mutant may verify only when what it vouches for (claims, TCB status and advisories) is
// exactly what the original vouched for (a hex digit's case in a signature, say).
describe('verifyEvidence under random mutation of real quotes and collateral', () => {
  const FIELDS = ['quote', 'tcbInfo', 'tcbInfoIssuerChain', 'qeIdentity', 'qeIdentityIssuerChain', 'pckCrl', 'rootCaCrl'] as const;
  type Field = (typeof FIELDS)[number];
  const edit = fc.record({ field: fc.constantFrom<Field>(...FIELDS), at: fc.nat(), bytes: fc.uint8Array({ minLength: 1, maxLength: 6 }) });

  function overwrite(b: Uint8Array, limit: number, at: number, bytes: Uint8Array): Buffer {
    const out = Buffer.from(b);
    const start = at % Math.max(1, limit);
    for (let i = 0; i < bytes.length && start + i < limit; i++) out[start + i] = bytes[i]!;
    return out;
  }

  it('never throws anything but the two verifier errors, and never verifies changed claims or TCB', async () => {
    const originals = await Promise.all(ALL_CASES.map((c) => verifyEvidence({ tee: c.tee, quote: c.quote, collateral: c.collateral }, { at: c.at })));
    const lengths = ALL_CASES.map((c) => parseIntelQuote(c.quote).length);
    await fc.assert(
      fc.asyncProperty(fc.nat(ALL_CASES.length - 1), fc.array(edit, { minLength: 1, maxLength: 3 }), async (i, edits) => {
        const c = ALL_CASES[i]!;
        let quote: Uint8Array = c.quote;
        const collateral: IntelCollateral = { ...c.collateral };
        for (const e of edits) {
          if (e.field === 'quote') quote = overwrite(quote, lengths[i]!, e.at, e.bytes);
          else if (e.field === 'pckCrl' || e.field === 'rootCaCrl') {
            const b = collateral[e.field];
            if (b) collateral[e.field] = overwrite(b, b.length, e.at, e.bytes);
          } else {
            const t = Buffer.from(collateral[e.field], 'utf8');
            collateral[e.field] = overwrite(t, t.length, e.at, e.bytes).toString('utf8');
          }
        }
        try {
          const r = await verifyEvidence({ tee: c.tee, quote, collateral }, { at: c.at });
          if (r.verified) {
            expect(originals[i]!.verified).toBe(true);
            expect(r.claims).toEqual(originals[i]!.claims);
            expect(r.tcb).toEqual(originals[i]!.tcb);
          }
        } catch (err) {
          if (!(err instanceof EvidenceFormatError) && !(err instanceof CollateralUnavailableError)) throw err;
        }
      }),
      { numRuns: 400 },
    );
  });
});
