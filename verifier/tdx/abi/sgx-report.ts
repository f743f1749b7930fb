// The 384-byte SGX enclave report body (sgx_report_body_t): the body of an SGX quote and the
// Quoting Enclave's own report inside every quote's signature data.
// Layout: Intel SGX ECDSA Quote Library API, "Enclave Report Body"; QVL QuoteStructures.h
// EnclaveReport. Integers little-endian.

export const SGX_REPORT_SIZE = 384;

export interface SgxReportBody {
  /** The exact 384 bytes, as signed. */
  raw: Buffer;
  cpuSvn: Buffer;
  miscSelect: number;
  isvExtProdId: Buffer;
  attributes: Buffer;
  mrEnclave: Buffer;
  mrSigner: Buffer;
  configId: Buffer;
  isvProdId: number;
  isvSvn: number;
  configSvn: number;
  isvFamilyId: Buffer;
  reportData: Buffer;
}

/** `body` must be exactly 384 bytes: the caller checked. */
export function parseSgxReport(body: Buffer): SgxReportBody {
  return {
    raw: body,
    cpuSvn: body.subarray(0, 0 + 16),
    miscSelect: body.readUInt32LE(16),
    // 20..32 reserved
    isvExtProdId: body.subarray(32, 32 + 16),
    attributes: body.subarray(48, 48 + 16),
    mrEnclave: body.subarray(64, 64 + 32),
    // 96..128 reserved
    mrSigner: body.subarray(128, 128 + 32),
    // 160..192 reserved
    configId: body.subarray(192, 192 + 64),
    isvProdId: body.readUInt16LE(256),
    isvSvn: body.readUInt16LE(258),
    configSvn: body.readUInt16LE(260),
    // 262..304 reserved
    isvFamilyId: body.subarray(304, 304 + 16),
    reportData: body.subarray(320, 320 + 64),
  };
}

/** ATTRIBUTES.FLAGS bit 1 (SGX Developer Reference, sgx_attributes_t): debug enclave. */
export function sgxDebug(attributes: Buffer): boolean {
  return (attributes[0]! & 0x02) !== 0;
}
