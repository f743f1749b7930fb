import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseTpmQuoteAttest } from '../../verifier/azure/abi/tpm-attest.ts';
import { EvidenceFormatError } from '../../verifier/errors.ts';

const msg = new Uint8Array(readFileSync('test/fixtures/az-snp-vtpm/trustee/tpm-quote.msg'));

describe('TPMS_ATTEST (az-snp-vtpm trustee vector)', () => {
  it('parses the real quote: nonce in extraData, sha256 PCRs 0-7 and 14 (bitmap ff 40 00 at offset 0x55)', () => {
    const q = parseTpmQuoteAttest(msg);
    expect(Buffer.from(q.extraData).toString('hex')).toBe('6368616c6c656e6765');
    expect(q.pcrSelections).toEqual([{ hashAlg: 0x000b, pcrs: [0, 1, 2, 3, 4, 5, 6, 7, 14] }]);
    expect(q.pcrDigest.length).toBe(32);
  });
  it('refuses every truncation and trailing bytes', () => {
    for (let n = 0; n < msg.length; n++) expect(() => parseTpmQuoteAttest(msg.subarray(0, n))).toThrow(EvidenceFormatError);
    expect(() => parseTpmQuoteAttest(new Uint8Array([...msg, 0]))).toThrow(/trailing/);
  });
});
