// KEY_INFO (report offset 0x48, 32 bits; "signer info" in go-sev-guest): which key signed
// the report. SEV-SNP ABI spec (AMD 56860) table "ATTESTATION_REPORT Structure", offset 48h:
// bit 0 AUTHOR_KEY_EN, bit 1 MASK_CHIP_KEY, bits 4:2 SIGNING_KEY (0 = VCEK, 1 = VLEK,
// 7 = none: the report is unsigned; 2-6 reserved), bits 31:5 reserved, must be zero.

import { EvidenceFormatError } from '../../errors.ts';

export type SigningKey = 'VCEK' | 'VLEK' | 'NONE';

export interface KeyInfo {
  raw: string;
  authorKeyEn: boolean;
  maskChipKey: boolean;
  signingKey: SigningKey;
}

export function decodeKeyInfo(value: number): KeyInfo {
  if (value >>> 5 !== 0) {
    throw new EvidenceFormatError(
      'snp_report_key_info_reserved',
      `KEY_INFO 0x${value.toString(16)} has reserved bits 31:5 set; the ABI requires them to be zero.`,
    );
  }
  const sk = (value >>> 2) & 7;
  let signingKey: SigningKey;
  if (sk === 0) signingKey = 'VCEK';
  else if (sk === 1) signingKey = 'VLEK';
  else if (sk === 7) signingKey = 'NONE';
  else {
    throw new EvidenceFormatError('snp_report_signing_key', `KEY_INFO.SIGNING_KEY is ${sk}, a reserved value (0 VCEK, 1 VLEK, 7 none).`);
  }
  return { raw: `0x${value.toString(16)}`, authorKeyEn: (value & 1) === 1, maskChipKey: (value & 2) === 2, signingKey };
}
