// The Azure HCL (paravisor) attestation report, as the vTPM NV index 0x01400001 holds it.
// Layout from az-cvm-vtpm (kinvolk/azure-cvm-tooling az-cvm-vtpm/src/hcl/mod.rs:
// AttestationHeader, hw_report[MAX_REPORT_SIZE], IgvmRequestData), all little-endian:
//   0     header: signature 'HCLA', version, report_size, request_type, status, reserved[3]
//   32    hw_report: SNP ATTESTATION_REPORT (1184 bytes), or TDREPORT_STRUCT (1024, zero-padded)
//   1216  IgvmRequestData: data_size, version, report_type (2 SNP, 4 TDX), report_data_hash_type
//         (1 SHA-256), variable_data_size
//   1236  variable data: the runtime data JSON (keys, vm-configuration, user-data)
// Every length is checked against the buffer before anything is read; unlike the crate, a
// hash type other than SHA-256 is refused rather than a panic (its var_data_sha256 is
// unimplemented!() for the others).

export const HCL_SIGNATURE = 'HCLA';
export const HCL_HEADER_SIZE = 32;
export const HCL_HW_REPORT_SIZE = 1184;
export const HCL_REQUEST_DATA_OFFSET = HCL_HEADER_SIZE + HCL_HW_REPORT_SIZE;
export const HCL_REQUEST_DATA_HEADER = 20;
export const HCL_RUNTIME_DATA_OFFSET = HCL_REQUEST_DATA_OFFSET + HCL_REQUEST_DATA_HEADER;
export const SNP_REPORT_SIZE = 1184;
export const TD_REPORT_SIZE = 1024;
const REPORT_TYPES: Record<number, 'snp' | 'tdx'> = { 2: 'snp', 4: 'tdx' };
const HASH_TYPE_SHA256 = 1;
/** Header versions seen in real reports (1 on the SNP vectors, 2 on the TDX one). */
const HEADER_VERSIONS = [1, 2];
const REQUEST_DATA_VERSION = 1;

export interface HclReport {
  headerVersion: number;
  requestType: number;
  tee: 'snp' | 'tdx';
  /** The hardware report: 1184 bytes of SNP report, or the 1024-byte TD report. */
  hwReport: Uint8Array;
  runtimeData: Uint8Array;
}

/** Why a buffer is not an HCL report: a named field, what it must be and what it is. */
export interface HclLayoutProblem {
  detail: string;
  expected: unknown;
  found: unknown;
}

export type HclParse = { ok: true; report: HclReport } | { ok: false; problem: HclLayoutProblem };

const problem = (detail: string, expected: unknown, found: unknown): HclParse => ({ ok: false, problem: { detail, expected, found } });

export function parseHclReport(bytes: Uint8Array): HclParse {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HCL_RUNTIME_DATA_OFFSET) {
    return problem(`The HCL report is ${buf.length} bytes: shorter than its fixed part (header, hardware report, request data).`, `at least ${HCL_RUNTIME_DATA_OFFSET} bytes`, buf.length);
  }
  const signature = buf.toString('latin1', 0, 4);
  if (signature !== HCL_SIGNATURE) return problem('The HCL report header signature is not HCLA.', HCL_SIGNATURE, buf.subarray(0, 4).toString('hex'));
  const headerVersion = buf.readUInt32LE(4);
  if (!HEADER_VERSIONS.includes(headerVersion)) return problem(`The HCL report header version is ${headerVersion}, not one this verifier knows.`, HEADER_VERSIONS, headerVersion);
  const reportSize = buf.readUInt32LE(8);
  const requestType = buf.readUInt32LE(12);
  const status = buf.readUInt32LE(16);
  if (status !== 0) return problem(`The HCL report header status is ${status}: the paravisor did not report success.`, 0, status);

  const r = HCL_REQUEST_DATA_OFFSET;
  const dataSize = buf.readUInt32LE(r);
  const version = buf.readUInt32LE(r + 4);
  const reportType = buf.readUInt32LE(r + 8);
  const hashType = buf.readUInt32LE(r + 12);
  const varSize = buf.readUInt32LE(r + 16);
  if (version !== REQUEST_DATA_VERSION) return problem(`The HCL request data version is ${version}.`, REQUEST_DATA_VERSION, version);
  const tee = REPORT_TYPES[reportType];
  if (!tee) return problem(`The HCL report_type is ${reportType}: neither SNP (2) nor TDX (4).`, [2, 4], reportType);
  if (hashType !== HASH_TYPE_SHA256) return problem(`The HCL report_data_hash_type is ${hashType}; only SHA-256 (1) is supported.`, HASH_TYPE_SHA256, hashType);
  if (varSize > buf.length - HCL_RUNTIME_DATA_OFFSET) {
    return problem(`The runtime data (${varSize} bytes at ${HCL_RUNTIME_DATA_OFFSET}) runs past the end of the ${buf.length}-byte HCL report.`, `at most ${buf.length - HCL_RUNTIME_DATA_OFFSET}`, varSize);
  }
  if (dataSize !== HCL_REQUEST_DATA_HEADER + varSize) {
    return problem('The HCL request data_size is not its 20-byte header plus the runtime data size.', HCL_REQUEST_DATA_HEADER + varSize, dataSize);
  }
  if (reportSize !== HCL_REQUEST_DATA_OFFSET + dataSize) {
    return problem('The HCL header report_size is not the offset of the request data plus its data_size.', HCL_REQUEST_DATA_OFFSET + dataSize, reportSize);
  }
  const hwSize = tee === 'snp' ? SNP_REPORT_SIZE : TD_REPORT_SIZE;
  return {
    ok: true,
    report: {
      headerVersion,
      requestType,
      tee,
      hwReport: new Uint8Array(buf.subarray(HCL_HEADER_SIZE, HCL_HEADER_SIZE + hwSize)),
      runtimeData: new Uint8Array(buf.subarray(HCL_RUNTIME_DATA_OFFSET, HCL_RUNTIME_DATA_OFFSET + varSize)),
    },
  };
}
