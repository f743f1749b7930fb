// TCB_VERSION: the 8-byte security version of the SEV-SNP firmware components.
// SEV-SNP ABI spec (AMD 56860) Table 3 "TCB_VERSION Structure": the byte layout depends on
// the product. Milan and Genoa: [0] BOOT_LOADER, [1] TEE, [2..5] reserved, [6] SNP,
// [7] MICROCODE. Turin (and later Zen 5 parts) add the FMC (first mutable code) SVN:
// [0] FMC, [1] BOOT_LOADER, [2] TEE, [3] SNP, [4..6] reserved, [7] MICROCODE
// (also go-sev-guest kds.DecomposeTCBVersion, virtee/sev TcbVersion::from_turin_bytes).

import type { SnpProduct } from '../product.ts';

/** The named TCB components, as AMD KDS names them in the VCEK URL (blSPL, teeSPL, snpSPL, ucodeSPL, fmcSPL). */
export interface TcbParts {
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
  /** Turin and later only. */
  fmc?: number;
}

/** A decoded TCB_VERSION: its components and the 8 raw bytes (hex, in report byte order). */
export interface DecodedTcb extends TcbParts {
  raw: string;
}

/** True when the product uses the Turin TCB_VERSION layout (with an FMC byte). */
export function hasFmc(product: SnpProduct): boolean {
  return product === 'Turin';
}

/** Decode the 8 bytes of a TCB_VERSION for `product`. */
export function decodeTcb(bytes: Uint8Array, product: SnpProduct): DecodedTcb {
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, 8).toString('hex');
  if (hasFmc(product)) {
    return { fmc: bytes[0]!, bootloader: bytes[1]!, tee: bytes[2]!, snp: bytes[3]!, microcode: bytes[7]!, raw };
  }
  return { bootloader: bytes[0]!, tee: bytes[1]!, snp: bytes[6]!, microcode: bytes[7]!, raw };
}

/** Components in a stable order, for messages and comparisons. */
export function tcbComponents(product: SnpProduct): (keyof TcbParts)[] {
  return hasFmc(product) ? ['fmc', 'bootloader', 'tee', 'snp', 'microcode'] : ['bootloader', 'tee', 'snp', 'microcode'];
}

/** Just the numbers (no raw), JSON-safe. */
export function tcbParts(t: DecodedTcb): TcbParts {
  const parts = { bootloader: t.bootloader, tee: t.tee, snp: t.snp, microcode: t.microcode };
  // FMC first, as in the Turin byte layout.
  return t.fmc !== undefined ? { fmc: t.fmc, ...parts } : parts;
}
