// The Quoting Enclave's report vouches for the attestation key: it is signed by the PCK key
// (so it comes from a genuine QE on this platform) and its REPORTDATA is
// SHA-256(attestation key || QE authentication data) followed by 32 zero bytes.
// QVL QuoteVerifier.cpp 4.1.2.4.12 - 4.1.2.4.13; Intel SGX ECDSA Quote Library API, "QE
// Report Data".

import { createHash, type KeyObject } from 'node:crypto';
import type { Check } from '../result.ts';
import type { IntelQuote } from './abi/quote.ts';
import { fail, pass } from './check.ts';
import { verifyP256 } from './ecdsa-p256.ts';

/** `<tee>.qe-report.signature`: ECDSA P-256 over the 384 QE report bytes, by the PCK leaf key. */
export function checkQeReportSignature(quote: IntelQuote, pckKey: KeyObject, prefix: string): Check {
  const id = `${prefix}.qe-report.signature`;
  const { qeReport, qeReportSignature } = quote.certification;
  return verifyP256(qeReport.raw, qeReportSignature, pckKey)
    ? pass(id, 'The QE report is signed by the PCK certificate key.')
    : fail(id, 'The QE report signature does not verify with the PCK certificate key.', 'a valid ECDSA P-256 signature', qeReportSignature.toString('hex'));
}

/** `<tee>.qe-report.binding`: QE REPORTDATA = SHA-256(attestation key || QE auth data) || 0^32. */
export function checkQeReportBinding(quote: IntelQuote, prefix: string): Check {
  const id = `${prefix}.qe-report.binding`;
  const { qeReport, qeAuthData } = quote.certification;
  const expected = Buffer.alloc(64);
  createHash('sha256').update(quote.attestationKey).update(qeAuthData).digest().copy(expected, 0);
  return expected.equals(qeReport.reportData)
    ? pass(id, 'The QE report binds the attestation key: REPORTDATA = SHA-256(attestation key || QE auth data) || zeros.')
    : fail(
        id,
        'The QE report does not bind the attestation key and QE authentication data.',
        expected.toString('hex'),
        qeReport.reportData.toString('hex'),
      );
}
