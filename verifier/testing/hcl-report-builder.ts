import { createHash } from 'node:crypto';

// Byte layout of the Azure HCL (paravisor) attestation report, as read by
// the CoCo attestation-agent's az-snp-vtpm / az-tdx-vtpm crates and as seen in
// the real reports copied to test/fixtures/az-*-vtpm/hcl-report.bin:
//   0    header: 'HCLA', version, report_size, request_type, status, reserved (32 bytes)
//   32   hardware report slot (SNP report, or TD report zero-padded), 1184 bytes
//   1216 IGVM request data: data_size, version, report_type, hash_type, variable_data_size (5 x u32 LE)
//   1236 variable data: the runtime-data JSON (keys / vm-configuration / user-data)
// The hardware report's REPORT_DATA[0:32] is SHA-256 of that runtime data.
export const HCL_HEADER_SIZE = 32;
export const HCL_HW_REPORT_SIZE = 1184;
export const HCL_REQUEST_DATA_OFFSET = HCL_HEADER_SIZE + HCL_HW_REPORT_SIZE;
export const HCL_RUNTIME_DATA_OFFSET = HCL_REQUEST_DATA_OFFSET + 20;
/** The real reports are read from a fixed-size vTPM NV index. */
export const HCL_REPORT_SIZE = 2600;

export const HCL_REPORT_TYPE = { snp: 2, tdx: 4 } as const;
export type HclTee = keyof typeof HCL_REPORT_TYPE;
const HASH_TYPE_SHA256 = 1;
const REQUEST_DATA_VERSION = 1;

export interface HclReportParts {
  readonly tee: HclTee;
  /** SNP report (1184 bytes) or TD report (1024 bytes, padded into the slot). */
  readonly hwReport: Uint8Array;
  readonly runtimeData: Uint8Array;
}

/** SHA-256 of the runtime data: what REPORT_DATA[0:32] of the hardware report must hold. */
export function hclRuntimeDataDigest(runtimeData: Uint8Array): Uint8Array {
  return new Uint8Array(createHash('sha256').update(runtimeData).digest());
}

/**
 * Lay the parts out as an HCL report; the caller puts the digest into the hardware report
 * first. `size`: the NV index size it is padded to (a software TPM's NV indices hold at most
 * 2048 bytes, libtpms MAX_NV_INDEX_SIZE, less than Azure's 2600).
 */
export function buildHclReport(parts: HclReportParts, size: number = HCL_REPORT_SIZE): Uint8Array {
  if (parts.hwReport.length > HCL_HW_REPORT_SIZE) {
    throw new Error(`hardware report is ${parts.hwReport.length} bytes, the HCL slot holds ${HCL_HW_REPORT_SIZE}`);
  }
  const total = Math.max(size, HCL_RUNTIME_DATA_OFFSET + parts.runtimeData.length);
  const out = Buffer.alloc(total);
  const requestDataSize = 20 + parts.runtimeData.length;
  out.write('HCLA', 0, 'ascii');
  out.writeUInt32LE(2, 4);
  out.writeUInt32LE(HCL_REQUEST_DATA_OFFSET + requestDataSize, 8);
  out.writeUInt32LE(2, 12);
  Buffer.from(parts.hwReport).copy(out, HCL_HEADER_SIZE);
  out.writeUInt32LE(requestDataSize, HCL_REQUEST_DATA_OFFSET);
  out.writeUInt32LE(REQUEST_DATA_VERSION, HCL_REQUEST_DATA_OFFSET + 4);
  out.writeUInt32LE(HCL_REPORT_TYPE[parts.tee], HCL_REQUEST_DATA_OFFSET + 8);
  out.writeUInt32LE(HASH_TYPE_SHA256, HCL_REQUEST_DATA_OFFSET + 12);
  out.writeUInt32LE(parts.runtimeData.length, HCL_REQUEST_DATA_OFFSET + 16);
  Buffer.from(parts.runtimeData).copy(out, HCL_RUNTIME_DATA_OFFSET);
  return new Uint8Array(out);
}

/** Split an HCL report back into its parts (used by tests; the verifier has its own parser). */
export function splitHclReport(bytes: Uint8Array): HclReportParts {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < HCL_RUNTIME_DATA_OFFSET || buf.toString('ascii', 0, 4) !== 'HCLA') {
    throw new Error('not an HCL report: missing the HCLA header');
  }
  const type = buf.readUInt32LE(HCL_REQUEST_DATA_OFFSET + 8);
  const tee = type === HCL_REPORT_TYPE.snp ? 'snp' : type === HCL_REPORT_TYPE.tdx ? 'tdx' : undefined;
  if (tee === undefined) throw new Error(`unknown HCL report_type ${type}`);
  const size = buf.readUInt32LE(HCL_REQUEST_DATA_OFFSET + 16);
  if (HCL_RUNTIME_DATA_OFFSET + size > buf.length) throw new Error('HCL runtime data runs past the report');
  return {
    tee,
    hwReport: new Uint8Array(buf.subarray(HCL_HEADER_SIZE, HCL_REQUEST_DATA_OFFSET)),
    runtimeData: new Uint8Array(buf.subarray(HCL_RUNTIME_DATA_OFFSET, HCL_RUNTIME_DATA_OFFSET + size)),
  };
}
