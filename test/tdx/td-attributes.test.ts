// TDATTRIBUTES decoding (Intel TDX Module ABI, "TDATTRIBUTES Definition"): each named bit,
// the TUD group 7:0 as one debug signal, and which bits count as reserved.

import { describe, expect, it } from 'vitest';
import { decodeTdAttributes } from '../../verifier/tdx/abi/td-report.ts';

const withBits = (...bits: number[]): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(bits.reduce((v, bit) => v | (1n << BigInt(bit)), 0n));
  return b;
};

describe('decodeTdAttributes', () => {
  it('names each defined bit, and nothing else is set by it', () => {
    const named = { debug: 0, lass: 27, septVeDisable: 28, migratable: 29, pks: 30, kl: 31, perfmon: 63 } as const;
    for (const [flag, bit] of Object.entries(named)) {
      const a = decodeTdAttributes(withBits(bit));
      for (const other of Object.keys(named)) expect(a[other as keyof typeof named], `${flag} bit ${bit}: ${other}`).toBe(other === flag);
      expect(a.reservedBitsSet, `bit ${bit}`).toBe(false);
    }
    expect(decodeTdAttributes(withBits()).tud).toBe(false);
  });

  it('reads any bit of 7:0 as the TUD group (debug), and 1-7 as reserved as well', () => {
    for (let bit = 0; bit < 8; bit++) {
      const a = decodeTdAttributes(withBits(bit));
      expect(a.tud, `bit ${bit}`).toBe(true);
      expect(a.debug, `bit ${bit}`).toBe(bit === 0);
      expect(a.reservedBitsSet, `bit ${bit}`).toBe(bit !== 0);
    }
  });

  it('flags the reserved ranges 8-26 and 32-62', () => {
    for (const bit of [8, 16, 26, 32, 45, 62]) expect(decodeTdAttributes(withBits(bit)).reservedBitsSet, `bit ${bit}`).toBe(true);
  });
});
