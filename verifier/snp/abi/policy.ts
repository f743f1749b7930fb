// The guest policy (POLICY, report offset 0x08, 64 bits) the VM owner fixed at launch.
// SEV-SNP ABI spec (AMD 56860) table "Guest Policy Structure" (rev 1.58): bits 7:0
// ABI_MINOR, 15:8 ABI_MAJOR, 16 SMT, 17 reserved and must be one, 18 MIGRATE_MA,
// 19 DEBUG, 20 SINGLE_SOCKET, 21 CXL_ALLOW, 22 MEM_AES_256_XTS, 23 RAPL_DIS,
// 24 CIPHERTEXT_HIDING_DRAM, 25 PAGE_SWAP_DISABLE, 63:26 reserved.

import { EvidenceFormatError } from '../../errors.ts';

export interface GuestPolicy {
  /** The raw 64-bit value, as 0x-prefixed hex. */
  raw: string;
  abiMinor: number;
  abiMajor: number;
  smt: boolean;
  migrateMa: boolean;
  debug: boolean;
  singleSocket: boolean;
  cxlAllow: boolean;
  memAes256Xts: boolean;
  raplDis: boolean;
  ciphertextHiding: boolean;
  pageSwapDisable: boolean;
}

const bit = (v: bigint, n: number): boolean => ((v >> BigInt(n)) & 1n) === 1n;

/** Bits above PAGE_SWAP_DISABLE: reserved in every published ABI revision so far. */
export const POLICY_KNOWN_MASK = (1n << 26n) - 1n;

/** Decode the policy. Bit 17 is reserved-must-be-one: firmware refuses to launch a guest without it. */
export function decodePolicy(value: bigint): GuestPolicy {
  if (!bit(value, 17)) {
    throw new EvidenceFormatError(
      'snp_report_policy_reserved',
      `The guest policy 0x${value.toString(16)} has reserved bit 17 clear; the ABI requires it to be one.`,
    );
  }
  return {
    raw: `0x${value.toString(16)}`,
    abiMinor: Number(value & 0xffn),
    abiMajor: Number((value >> 8n) & 0xffn),
    smt: bit(value, 16),
    migrateMa: bit(value, 18),
    debug: bit(value, 19),
    singleSocket: bit(value, 20),
    cxlAllow: bit(value, 21),
    memAes256Xts: bit(value, 22),
    raplDis: bit(value, 23),
    ciphertextHiding: bit(value, 24),
    pageSwapDisable: bit(value, 25),
  };
}
