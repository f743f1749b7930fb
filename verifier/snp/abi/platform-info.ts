// PLATFORM_INFO (report offset 0x40, 64 bits): how the host platform was configured.
// SEV-SNP ABI spec (AMD 56860) table "ATTESTATION_REPORT Structure", PLATFORM_INFO at 40h (rev 1.58): bit 0 SMT_EN,
// 1 TSME_EN, 2 ECC_EN, 3 RAPL_DIS, 4 CIPHERTEXT_HIDING_DRAM_EN, 5 ALIAS_CHECK_COMPLETE
// (the BadRAM mitigation, AMD-SB-3015). Newer firmware sets further bits (Turin reports
// carry bit 6): they are kept in `raw` and listed in `unknownBits`, never guessed at.

export interface PlatformInfo {
  raw: string;
  smtEnabled: boolean;
  tsmeEnabled: boolean;
  eccEnabled: boolean;
  raplDisabled: boolean;
  ciphertextHidingEnabled: boolean;
  aliasCheckComplete: boolean;
  /** Set bits this version does not name (bit numbers). */
  unknownBits: number[];
}

export function decodePlatformInfo(value: bigint): PlatformInfo {
  const bit = (n: number): boolean => ((value >> BigInt(n)) & 1n) === 1n;
  const unknownBits: number[] = [];
  for (let n = 6; n < 64; n++) if (bit(n)) unknownBits.push(n);
  return {
    raw: `0x${value.toString(16)}`,
    smtEnabled: bit(0),
    tsmeEnabled: bit(1),
    eccEnabled: bit(2),
    raplDisabled: bit(3),
    ciphertextHidingEnabled: bit(4),
    aliasCheckComplete: bit(5),
    unknownBits,
  };
}
