// Builds SEV-SNP ATTESTATION_REPORT structures (version 3) in the real 1184-byte layout,
// signed by the simulated VCEK. Offsets: AMD SEV-SNP Firmware ABI Specification (pub.
// 56860), Table 22 "ATTESTATION_REPORT Structure" (rev 1.55; same layout as go-sev-guest
// abi.ReportToProto). The signature (Table 139/140, "ECDSA P-384 with SHA-384") covers
// bytes 0x000-0x29F; R and S are little-endian, each in a 72-byte field.

import { createHash, randomBytes, sign } from 'node:crypto';
import type { SnpTcbParts } from '../collateral/source.ts';
import { REPORT_SIZE, SIGNATURE_COMPONENT_SIZE as ECDSA_FIELD, SIGNED_LENGTH } from '../snp/abi/report.ts';
import type { SimulatorChain } from './simulated-chain.ts';


/** The guest policy bits (ABI spec Table 9 "Guest Policy Structure"). */
export interface SnpGuestPolicy {
  abiMinor?: number;
  abiMajor?: number;
  /** Bit 16: SMT allowed. Default true. */
  smt?: boolean;
  /** Bit 18: a migration agent may be associated. */
  migrateMa?: boolean;
  /** Bit 19: debugging allowed (the host can read guest memory). */
  debug?: boolean;
  /** Bit 20: single socket only. */
  singleSocket?: boolean;
}

export interface SnpReportOptions {
  /** REPORT_DATA, up to 64 bytes (zero-padded). */
  reportData?: Uint8Array;
  /** MEASUREMENT, 48 bytes. Default SIMULATOR_SNP_MEASUREMENT. */
  measurement?: Uint8Array;
  /** Policy bits, or the raw 64-bit POLICY (bit 17 must be set, per the spec). */
  policy?: SnpGuestPolicy | bigint;
  guestSvn?: number;
  vmpl?: number;
  hostData?: Uint8Array;
  familyId?: Uint8Array;
  imageId?: Uint8Array;
  idKeyDigest?: Uint8Array;
  authorKeyDigest?: Uint8Array;
  /** Sets AUTHOR_KEY_EN (an ID block with an author key was used at launch). */
  authorKeyEn?: boolean;
  reportId?: Uint8Array;
  reportIdMa?: Uint8Array;
  /** Default: the chain's VCEK TCB. A REPORTED_TCB other than the VCEK's makes the report fail verification, as on real hardware. */
  reportedTcb?: SnpTcbParts;
  currentTcb?: SnpTcbParts;
  committedTcb?: SnpTcbParts;
  launchTcb?: SnpTcbParts;
  /** Default: the chain's chip id. */
  chipId?: Uint8Array;
  /** SNP_CONFIG MASK_CHIP_ID: CHIP_ID reads as zeros (the report is still signed). */
  maskChipId?: boolean;
  /** SNP_CONFIG MASK_CHIP_KEY: KEY_INFO bit 1 set and, as the firmware does, zeros instead of a signature (ABI §7.3). */
  maskChipKey?: boolean;
  /** PLATFORM_INFO. Default 0x3 (SMT enabled, TSME enabled). */
  platformInfo?: bigint;
  /** CPUID_FAM_ID / CPUID_MOD_ID / CPUID_STEP. Default Milan: 0x19 / 0x01 / 0x01. */
  cpuid?: { family: number; model: number; stepping: number };
  /** CURRENT_* and COMMITTED_* firmware versions. Default 1.55.29. */
  firmware?: { major: number; minor: number; build: number };
  /** COMMITTED_* alone, for provisional firmware (installed, not committed). Default `firmware`. */
  committedFirmware?: { major: number; minor: number; build: number };
}

export interface BuiltSnpReport {
  report: Uint8Array;
  certificates: { vcek: Uint8Array; ask: Uint8Array; ark: Uint8Array };
}

/** The simulator's default guest MEASUREMENT: what the development policy allows. */
export const SIMULATOR_SNP_MEASUREMENT = createHash('sha384').update('tessera simulator: SEV-SNP guest').digest('hex');

function put(buf: Buffer, offset: number, bytes: Uint8Array | undefined, size: number, what: string): void {
  if (bytes === undefined) return;
  if (bytes.length !== size) throw new RangeError(`${what} must be ${size} bytes, got ${bytes.length}`);
  buf.set(bytes, offset);
}

/** TCB_VERSION for Milan and Genoa (ABI spec Table 3): bootloader, tee, 4 reserved, snp, microcode. */
export function encodeSnpTcb(tcb: SnpTcbParts): Buffer {
  const b = Buffer.alloc(8);
  b[0] = tcb.bootloader;
  b[1] = tcb.tee;
  b[6] = tcb.snp;
  b[7] = tcb.microcode;
  return b;
}

export function encodeSnpPolicy(policy: SnpGuestPolicy | bigint | undefined): bigint {
  if (typeof policy === 'bigint') return policy;
  const p = policy ?? {};
  let v = BigInt(p.abiMinor ?? 0) | (BigInt(p.abiMajor ?? 0) << 8n) | (1n << 17n);
  if (p.smt ?? true) v |= 1n << 16n;
  if (p.migrateMa) v |= 1n << 18n;
  if (p.debug) v |= 1n << 19n;
  if (p.singleSocket) v |= 1n << 20n;
  return v;
}

/** Sign a report in place with the chain's VCEK key. */
function signSnpReport(report: Buffer, chain: SimulatorChain): void {
  const sig = sign('sha384', report.subarray(0, SIGNED_LENGTH), { key: chain.amd.vcekKey, dsaEncoding: 'ieee-p1363' });
  report.fill(0, SIGNED_LENGTH);
  // ieee-p1363 gives R||S big-endian, 48 bytes each; the report stores each little-endian.
  report.set(Buffer.from(sig.subarray(0, 48)).reverse(), SIGNED_LENGTH);
  report.set(Buffer.from(sig.subarray(48, 96)).reverse(), SIGNED_LENGTH + ECDSA_FIELD);
}

export function buildSnpReport(chain: SimulatorChain, options: SnpReportOptions = {}): BuiltSnpReport {
  const r = Buffer.alloc(REPORT_SIZE);
  const tcb = options.reportedTcb ?? chain.amd.tcb;
  const fw = options.firmware ?? { major: 1, minor: 55, build: 29 };
  const cpuid = options.cpuid ?? { family: 0x19, model: 0x01, stepping: 0x01 };
  if (options.reportData && options.reportData.length > 64) throw new RangeError('reportData is at most 64 bytes');

  r.writeUInt32LE(3, 0x00); // VERSION
  r.writeUInt32LE(options.guestSvn ?? 0, 0x04);
  r.writeBigUInt64LE(encodeSnpPolicy(options.policy), 0x08);
  put(r, 0x10, options.familyId, 16, 'familyId');
  put(r, 0x20, options.imageId, 16, 'imageId');
  r.writeUInt32LE(options.vmpl ?? 0, 0x30);
  r.writeUInt32LE(1, 0x34); // SIGNATURE_ALGO: ECDSA P-384 with SHA-384
  encodeSnpTcb(options.currentTcb ?? tcb).copy(r, 0x38);
  r.writeBigUInt64LE(options.platformInfo ?? 0x3n, 0x40);
  // 0x48: AUTHOR_KEY_EN (bit 0), MASK_CHIP_KEY (bit 1), SIGNING_KEY (bits 4:2, 0 = VCEK).
  r.writeUInt32LE((options.authorKeyEn ? 1 : 0) | (options.maskChipKey ? 2 : 0), 0x48);
  if (options.reportData) r.set(options.reportData, 0x50);
  put(r, 0x90, options.measurement ?? Buffer.from(SIMULATOR_SNP_MEASUREMENT, 'hex'), 48, 'measurement');
  put(r, 0xc0, options.hostData, 32, 'hostData');
  put(r, 0xe0, options.idKeyDigest, 48, 'idKeyDigest');
  put(r, 0x110, options.authorKeyDigest, 48, 'authorKeyDigest');
  put(r, 0x140, options.reportId ?? randomBytes(32), 32, 'reportId');
  put(r, 0x160, options.reportIdMa ?? Buffer.alloc(32, 0xff), 32, 'reportIdMa'); // all ones: no migration agent
  encodeSnpTcb(tcb).copy(r, 0x180); // REPORTED_TCB
  r[0x188] = cpuid.family;
  r[0x189] = cpuid.model;
  r[0x18a] = cpuid.stepping;
  if (!options.maskChipId) put(r, 0x1a0, options.chipId ?? chain.amd.chipId, 64, 'chipId');
  encodeSnpTcb(options.committedTcb ?? tcb).copy(r, 0x1e0);
  r[0x1e8] = fw.build; // CURRENT_BUILD, CURRENT_MINOR, CURRENT_MAJOR
  r[0x1e9] = fw.minor;
  r[0x1ea] = fw.major;
  const committed = options.committedFirmware ?? fw;
  r[0x1ec] = committed.build; // COMMITTED_BUILD, COMMITTED_MINOR, COMMITTED_MAJOR
  r[0x1ed] = committed.minor;
  r[0x1ee] = committed.major;
  encodeSnpTcb(options.launchTcb ?? tcb).copy(r, 0x1f0);
  if (!options.maskChipKey) signSnpReport(r, chain);
  return {
    report: new Uint8Array(r),
    certificates: { vcek: new Uint8Array(chain.amd.vcek), ask: new Uint8Array(chain.amd.ask), ark: new Uint8Array(chain.amd.ark) },
  };
}
