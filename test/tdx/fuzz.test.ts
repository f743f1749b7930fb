// Arbitrary input never crashes the parser or the verifier: it either parses or throws
// EvidenceFormatError (fast-check over truncations, splices and random bytes of real quotes).

import fc from 'fast-check';
import { describe, it } from 'vitest';
import { EvidenceFormatError } from '../../verifier/errors.ts';
import { verifyIntelQuote } from '../../verifier/tdx/verify-evidence.ts';
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
