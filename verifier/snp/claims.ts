// The normalised claims of an SEV-SNP report (verifier/result.ts Claims): the cross-TEE
// fields a policy speaks about, and `snp` with every report field by name. JSON-safe
// only: hex strings for byte fields, numbers for small integers, 0x-hex for 64-bit words.

import type { Claims } from '../result.ts';
import type { SnpReport } from './abi/report.ts';
import { decodeTcb, tcbParts } from './abi/tcb.ts';
import type { SnpProduct } from './product.ts';

export interface ClaimsContext {
  product?: SnpProduct;
  signer?: 'VCEK' | 'VLEK';
  cspId?: string;
  simulated?: boolean;
}

/** TCB fields decoded when the product (and so the layout) is known; raw bytes otherwise. */
function tcb(bytes: Buffer, product: SnpProduct | undefined): Record<string, unknown> {
  return product ? { ...decodeTcb(bytes, product) } : { raw: bytes.toString('hex') };
}

export function snpFields(r: SnpReport, product: SnpProduct | undefined): Record<string, unknown> {
  const hex = (b: Buffer): string => b.toString('hex');
  const fields: Record<string, unknown> = {
    version: r.version,
    guestSvn: r.guestSvn,
    policy: { ...r.policy },
    familyId: hex(r.familyId),
    imageId: hex(r.imageId),
    vmpl: r.vmpl,
    signatureAlgo: r.signatureAlgo,
    currentTcb: tcb(r.currentTcb, product),
    platformInfo: { ...r.platformInfo, unknownBits: [...r.platformInfo.unknownBits] },
    keyInfo: { ...r.keyInfo },
    reportData: hex(r.reportData),
    measurement: hex(r.measurement),
    hostData: hex(r.hostData),
    idKeyDigest: hex(r.idKeyDigest),
    authorKeyDigest: hex(r.authorKeyDigest),
    reportId: hex(r.reportId),
    reportIdMa: hex(r.reportIdMa),
    reportedTcb: tcb(r.reportedTcb, product),
    chipId: hex(r.chipId),
    committedTcb: tcb(r.committedTcb, product),
    currentVersion: { ...r.currentVersion },
    committedVersion: { ...r.committedVersion },
    launchTcb: tcb(r.launchTcb, product),
  };
  if (r.cpuid) {
    fields.cpuidFamId = r.cpuid.family;
    fields.cpuidModId = r.cpuid.model;
    fields.cpuidStep = r.cpuid.stepping;
  }
  if (r.launchMitVector !== undefined) fields.launchMitVector = r.launchMitVector;
  if (r.currentMitVector !== undefined) fields.currentMitVector = r.currentMitVector;
  return fields;
}

export function snpClaims(r: SnpReport, ctx: ClaimsContext): Claims {
  const claims: Claims = {
    tee: 'sev-snp',
    measurement: r.measurement.toString('hex'),
    reportData: r.reportData.toString('hex'),
    debug: r.policy.debug,
    tcb: ctx.product ? { reported: { ...tcbParts(decodeTcb(r.reportedTcb, ctx.product)) } } : {},
    platform: {
      ...(ctx.product ? { product: ctx.product } : {}),
      chipId: r.chipId.toString('hex'),
      ...(ctx.signer ? { signer: ctx.signer } : {}),
      ...(ctx.cspId !== undefined ? { cspId: ctx.cspId } : {}),
    },
    snp: snpFields(r, ctx.product),
  };
  if (ctx.simulated) claims.simulated = true;
  return claims;
}
