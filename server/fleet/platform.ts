// Which platform, and which workload, an attestation came from: the one answer the fleet view
// (GET /v1/fleet) and the TCB-recovery what-if (POST /v1/policies/what-if) both give, from the
// parts of a stored result (verifier/result.ts) that name them.
//
// A platform is one machine: for AMD SEV-SNP its CHIP_ID (AMD SEV-SNP ABI 56860, Table 23
// "ATTESTATION_REPORT Structure" at 1A0h; zeros when the host set MASK_CHIP_ID, and then
// nothing tells such machines apart); for Intel its PPID, from the PCK certificate (Intel
// "SGX PCK Certificate and CRL Profile" 1.5), of which the stored result keeps only the
// SHA-256. Ids are shown as the first 16 hex digits of the SHA-256 of the raw id: enough to
// tell a fleet apart, and they name no machine to whoever reads the page. Only verified
// evidence names a platform: the claims of evidence that did not verify could say anything.

import { createHash } from 'node:crypto';

/** Hex digits of SHA-256 an id keeps. */
export const ID_HEX_DIGITS = 16;

export interface SnpPlatformFacts {
  /** CHIP_ID was zeros (MASK_CHIP_ID): the id names the product, not a machine. */
  chipIdMasked: boolean;
  /** VCEK or VLEK. */
  signer: string | null;
  /** REPORTED_TCB SPLs by name (bootloader, tee, snp, microcode, fmc on Turin). */
  reportedTcb: Record<string, number> | null;
  /** CURRENT firmware version as major.minor.build. */
  firmware: string | null;
}

export interface IntelPlatformFacts {
  fmspc: string | null;
  pceId: string | null;
  /** Intel's TCB status of the platform (QVL terms), its date and advisories. */
  tcbStatus: string | null;
  tcbDate: string | null;
  advisoryIds: string[];
  evaluationDataNumber: number | null;
  pceSvn: number | null;
  /** The PCK certificate's 16 SGX TCB component SVNs. */
  sgxTcbComponents: number[] | null;
  /** TDX: TEE_TCB_SVN of the TD report, hex. */
  teeTcbSvn: string | null;
  /** The QE's ISVSVN and the QE Identity level it met. */
  qe: { isvSvn: number; status: string; tcbDate: string | null } | null;
}

/** One platform as the fleet and the what-if show it: its id and what its attestations said of it. */
export interface PlatformFacts {
  /** First 16 hex of SHA-256 of CHIP_ID or PPID; `masked:<product>` for SNP chips with MASK_CHIP_ID. */
  id: string;
  vendor: 'amd' | 'intel';
  /** SNP product (Milan, Genoa, Turin); null for Intel. */
  product: string | null;
  snp?: SnpPlatformFacts;
  intel?: IntelPlatformFacts;
}

/** The parts of a stored result the platform is read from (plain JSON, any shape: stored rows are not trusted to have ours). */
export interface PlatformParts {
  tee: string;
  /** `claims.platform` */
  platform: unknown;
  /** `claims.tcb` */
  tcb: unknown;
  /** `claims.snp.currentVersion` */
  firmware: unknown;
  /** `platform` (Intel) */
  intel: unknown;
}

const isSnpTee = (tee: string): boolean => tee === 'sev-snp' || tee === 'az-snp-vtpm';
const isIntelTee = (tee: string): boolean => tee === 'tdx' || tee === 'sgx' || tee === 'az-tdx-vtpm';

function obj(v: unknown): Record<string, unknown> | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}
const str = (v: unknown): string | null => (typeof v === 'string' ? v : null);
const int = (v: unknown): number | null => (typeof v === 'number' && Number.isInteger(v) ? v : null);
const HEX_RE = /^(?:[0-9a-f]{2})+$/;

/** First ID_HEX_DIGITS of SHA-256 of the bytes of `hex`. */
export function shortId(hex: string): string {
  return createHash('sha256').update(Buffer.from(hex, 'hex')).digest('hex').slice(0, ID_HEX_DIGITS);
}

function numbers(v: unknown): Record<string, number> | null {
  const o = obj(v);
  if (!o) return null;
  const out: Record<string, number> = {};
  for (const [k, x] of Object.entries(o)) if (int(x) !== null) out[k] = x as number;
  return out;
}

function snpFacts(p: PlatformParts): PlatformFacts | undefined {
  const platform = obj(p.platform);
  const chipId = str(platform?.chipId)?.toLowerCase();
  if (!chipId || !HEX_RE.test(chipId)) return undefined;
  const product = str(platform?.product);
  const masked = /^0+$/.test(chipId);
  const fw = obj(p.firmware);
  const [major, minor, build] = [int(fw?.major), int(fw?.minor), int(fw?.build)];
  return {
    id: masked ? `masked:${product ?? 'unknown'}` : shortId(chipId),
    vendor: 'amd',
    product,
    snp: {
      chipIdMasked: masked,
      signer: str(platform?.signer),
      reportedTcb: numbers(obj(p.tcb)?.reported),
      firmware: major !== null && minor !== null && build !== null ? `${major}.${minor}.${build}` : null,
    },
  };
}

function intelFacts(p: PlatformParts): PlatformFacts | undefined {
  const platform = obj(p.platform);
  const tcb = obj(p.tcb);
  const intel = obj(p.intel);
  const fmspc = str(platform?.fmspc);
  const ppidSha256 = str(intel?.ppidSha256);
  const pceId = str(intel?.pceId);
  // Results stored before the PPID was kept name the FMSPC alone: one entry per FMSPC.
  const id = ppidSha256 && /^[0-9a-f]{64}$/.test(ppidSha256) ? ppidSha256.slice(0, ID_HEX_DIGITS) : fmspc ? `fmspc:${fmspc}` : undefined;
  if (!id) return undefined;
  const qe = obj(intel?.qe);
  const components = Array.isArray(tcb?.sgxTcbComponents) && tcb.sgxTcbComponents.every((n) => int(n) !== null) ? (tcb.sgxTcbComponents as number[]) : null;
  return {
    id,
    vendor: 'intel',
    product: null,
    intel: {
      fmspc,
      pceId,
      tcbStatus: str(tcb?.status),
      tcbDate: str(tcb?.date),
      advisoryIds: Array.isArray(tcb?.advisoryIds) ? tcb.advisoryIds.filter((a): a is string => typeof a === 'string') : [],
      evaluationDataNumber: int(tcb?.evaluationDataNumber),
      pceSvn: int(tcb?.pceSvn),
      sgxTcbComponents: components,
      teeTcbSvn: str(tcb?.teeTcbSvn),
      qe: qe && int(qe.isvSvn) !== null && str(qe.status) ? { isvSvn: qe.isvSvn as number, status: qe.status as string, tcbDate: str(qe.tcbDate) } : null,
    },
  };
}

/** The platform of a verified attestation; undefined when the parts name none (no claims, a shape not ours). */
export function platformOf(parts: PlatformParts): PlatformFacts | undefined {
  if (isSnpTee(parts.tee)) return snpFacts(parts);
  if (isIntelTee(parts.tee)) return intelFacts(parts);
  return undefined;
}

/** A workload: the launch measurement (SNP MEASUREMENT, TDX MRTD, SGX MRENCLAVE) and, for TDX, the RTMRs. */
export interface Workload {
  measurement: string;
  rtmr?: string[];
}

export function workloadOf(measurement: unknown, rtmr: unknown): Workload | undefined {
  if (typeof measurement !== 'string') return undefined;
  const regs = Array.isArray(rtmr) && rtmr.every((r) => typeof r === 'string') ? (rtmr as string[]) : undefined;
  return regs ? { measurement, rtmr: regs } : { measurement };
}

/** A key that tells workloads apart. */
export function workloadKey(w: Workload): string {
  return w.rtmr ? `${w.measurement}/${w.rtmr.join('/')}` : w.measurement;
}

/** The platform parts of a parsed stored result. */
export function partsOfResult(tee: string, result: unknown): PlatformParts & { measurement: unknown; rtmr: unknown; verified: boolean } {
  const r = obj(result);
  const claims = obj(r?.claims);
  return {
    tee,
    verified: r?.verified === true,
    platform: claims?.platform,
    tcb: claims?.tcb,
    firmware: obj(claims?.snp)?.currentVersion,
    intel: r?.platform,
    measurement: claims?.measurement,
    rtmr: obj(claims?.tdx)?.rtmr,
  };
}
