// DCAP quotes: SGX v3, v4 (TDX TD 1.0 or SGX) and v5 (body descriptor: 1 SGX, 2 TD 1.0,
// 3 TD 1.5), parsed field by field with every length checked.
// Layout: Intel TDX DCAP Quoting Library API (v4 "Quote Format", v5 "Quote Body
// Descriptor"), Intel SGX ECDSA Quote Library API (v3); QVL QuoteVerification/Quote.cpp.
//
//   header (48) | [v5: u16 body type, u32 body size] | body | u32 signature data size |
//   signature data: ECDSA r||s (64) | attestation key x||y (64) | certification data
//
// The signed region is everything before the signature data size. The quote ends at
// signed_end + 4 + size; the Linux quote interfaces hand out bigger zero-padded buffers, so
// bytes after the end are tolerated (as Intel's QVL does since DCAP 1.18), counted and never
// signature-checked; the count goes into the claims, and a policy may refuse them.

import { EvidenceFormatError } from '../../errors.ts';
import { parseCertificationDataV3, parseCertificationDataV4, type QeCertification } from './certification-data.ts';
import { Cursor } from './cursor.ts';
import {
  ATTESTATION_KEY_TYPE_ECDSA_P256,
  QUOTE_HEADER_SIZE,
  TEE_TYPE_SGX,
  TEE_TYPE_TDX,
  parseQuoteHeader,
  type QuoteHeader,
} from './header.ts';
import { SGX_REPORT_SIZE, parseSgxReport, type SgxReportBody } from './sgx-report.ts';
import { TD_REPORT10_SIZE, TD_REPORT15_SIZE, parseTdReport, type TdReport } from './td-report.ts';

/** v5 body descriptor types (TDX DCAP Quoting Library API, "Quote Body Descriptor"). */
export const BODY_TYPE_SGX = 1;
export const BODY_TYPE_TD10 = 2;
export const BODY_TYPE_TD15 = 3;

const BODY_SIZES: Record<number, number> = {
  [BODY_TYPE_SGX]: SGX_REPORT_SIZE,
  [BODY_TYPE_TD10]: TD_REPORT10_SIZE,
  [BODY_TYPE_TD15]: TD_REPORT15_SIZE,
};

export type QuoteBody = { kind: 'sgx'; report: SgxReportBody } | { kind: 'td10' | 'td15'; report: TdReport };

export interface IntelQuote {
  tee: 'tdx' | 'sgx';
  header: QuoteHeader;
  /** v5 only: the body descriptor's type. */
  bodyType?: number;
  body: QuoteBody;
  /** Header (+ descriptor) + body: what the attestation key signs. */
  signedBytes: Buffer;
  /** ECDSA P-256 r||s over signedBytes. */
  signature: Buffer;
  /** Raw P-256 public key x||y (64 bytes). */
  attestationKey: Buffer;
  certification: QeCertification;
  /** The quote's own length (signed_end + 4 + signature data size). */
  length: number;
  /** Bytes after the quote's end in the buffer given (padding); never verified. */
  trailingBytes: number;
}

/** Parse a quote. Throws EvidenceFormatError with a specific `intel_*` code on any inconsistency. */
export function parseIntelQuote(input: Uint8Array): IntelQuote {
  // A private copy, as the SNP parser makes: the parsed views (body, QE report, signature)
  // and the values read now must stay the same bytes while collateral is fetched, whatever
  // the caller does with its buffer meanwhile.
  const buf = Buffer.from(input);
  const header = parseQuoteHeader(buf);
  const { version, teeType } = header;
  if (version !== 3 && version !== 4 && version !== 5) {
    throw new EvidenceFormatError('intel_quote_version', `Quote version ${version} is not supported (3, 4 and 5 are).`);
  }
  if (header.attestationKeyType !== ATTESTATION_KEY_TYPE_ECDSA_P256) {
    throw new EvidenceFormatError(
      'intel_quote_attestation_key_type',
      `Attestation key type ${header.attestationKeyType} is not supported (only 2, ECDSA P-256).`,
    );
  }
  if (teeType !== TEE_TYPE_SGX && teeType !== TEE_TYPE_TDX) {
    throw new EvidenceFormatError('intel_quote_tee_type', `TEE type 0x${teeType.toString(16)} is neither SGX (0x0) nor TDX (0x81).`);
  }
  if (version === 3 && teeType !== TEE_TYPE_SGX) {
    throw new EvidenceFormatError('intel_quote_tee_type', 'A version 3 quote must be an SGX quote (TEE type 0).');
  }
  const tee = teeType === TEE_TYPE_TDX ? 'tdx' : 'sgx';

  const c = new Cursor(buf, 'intel_quote_truncated', QUOTE_HEADER_SIZE);
  let bodyType: number | undefined;
  let bodySize: number;
  if (version === 5) {
    bodyType = c.u16('the body descriptor type');
    const declared = c.u32('the body descriptor size');
    const expected = BODY_SIZES[bodyType];
    if (expected === undefined) {
      throw new EvidenceFormatError('intel_quote_body_type', `Quote body type ${bodyType} is unknown (1 SGX, 2 TD 1.0, 3 TD 1.5).`);
    }
    if ((bodyType === BODY_TYPE_SGX) !== (tee === 'sgx')) {
      throw new EvidenceFormatError('intel_quote_body_type', `Quote body type ${bodyType} does not match TEE type 0x${teeType.toString(16)}.`);
    }
    if (declared !== expected) {
      throw new EvidenceFormatError('intel_quote_body_size', `Quote body type ${bodyType} must be ${expected} bytes; the descriptor says ${declared}.`);
    }
    bodySize = expected;
  } else {
    bodySize = tee === 'tdx' ? TD_REPORT10_SIZE : SGX_REPORT_SIZE;
  }
  const bodyBytes = c.bytes(bodySize, 'the quote body');
  const body: QuoteBody =
    tee === 'sgx'
      ? { kind: 'sgx', report: parseSgxReport(bodyBytes) }
      : { kind: bodySize === TD_REPORT15_SIZE ? 'td15' : 'td10', report: parseTdReport(bodyBytes) };
  const signedEnd = c.offset;

  const sigLength = c.u32('the signature data size');
  const end = c.offset + sigLength;
  if (end > buf.length) {
    throw new EvidenceFormatError(
      'intel_quote_signature_data_length',
      `The signature data declares ${sigLength} bytes but only ${buf.length - c.offset} follow.`,
    );
  }
  const s = new Cursor(buf, 'intel_quote_signature_data_length', c.offset, end);
  const signature = s.bytes(64, 'the quote signature');
  const attestationKey = s.bytes(64, 'the attestation key');
  const certification =
    version === 3 ? parseCertificationDataV3(buf, s.offset, end) : parseCertificationDataV4(buf, s.offset, end);

  return {
    tee,
    header,
    ...(bodyType !== undefined ? { bodyType } : {}),
    body,
    signedBytes: buf.subarray(0, signedEnd),
    signature,
    attestationKey,
    certification,
    length: end,
    trailingBytes: buf.length - end,
  };
}
