// The TD report carried as the body of a TDX quote (TDREPORT's TDINFO + TEE_TCB_INFO parts
// that the QE signs). Layout: Intel TDX DCAP Quoting Library API, "TD Quote Body" (TD 1.0,
// 584 bytes) and "TD Quote Body Descriptor" type 3 (TD 1.5, 648 bytes); QVL
// QuoteStructures.h TDReport / TDReport15. All integers little-endian.

export const TD_REPORT10_SIZE = 584;
export const TD_REPORT15_SIZE = 648;

export interface TdAttributes {
  /** Raw 8 bytes (as in the report) and the little-endian value in hex. */
  raw: string;
  /** Bit 0 (TUD.DEBUG): the TD is debuggable; its secrets are visible to the host. */
  debug: boolean;
  /**
   * Any bit of the TUD ("TD under debug") group, 7:0. The module ABI calls a TD with any of
   * them set untrusted; it defines bit 0 (DEBUG) and keeps 7:1 reserved (intel/tdx-module
   * td_param_attributes_t, reserved_tud), so one set there is a debug feature this code does
   * not know: what the policy's `debug` claim reads, fail closed (go-tdx-guest validate also
   * refuses any bit outside DEBUG, SEPT_VE_DISABLE, PKS and PERFMON).
   */
  tud: boolean;
  /** Bit 27 (SEC.LASS, TDX 1.5): linear address space separation. */
  lass: boolean;
  /** Bit 29 (MIGRATABLE, TDX 1.5; Linux TDX_ATTR_MIGRATABLE): the TD may be exported through a migration TD. */
  migratable: boolean;
  /** Bit 28 (SEC.SEPT_VE_DISABLE): EPT violations are not converted to #VE. */
  septVeDisable: boolean;
  /** Bit 30 (SEC.PKS): supervisor protection keys enabled. */
  pks: boolean;
  /** Bit 31 (SEC.KL): Key Locker enabled. */
  kl: boolean;
  /** Bit 63 (OTHER.PERFMON): the TD may use the performance monitoring counters. */
  perfmon: boolean;
  /** Any bit the TDX module ABI marks reserved (1-7, 8-26, 32-62) is set. */
  reservedBitsSet: boolean;
}

export interface TdReport {
  kind: 'td10' | 'td15';
  teeTcbSvn: Buffer;
  mrSeam: Buffer;
  mrSignerSeam: Buffer;
  seamAttributes: Buffer;
  tdAttributes: Buffer;
  xfam: Buffer;
  mrTd: Buffer;
  mrConfigId: Buffer;
  mrOwner: Buffer;
  mrOwnerConfig: Buffer;
  rtmr: [Buffer, Buffer, Buffer, Buffer];
  reportData: Buffer;
  /** TD 1.5 only. */
  teeTcbSvn2?: Buffer;
  /** TD 1.5 only. */
  mrServiceTd?: Buffer;
}

/** `body` must be exactly 584 (TD 1.0) or 648 (TD 1.5) bytes: the caller checked. */
export function parseTdReport(body: Buffer): TdReport {
  const report: TdReport = {
    kind: body.length === TD_REPORT15_SIZE ? 'td15' : 'td10',
    teeTcbSvn: body.subarray(0, 0 + 16),
    mrSeam: body.subarray(16, 16 + 48),
    mrSignerSeam: body.subarray(64, 64 + 48),
    seamAttributes: body.subarray(112, 112 + 8),
    tdAttributes: body.subarray(120, 120 + 8),
    xfam: body.subarray(128, 128 + 8),
    mrTd: body.subarray(136, 136 + 48),
    mrConfigId: body.subarray(184, 184 + 48),
    mrOwner: body.subarray(232, 232 + 48),
    mrOwnerConfig: body.subarray(280, 280 + 48),
    rtmr: [body.subarray(328, 328 + 48), body.subarray(376, 376 + 48), body.subarray(424, 424 + 48), body.subarray(472, 472 + 48)],
    reportData: body.subarray(520, 520 + 64),
  };
  if (report.kind === 'td15') {
    report.teeTcbSvn2 = body.subarray(584, 584 + 16);
    report.mrServiceTd = body.subarray(600, 600 + 48);
  }
  return report;
}

// TDATTRIBUTES bit positions: Intel TDX Module ABI specification, "TDATTRIBUTES Definition".
const DEBUG = 1n << 0n;
const TUD = 0xffn;
const LASS = 1n << 27n;
const SEPT_VE_DISABLE = 1n << 28n;
const MIGRATABLE = 1n << 29n;
const PKS = 1n << 30n;
const KL = 1n << 31n;
const PERFMON = 1n << 63n;
const DEFINED = DEBUG | LASS | SEPT_VE_DISABLE | MIGRATABLE | PKS | KL | PERFMON;

export function decodeTdAttributes(raw: Buffer): TdAttributes {
  const v = raw.readBigUInt64LE(0);
  return {
    raw: raw.toString('hex'),
    debug: (v & DEBUG) !== 0n,
    tud: (v & TUD) !== 0n,
    lass: (v & LASS) !== 0n,
    migratable: (v & MIGRATABLE) !== 0n,
    septVeDisable: (v & SEPT_VE_DISABLE) !== 0n,
    pks: (v & PKS) !== 0n,
    kl: (v & KL) !== 0n,
    perfmon: (v & PERFMON) !== 0n,
    reservedBitsSet: (v & ~DEFINED) !== 0n,
  };
}
