// Which AMD product (and so which ARK, which TCB layout, which KDS path) a report belongs
// to. From the CPUID family/model the firmware writes into version 3+ reports; for a
// version 2 report, from the signer certificate (its productName extension, which the
// chain to the product's pinned ARK then vouches for). Never from the report version:
// a version says which ABI the firmware speaks, not which silicon runs it.
//
// Family/model ranges: AMD EPYC 7003 "Milan" is family 19h models 00h-0Fh; EPYC 9004
// "Genoa" (and its Zen 4c siblings Bergamo/Siena, models A0h-AFh, which AMD KDS serves
// under "Genoa") is family 19h models 10h-1Fh and A0h-AFh; EPYC 9005 "Turin" is family
// 1Ah models 00h-1Fh (Turin and Turin dense). Same split as trustee's
// get_processor_generation and go-sev-guest abi.SevProduct.

import type { SnpProduct } from './product.ts';
import { SNP_PRODUCTS } from './product.ts';
import type { Cpuid, SnpReport } from './abi/report.ts';

export function productFromCpuid(cpuid: Cpuid): SnpProduct | undefined {
  const { family, model } = cpuid;
  if (family === 0x19) {
    if (model <= 0x0f) return 'Milan';
    if ((model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf)) return 'Genoa';
  }
  if (family === 0x1a && model <= 0x1f) return 'Turin';
  return undefined;
}

/** The product of a VCEK/VLEK productName extension ("Milan-B0", "Genoa", "Turin"...): the part before the stepping. */
export function productFromName(productName: string | undefined): SnpProduct | undefined {
  if (productName === undefined) return undefined;
  const base = productName.split('-')[0];
  return SNP_PRODUCTS.find((p) => p === base);
}

export function describeCpuid(cpuid: Cpuid): string {
  const h = (n: number): string => `0x${n.toString(16)}`;
  return `family ${h(cpuid.family)} model ${h(cpuid.model)} stepping ${h(cpuid.stepping)}`;
}

/**
 * The CPUID fields of a report, when it has them and they were filled in. A version 3+
 * report with all three zero carries no product information (firmware that predates the
 * fields' use writes zeros); such a report is treated like a version 2 one.
 */
export function reportCpuid(report: SnpReport): Cpuid | undefined {
  const c = report.cpuid;
  if (!c || (c.family === 0 && c.model === 0 && c.stepping === 0)) return undefined;
  return c;
}
