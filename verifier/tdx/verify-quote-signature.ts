// The quote signature: ECDSA P-256 with the attestation key over the header and body
// (header || [v5 descriptor] || body), never over trailing padding. QVL QuoteVerifier.cpp
// 4.1.2.4.16.

import type { Check } from '../result.ts';
import type { IntelQuote } from './abi/quote.ts';
import { fail, pass } from './check.ts';
import { p256KeyFromRaw, verifyP256 } from './ecdsa-p256.ts';

/** `<tee>.quote.signature`. */
export function checkQuoteSignature(quote: IntelQuote, prefix: string): Check {
  const id = `${prefix}.quote.signature`;
  const key = p256KeyFromRaw(quote.attestationKey);
  if (!key) return fail(id, 'The attestation key is not a P-256 point.', 'a P-256 public key', quote.attestationKey.toString('hex'));
  return verifyP256(quote.signedBytes, quote.signature, key)
    ? pass(id, `The quote (header and body, ${quote.signedBytes.length} bytes) is signed by its attestation key.`)
    : fail(id, 'The quote signature over the header and body does not verify with the attestation key.', 'a valid ECDSA P-256 signature', quote.signature.toString('hex'));
}
