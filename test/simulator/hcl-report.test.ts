// The simulator's HCL report layout, checked against the real Azure reports in
// test/fixtures/az-*-vtpm: runtime data found where the real ones hold it, its
// SHA-256 in REPORT_DATA, and a build/split round trip.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  buildHclReport,
  HCL_REPORT_SIZE,
  hclRuntimeDataDigest,
  splitHclReport,
} from '../../verifier/testing/hcl-report-builder.ts';

const fixture = (tee: string): Uint8Array =>
  new Uint8Array(readFileSync(new URL(`../fixtures/az-${tee}-vtpm/hcl-report.bin`, import.meta.url)));

// REPORT_DATA offsets inside the hardware report: SNP report 0x50 (AMD SEV-SNP ABI table 22),
// TD report 128 (REPORTMACSTRUCT.REPORTDATA, Intel TDX module spec).
const REPORT_DATA_OFFSET = { snp: 0x50, tdx: 128 } as const;

describe('HCL report layout', () => {
  for (const tee of ['snp', 'tdx'] as const) {
    it(`finds the runtime data of a real Azure ${tee} report and its digest in REPORT_DATA`, () => {
      const bytes = fixture(tee);
      expect(bytes.length).toBe(HCL_REPORT_SIZE);
      const parts = splitHclReport(bytes);
      expect(parts.tee).toBe(tee);
      const runtime = JSON.parse(Buffer.from(parts.runtimeData).toString('utf8')) as Record<string, unknown>;
      expect(Object.keys(runtime).sort()).toEqual(['keys', 'user-data', 'vm-configuration']);
      const off = REPORT_DATA_OFFSET[tee];
      expect(Buffer.from(parts.hwReport.subarray(off, off + 32))).toEqual(
        Buffer.from(hclRuntimeDataDigest(parts.runtimeData)),
      );
    });

    it(`rebuilds a real ${tee} report's layout byte for byte from its parts`, () => {
      const bytes = fixture(tee);
      const rebuilt = buildHclReport(splitHclReport(bytes));
      const parts = splitHclReport(bytes);
      const end = 1236 + parts.runtimeData.length;
      // Header bytes past the fields we write (status, reserved) are zero in both.
      expect(Buffer.from(rebuilt.subarray(32, end))).toEqual(Buffer.from(bytes.subarray(32, end)));
      expect(Buffer.from(rebuilt.subarray(0, 4)).toString('ascii')).toBe('HCLA');
    });
  }

  it('refuses bytes without the HCLA header', () => {
    expect(() => splitHclReport(new Uint8Array(HCL_REPORT_SIZE))).toThrow(/HCLA/);
  });
});
