// ATTESTATION_REPORT: the 1184-byte (4A0h) structure the AMD secure processor signs.
// SEV-SNP ABI spec (AMD 56860) §7.3, table "ATTESTATION_REPORT Structure". All integers
// little-endian. Versions: 2 (ABI 1.55), 3 (ABI 1.56: CPUID family/model/stepping at
// 188h-18Ah), 5 (ABI 1.58: LAUNCH_MIT_VECTOR at 1F8h, CURRENT_MIT_VECTOR at 200h).
// Version 4 was never described by a published revision; go-sev-guest and virtee/sev read
// it with the version 3 fields, and so do we (with a warning). A version above 5 keeps
// the same prefix (ABI 1.59 adds fields in the 208h-29Fh reserved area): it is parsed
// with the version 5 fields, its new area is left uninterpreted, and it is flagged.
//
// Parsing is pure and cheap: no crypto here. Reserved ranges must be zero; a non-zero
// one means the bytes are not a report this code understands, so it throws.

import { EvidenceFormatError } from '../../errors.ts';
import { decodePolicy, POLICY_KNOWN_MASK, type GuestPolicy } from './policy.ts';
import { decodePlatformInfo, type PlatformInfo } from './platform-info.ts';
import { decodeKeyInfo, type KeyInfo } from './key-info.ts';

export const REPORT_SIZE = 0x4a0;
/** The signature covers bytes 000h-29Fh. */
export const SIGNED_LENGTH = 0x2a0;
export const SIGNATURE_OFFSET = 0x2a0;
/** ECDSA P-384 R and S are each stored in 72 (48h) little-endian bytes, zero-extended. */
export const SIGNATURE_COMPONENT_SIZE = 72;
/** SIGNATURE_ALGO 1 = ECDSA P-384 with SHA-384 (ABI table "Signature Algorithm Encodings"). */
export const SIG_ALGO_ECDSA_P384_SHA384 = 1;
export const MAX_KNOWN_VERSION = 5;

export interface FirmwareVersion {
  major: number;
  minor: number;
  build: number;
}

export interface Cpuid {
  /** Combined extended family + family (e.g. 0x19 Zen 3/4, 0x1A Zen 5). */
  family: number;
  /** Combined extended model + model. */
  model: number;
  stepping: number;
}

export interface SnpReport {
  /** The whole report (a private copy). */
  bytes: Buffer;
  /** Bytes 000h-29Fh: what the signature covers. */
  signed: Buffer;
  version: number;
  guestSvn: number;
  policy: GuestPolicy;
  familyId: Buffer;
  imageId: Buffer;
  vmpl: number;
  signatureAlgo: number;
  currentTcb: Buffer;
  platformInfo: PlatformInfo;
  keyInfo: KeyInfo;
  reportData: Buffer;
  measurement: Buffer;
  hostData: Buffer;
  idKeyDigest: Buffer;
  authorKeyDigest: Buffer;
  reportId: Buffer;
  reportIdMa: Buffer;
  reportedTcb: Buffer;
  /** Version 3 and later. */
  cpuid?: Cpuid;
  chipId: Buffer;
  committedTcb: Buffer;
  currentVersion: FirmwareVersion;
  committedVersion: FirmwareVersion;
  launchTcb: Buffer;
  /** Version 5 and later: 64-bit vectors as 0x-hex. */
  launchMitVector?: string;
  currentMitVector?: string;
  /** R and S, 72 little-endian bytes each. */
  signatureR: Buffer;
  signatureS: Buffer;
  /** Things a reader should know about how the report was read (later version, ...). */
  warnings: string[];
}

function requireZero(b: Buffer, lo: number, hi: number, code: string, what: string): void {
  for (let i = lo; i < hi; i++) {
    if (b[i] !== 0) {
      throw new EvidenceFormatError(
        code,
        `${what} (bytes 0x${lo.toString(16)}-0x${(hi - 1).toString(16)}) must be zero, but byte 0x${i.toString(16)} is 0x${b[i]!.toString(16).padStart(2, '0')}.`,
      );
    }
  }
}

/** Parse an ATTESTATION_REPORT. Throws EvidenceFormatError for anything malformed. */
export function parseReport(input: Uint8Array): SnpReport {
  if (input.length !== REPORT_SIZE) {
    throw new EvidenceFormatError(
      'snp_report_length',
      `An SEV-SNP attestation report is exactly ${REPORT_SIZE} bytes; this one is ${input.length}.`,
    );
  }
  const b = Buffer.from(input); // a copy: later mutation by the caller cannot change what was verified
  const version = b.readUInt32LE(0x00);
  const warnings: string[] = [];
  if (version < 2) {
    throw new EvidenceFormatError('snp_report_version', `Report version ${version} is not supported (versions 2 and later are).`);
  }
  if (version === 4) {
    warnings.push('Report version 4 is not described by a published ABI revision; it was read with the version 3 layout.');
  } else if (version > MAX_KNOWN_VERSION) {
    warnings.push(
      `Report version ${version} is newer than the versions this verifier knows (2, 3, 5); it was read with the version 5 layout and fields it does not know (0x208-0x29f) were not interpreted.`,
    );
  }
  const signatureAlgo = b.readUInt32LE(0x34);
  if (signatureAlgo !== SIG_ALGO_ECDSA_P384_SHA384) {
    throw new EvidenceFormatError(
      'snp_report_signature_algo',
      `SIGNATURE_ALGO is ${signatureAlgo}; the only algorithm defined is 1 (ECDSA P-384 with SHA-384).`,
    );
  }

  const policy = decodePolicy(b.readBigUInt64LE(0x08));
  const keyInfo = decodeKeyInfo(b.readUInt32LE(0x48));
  requireZero(b, 0x4c, 0x50, 'snp_report_reserved', 'The reserved field after KEY_INFO');
  const hasCpuid = version >= 3;
  requireZero(b, hasCpuid ? 0x18b : 0x188, 0x1a0, 'snp_report_reserved', 'The reserved field after REPORTED_TCB');
  requireZero(b, 0x1eb, 0x1ec, 'snp_report_reserved', 'The reserved byte after CURRENT_MAJOR');
  requireZero(b, 0x1ef, 0x1f0, 'snp_report_reserved', 'The reserved byte after COMMITTED_MAJOR');
  const hasMitVectors = version >= 5;
  if (!hasMitVectors) requireZero(b, 0x1f8, SIGNATURE_OFFSET, 'snp_report_reserved', 'The reserved field after LAUNCH_TCB');
  else if (version === MAX_KNOWN_VERSION) requireZero(b, 0x208, SIGNATURE_OFFSET, 'snp_report_reserved', 'The reserved field after CURRENT_MIT_VECTOR');
  // The signature field is 200h bytes; ECDSA P-384 uses the first 90h (R then S).
  requireZero(
    b,
    SIGNATURE_OFFSET + 2 * SIGNATURE_COMPONENT_SIZE,
    REPORT_SIZE,
    'snp_report_signature_reserved',
    'The reserved tail of the signature field',
  );

  const version3 = (o: number): FirmwareVersion => ({ build: b[o]!, minor: b[o + 1]!, major: b[o + 2]! });
  const report: SnpReport = {
    bytes: b,
    signed: b.subarray(0, SIGNED_LENGTH),
    version,
    guestSvn: b.readUInt32LE(0x04),
    policy,
    familyId: b.subarray(0x10, 0x20),
    imageId: b.subarray(0x20, 0x30),
    vmpl: b.readUInt32LE(0x30),
    signatureAlgo,
    currentTcb: b.subarray(0x38, 0x40),
    platformInfo: decodePlatformInfo(b.readBigUInt64LE(0x40)),
    keyInfo,
    reportData: b.subarray(0x50, 0x90),
    measurement: b.subarray(0x90, 0xc0),
    hostData: b.subarray(0xc0, 0xe0),
    idKeyDigest: b.subarray(0xe0, 0x110),
    authorKeyDigest: b.subarray(0x110, 0x140),
    reportId: b.subarray(0x140, 0x160),
    reportIdMa: b.subarray(0x160, 0x180),
    reportedTcb: b.subarray(0x180, 0x188),
    chipId: b.subarray(0x1a0, 0x1e0),
    committedTcb: b.subarray(0x1e0, 0x1e8),
    currentVersion: version3(0x1e8),
    committedVersion: version3(0x1ec),
    launchTcb: b.subarray(0x1f0, 0x1f8),
    signatureR: b.subarray(SIGNATURE_OFFSET, SIGNATURE_OFFSET + SIGNATURE_COMPONENT_SIZE),
    signatureS: b.subarray(SIGNATURE_OFFSET + SIGNATURE_COMPONENT_SIZE, SIGNATURE_OFFSET + 2 * SIGNATURE_COMPONENT_SIZE),
    warnings,
  };
  if (hasCpuid) report.cpuid = { family: b[0x188]!, model: b[0x189]!, stepping: b[0x18a]! };
  if (hasMitVectors) {
    report.launchMitVector = `0x${b.readBigUInt64LE(0x1f8).toString(16)}`;
    report.currentMitVector = `0x${b.readBigUInt64LE(0x200).toString(16)}`;
  }
  if ((b.readBigUInt64LE(0x08) & ~POLICY_KNOWN_MASK) !== 0n) {
    warnings.push(`The guest policy ${policy.raw} sets bits above 25 that this verifier does not know.`);
  }
  if (report.platformInfo.unknownBits.length > 0) {
    warnings.push(`PLATFORM_INFO ${report.platformInfo.raw} sets bits this verifier does not name: ${report.platformInfo.unknownBits.join(', ')}.`);
  }
  return report;
}
