// Binding of the signer certificate to the report. A valid chain only proves AMD issued
// the key; these checks prove it is the key for *this* report's platform state:
//  - TCB: the VCEK/VLEK is derived for one TCB; its SPL extensions must equal
//    REPORTED_TCB (the TCB the firmware used to pick the signing key, ABI spec
//    "ATTESTATION_REPORT Structure" at 180h; KDS spec 57230 "VCEK Certificate Extensions").
//  - hwID: a VCEK belongs to one chip; its hwID must equal CHIP_ID, unless the platform
//    masks CHIP_ID (SNP_CONFIG MASK_CHIP_ID: CHIP_ID reads as zeros; then there is nothing
//    to compare, and the VCEK's signature alone ties the report to its chip).
//    Turin VCEKs carry the 8-byte hwID KDS uses, and CHIP_ID holds it in its first 8 bytes
//    with the rest zero: compare against the hwID zero-extended to 64 bytes.
//    (KEY_INFO.MASK_CHIP_KEY is another setting: the firmware then does not sign at all,
//    ABI spec §7.3, and the signature check refuses the report.)
//  - signer kind: KEY_INFO.SIGNING_KEY must name the kind of certificate supplied.
//  - product: with CPUID in the report (v3+), the certificate's productName must agree.

import type { Check } from '../result.ts';
import type { SnpReport } from './abi/report.ts';
import type { DecodedTcb } from './abi/tcb.ts';
import { tcbComponents } from './abi/tcb.ts';
import type { AmdExtensions } from './extensions.ts';
import type { SnpProduct } from './product.ts';
import type { SignerKind } from './verify-chain.ts';
import { productFromName } from './product-of.ts';

const CERT_NAME: Record<string, keyof AmdExtensions> = {
  bootloader: 'blSPL',
  tee: 'teeSPL',
  snp: 'snpSPL',
  microcode: 'ucodeSPL',
  fmc: 'fmcSPL',
};

export function checkTcbBinding(reported: DecodedTcb, ext: AmdExtensions, product: SnpProduct, kind: SignerKind): Check {
  const expected: Record<string, number> = {};
  const found: Record<string, number | null> = {};
  const mismatched: string[] = [];
  for (const c of tcbComponents(product)) {
    const name = CERT_NAME[c]!;
    const certValue = ext[name] as number | undefined;
    expected[name] = reported[c]!;
    found[name] = certValue ?? null;
    if (certValue !== reported[c]) mismatched.push(`${name} ${certValue ?? 'absent'} (report ${c} ${reported[c]})`);
  }
  const ok = mismatched.length === 0;
  return {
    id: 'snp.binding.tcb',
    ok,
    detail: ok
      ? `The ${kind}'s TCB extensions equal the report's REPORTED_TCB.`
      : `The ${kind} was issued for another TCB than the report's REPORTED_TCB: ${mismatched.join(', ')}.`,
    ...(ok ? {} : { expected, found }),
  };
}

/** True when CHIP_ID is all zeros: the platform masks it (SNP_CONFIG MASK_CHIP_ID). */
export function chipIdMasked(report: SnpReport): boolean {
  return report.chipId.every((b) => b === 0);
}

/** CHIP_ID vs the VCEK hwID; undefined when there is nothing to compare (VLEK, or CHIP_ID masked). */
export function checkHwIdBinding(report: SnpReport, ext: AmdExtensions, kind: SignerKind): Check | undefined {
  if (kind !== 'VCEK' || chipIdMasked(report)) return undefined;
  const chipId = report.chipId.toString('hex');
  const hw = ext.hwID;
  const ok = hw !== undefined && hw.padEnd(128, '0') === chipId;
  return {
    id: 'snp.binding.hwid',
    ok,
    detail: ok
      ? 'The VCEK hwID equals the report CHIP_ID.'
      : hw === undefined
        ? 'The VCEK has no hwID extension, so it cannot be tied to the chip that signed the report.'
        : 'The VCEK belongs to another chip: its hwID differs from the report CHIP_ID.',
    ...(ok ? {} : { expected: chipId, found: hw ?? null }),
  };
}

export function checkSignerKind(report: SnpReport, suppliedKind: SignerKind): Check {
  const reportKind = report.keyInfo.signingKey;
  const ok = reportKind === suppliedKind;
  return {
    id: 'snp.binding.signer-kind',
    ok,
    detail: ok
      ? `KEY_INFO says the report is signed by a ${reportKind}, and a ${suppliedKind} certificate was supplied.`
      : `KEY_INFO says the report is signed by ${reportKind === 'NONE' ? 'no key' : `a ${reportKind}`}, but a ${suppliedKind} certificate was supplied.`,
    ...(ok ? {} : { expected: reportKind, found: suppliedKind }),
  };
}

/** Only meaningful when the product came from CPUID (v3+); for v2 it came from this very extension. */
export function checkProductBinding(product: SnpProduct, ext: AmdExtensions, kind: SignerKind): Check {
  const certProduct = productFromName(ext.productName);
  const ok = certProduct === product;
  return {
    id: 'snp.binding.product',
    ok,
    detail: ok
      ? `The ${kind} is for ${product}, the product the report's CPUID names.`
      : `The report's CPUID names ${product}, but the ${kind}'s productName is ${ext.productName ?? 'absent'}.`,
    ...(ok ? {} : { expected: product, found: ext.productName ?? null }),
  };
}
