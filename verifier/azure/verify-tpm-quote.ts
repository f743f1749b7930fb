// The TPM quote of Azure vTPM evidence, checked as trustee's az_snp_vtpm / az_tdx_vtpm
// verifiers do (confidential-containers/trustee deps/verifier/src/az_snp_vtpm/mod.rs
// verify_signature, verify_nonce, verify_pcrs; az-cvm-vtpm vtpm/verify.rs): signed by the
// HCL attestation key (RSASSA-PKCS1-v1_5 SHA-256), a TPMS_ATTEST of type quote, extraData
// the expected nonce, pcrDigest = SHA-256 of the PCR values sent. Stricter than both on the
// selection: it must be exactly one sha256 bank, and one value must be sent per selected PCR
// (the sources hash whatever list came, whatever the quote selected).

import { createHash, verify, type KeyObject } from 'node:crypto';
import { EvidenceFormatError } from '../errors.ts';
import type { AzureTpmQuote } from '../evidence.ts';
import type { Check } from '../result.ts';
import { parseTpmQuoteAttest, type TpmQuoteAttest } from './abi/tpm-attest.ts';
import { parseTpmSignature } from './abi/tpmt-signature.ts';

const TPM_ALG_SHA256 = 0x000b;
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

export interface TpmQuoteVerdict {
  checks: Check[];
  warnings: string[];
  attest?: TpmQuoteAttest;
  /** Index -> hex, when the selection was understood. */
  pcrs: Record<string, string>;
  /** Signature valid, structure understood, PCR digest matched (the nonce is judged apart). */
  quoteVerified: boolean;
}

const pass = (id: string, detail: string): Check => ({ id, ok: true, detail });
const fail = (id: string, detail: string, expected: unknown, found: unknown): Check => ({ id, ok: false, detail, expected, found });

export function checkTpmQuote(quote: AzureTpmQuote, ak: KeyObject | undefined, akModulusBytes: number, nonce: Uint8Array | undefined): TpmQuoteVerdict {
  const checks: Check[] = [];
  const warnings: string[] = [];
  const pcrs: Record<string, string> = {};

  // Signature over the message bytes as sent: checked before the message is trusted at all.
  let signatureOk = false;
  if (!ak) {
    checks.push(fail('tpm.quote.signature', 'The TPM quote signature cannot be checked: the HCL runtime data holds no usable attestation key.', 'a valid RSASSA SHA-256 signature by HCLAkPub', null));
  } else {
    const sig = parseTpmSignature(quote.signature, akModulusBytes);
    if (!sig.ok) checks.push(fail('tpm.quote.signature', sig.detail, sig.expected, sig.found));
    else {
      signatureOk = verify('sha256', quote.message, ak, sig.signature);
      checks.push(
        signatureOk
          ? pass('tpm.quote.signature', 'The TPM quote is signed (RSASSA-PKCS1-v1_5 SHA-256) by the HCL attestation key HCLAkPub.')
          : fail('tpm.quote.signature', 'The TPM quote is not signed by the HCL attestation key HCLAkPub.', 'a valid RSASSA SHA-256 signature by HCLAkPub', hex(sig.signature).slice(0, 32) + '…'),
      );
    }
  }

  let attest: TpmQuoteAttest | undefined;
  try {
    attest = parseTpmQuoteAttest(quote.message);
    checks.push(pass('tpm.quote.structure', 'The signed message is a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE.'));
  } catch (err) {
    if (!(err instanceof EvidenceFormatError)) throw err;
    checks.push(fail('tpm.quote.structure', err.message, 'a TPMS_ATTEST of type TPM_ST_ATTEST_QUOTE', err.code));
  }

  let digestOk = false;
  if (attest) {
    const sel = attest.pcrSelections;
    const bank = sel.length === 1 && sel[0]!.hashAlg === TPM_ALG_SHA256 ? sel[0]! : undefined;
    const badValue = quote.pcrs.findIndex((p) => p.length !== 32);
    if (!bank || bank.pcrs.length === 0) {
      checks.push(fail('tpm.quote.pcr-selection', 'The quote must select PCRs of exactly one bank, sha256.', [{ hash: 'sha256' }], sel.map((s) => ({ hash: `0x${s.hashAlg.toString(16)}`, pcrs: s.pcrs }))));
    } else if (bank.pcrs.length !== quote.pcrs.length || badValue !== -1) {
      checks.push(
        fail(
          'tpm.quote.pcr-selection',
          badValue !== -1 ? `PCR value ${badValue} is ${quote.pcrs[badValue]!.length} bytes, not a 32-byte sha256 value.` : `The quote selects ${bank.pcrs.length} sha256 PCRs but ${quote.pcrs.length} values were sent.`,
          { pcrs: bank.pcrs.length, bytes: 32 },
          { pcrs: quote.pcrs.length },
        ),
      );
    } else {
      checks.push(pass('tpm.quote.pcr-selection', `The quote selects sha256 PCRs ${bank.pcrs.join(', ')}, one value sent for each.`));
      bank.pcrs.forEach((index, i) => (pcrs[String(index)] = hex(quote.pcrs[i]!)));
      const digest = createHash('sha256').update(Buffer.concat(quote.pcrs)).digest();
      digestOk = digest.equals(Buffer.from(attest.pcrDigest));
      checks.push(
        digestOk
          ? pass('tpm.quote.pcr-digest', "SHA-256 of the PCR values sent equals the quote's pcrDigest.")
          : fail('tpm.quote.pcr-digest', "SHA-256 of the PCR values sent differs from the quote's pcrDigest: the PCR values are not the ones quoted.", hex(attest.pcrDigest), digest.toString('hex')),
      );
    }
    if (nonce) {
      const ok = Buffer.from(attest.extraData).equals(Buffer.from(nonce));
      checks.push(
        ok
          ? pass('tpm.quote.nonce', "The quote's extraData is the expected nonce.")
          : fail('tpm.quote.nonce', "The quote's extraData is not the expected nonce: the quote was not made for this challenge.", hex(nonce), hex(attest.extraData)),
      );
    } else {
      warnings.push("No expected nonce was given: the TPM quote's extraData (claims.tpm.nonce) was not compared, so the evidence's freshness is the caller's to check.");
    }
  }
  return { checks, warnings, ...(attest ? { attest } : {}), pcrs, quoteVerified: signatureOk && attest !== undefined && digestOk };
}
