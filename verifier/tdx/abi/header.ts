// The 48-byte quote header shared by every DCAP quote version.
// Layout: Intel SGX ECDSA Quote Library API (v3, "Quote Header"), Intel TDX DCAP Quoting
// Library API (v4/v5, Table "Quote Header"); QVL QuoteVerification/QuoteStructures.h.
//   0  u16 version           2  u16 attestation key type   4  u32 TEE type (v3: reserved, 0)
//   8  u16 QE SVN (v3)       10 u16 PCE SVN (v3)            12 [16] QE vendor id
//   28 [20] user data (QE vendor data; for Intel's QE the first 16 bytes are the platform QE id)

import { EvidenceFormatError } from '../../errors.ts';

export const QUOTE_HEADER_SIZE = 48;

/** TEE type values of the header (Intel TDX DCAP Quoting Library API, "Quote Header"). */
export const TEE_TYPE_SGX = 0x00000000;
export const TEE_TYPE_TDX = 0x00000081;

/** Attestation key type 2 = ECDSA-256 with P-256; 3 (ECDSA-384) is defined but never issued. */
export const ATTESTATION_KEY_TYPE_ECDSA_P256 = 2;

/** Intel's Quoting Enclave vendor id (QVL QuoteConstants.h INTEL_QE_VENDOR_ID). */
export const INTEL_QE_VENDOR_ID = '939a7233f79c4ca9940a0db3957f0607';

export interface QuoteHeader {
  version: number;
  attestationKeyType: number;
  teeType: number;
  /** v3 only; 0 (reserved) in TDX quotes. */
  qeSvn: number;
  /** v3 only; 0 (reserved) in TDX quotes. */
  pceSvn: number;
  qeVendorId: Buffer;
  userData: Buffer;
}

export function parseQuoteHeader(quote: Buffer): QuoteHeader {
  if (quote.length < QUOTE_HEADER_SIZE) {
    throw new EvidenceFormatError('intel_quote_truncated', `The quote is ${quote.length} bytes, shorter than its 48-byte header.`);
  }
  return {
    version: quote.readUInt16LE(0),
    attestationKeyType: quote.readUInt16LE(2),
    teeType: quote.readUInt32LE(4),
    qeSvn: quote.readUInt16LE(8),
    pceSvn: quote.readUInt16LE(10),
    qeVendorId: quote.subarray(12, 28),
    userData: quote.subarray(28, 48),
  };
}
