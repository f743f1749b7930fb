// TPMS_ATTEST of a TPM2_Quote (TPM 2.0 Library Part 2, "TPMS_ATTEST", "TPMS_QUOTE_INFO"):
// big-endian; every TPM2B is a u16 size then that many bytes. Bounds-checked, fails closed.

import { EvidenceFormatError } from '../../errors.ts';

const TPM_GENERATED_VALUE = 0xff544347;
const TPM_ST_ATTEST_QUOTE = 0x8018;
// TPM_ALG_ID -> digest size (Part 2 "TPM_ALG_ID"); others are refused.
const HASH_SIZES: Record<number, number> = { 0x0004: 20, 0x000b: 32, 0x000c: 48, 0x000d: 64 };

export interface PcrSelection { hashAlg: number; pcrs: number[] }
export interface TpmQuoteAttest {
  qualifiedSigner: Uint8Array;
  extraData: Uint8Array;
  clock: bigint; resetCount: number; restartCount: number; safe: boolean;
  firmwareVersion: bigint;
  pcrSelections: PcrSelection[];
  pcrDigest: Uint8Array;
}

class Reader {
  off = 0;
  constructor(private readonly b: Uint8Array) {}
  take(n: number, field: string): Uint8Array {
    if (this.off + n > this.b.length) {
      throw new EvidenceFormatError('tpm_attest_truncated', `TPMS_ATTEST ends at ${this.b.length} bytes; ${field} needs ${n} bytes at offset ${this.off}.`);
    }
    const s = this.b.subarray(this.off, this.off + n);
    this.off += n;
    return s;
  }
  u8(f: string): number { return this.take(1, f)[0]!; }
  u16(f: string): number { const s = this.take(2, f); return (s[0]! << 8) | s[1]!; }
  u32(f: string): number { const s = this.take(4, f); return ((s[0]! << 24) | (s[1]! << 16) | (s[2]! << 8) | s[3]!) >>> 0; }
  u64(f: string): bigint { return (BigInt(this.u32(f)) << 32n) | BigInt(this.u32(f)); }
  tpm2b(f: string): Uint8Array { const n = this.u16(`${f}.size`); return this.take(n, f); }
  get remaining(): number { return this.b.length - this.off; }
}

export function parseTpmQuoteAttest(bytes: Uint8Array): TpmQuoteAttest {
  const r = new Reader(bytes);
  const magic = r.u32('magic');
  if (magic !== TPM_GENERATED_VALUE) {
    throw new EvidenceFormatError('tpm_attest_magic', `TPMS_ATTEST magic at offset 0 is 0x${magic.toString(16)}; expected 0xff544347 (TPM_GENERATED_VALUE).`);
  }
  const type = r.u16('type');
  if (type !== TPM_ST_ATTEST_QUOTE) {
    throw new EvidenceFormatError('tpm_attest_type', `TPMS_ATTEST type at offset 4 is 0x${type.toString(16)}; expected 0x8018 (TPM_ST_ATTEST_QUOTE).`);
  }
  const qualifiedSigner = r.tpm2b('qualifiedSigner');
  const extraData = r.tpm2b('extraData');
  const clock = r.u64('clockInfo.clock');
  const resetCount = r.u32('clockInfo.resetCount');
  const restartCount = r.u32('clockInfo.restartCount');
  const safeByte = r.u8('clockInfo.safe');
  if (safeByte > 1) throw new EvidenceFormatError('tpm_attest_safe', `clockInfo.safe is ${safeByte}; a TPMI_YES_NO must be 0 or 1.`);
  const firmwareVersion = r.u64('firmwareVersion');
  const count = r.u32('pcrSelect.count');
  const pcrSelections: PcrSelection[] = [];
  for (let i = 0; i < count; i++) {
    const at = r.off;
    const hashAlg = r.u16(`pcrSelections[${i}].hash`);
    if (HASH_SIZES[hashAlg] === undefined) {
      throw new EvidenceFormatError('tpm_attest_hash_alg', `pcrSelections[${i}].hash at offset ${at} is 0x${hashAlg.toString(16)}; known: sha1, sha256, sha384, sha512.`);
    }
    const bitmap = r.take(r.u8(`pcrSelections[${i}].sizeofSelect`), `pcrSelections[${i}].pcrSelect`);
    const pcrs: number[] = [];
    bitmap.forEach((byte, j) => { for (let k = 0; k < 8; k++) if (byte & (1 << k)) pcrs.push(j * 8 + k); });
    pcrSelections.push({ hashAlg, pcrs });
  }
  const pcrDigest = r.tpm2b('pcrDigest');
  if (r.remaining !== 0) {
    throw new EvidenceFormatError('tpm_attest_trailing', `TPMS_ATTEST has ${r.remaining} trailing bytes after pcrDigest at offset ${r.off}.`);
  }
  return { qualifiedSigner, extraData, clock, resetCount, restartCount, safe: safeByte === 1, firmwareVersion, pcrSelections, pcrDigest };
}
