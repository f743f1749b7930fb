// Evidence in the JSON shapes the CoCo attestation-agent sends as `tee-evidence`
// (guest-components @8246e5e0 attestation-agent/attester/src/snp/mod.rs and tdx/mod.rs),
// made from what tessera's evidence providers return:
//
// snp: `SnpEvidence { attestation_report, cert_chain }`: the serde form of the `sev` crate's
//   (v6.3, the agent's version) `AttestationReport`, fields in declaration order, integers as
//   JSON numbers, byte arrays as arrays of numbers, GuestPolicy/PlatformInfo/KeyInfo as their
//   raw integers, TCB versions as `{fmc, bootloader, tee, snp, microcode}` (fmc null before
//   Turin), firmware versions as `{major, minor, build}`, the CPUID fields (v3+) and mitigation
//   vectors (v5+) null when the report version lacks them, `signature` as `{r, s}` (72 bytes
//   each); `cert_chain` as `[{cert_type: "VCEK"|"VLEK"|"ASK"|"ARK", data: [..DER..]}]` or null.
//   Parsing follows virtee/sev v6.3.0 src/firmware/guest/types/snp.rs `from_bytes` (which
//   keeps no reserved bytes: the hardware zeroes them, and a server re-serialises them as zero).
// tdx: `TdxEvidence { cc_eventlog, quote }`: the quote in standard base64, the CC event log
//   (base64, the CCEL the provider read) or null when the guest has none.
// The REPORT_DATA inside is whatever the provider was asked for (see runtime-data.ts).

import type { Tee } from '../../verifier/result.ts';
import type { ProviderEvidence } from '../providers/provider.ts';
import { CERT_TABLE_GUID } from '../providers/cert-table.ts';

export type KbsTee = 'snp' | 'tdx' | 'az-snp-vtpm' | 'az-tdx-vtpm';

export class KbsEvidenceError extends Error {
  readonly code = 'kbs_evidence';
  constructor(message: string) {
    super(message);
    this.name = 'KbsEvidenceError';
  }
}

const REPORT_SIZE = 1184;

export interface SevTcbVersion {
  fmc: number | null;
  bootloader: number;
  tee: number;
  snp: number;
  microcode: number;
}

type Generation = 'legacy' | 'turin';

/** sev `Generation` as `from_bytes` decides it (v2: by CHIP_ID; v3+: by CPUID family/model, `identify_cpu`). */
function generation(report: Buffer, version: number): Generation {
  if (version === 2) {
    const chipId = report.subarray(0x1a0, 0x1e0);
    if (chipId.every((b) => b === 0)) throw new KbsEvidenceError('a version 2 report with a masked CHIP_ID cannot be expressed in the sev crate form (MaskedChipId)');
    return chipId.subarray(8).every((b) => b === 0) ? 'turin' : 'legacy';
  }
  const family = report[0x188]!;
  const model = report[0x189]!;
  if (family === 0x19 && (model <= 0x1f || (model >= 0xa0 && model <= 0xaf))) return 'legacy';
  if (family === 0x1a && model <= 0x11) return 'turin';
  throw new KbsEvidenceError(`CPUID family 0x${family.toString(16)} model 0x${model.toString(16)} is not a SEV-SNP generation the sev crate knows`);
}

function tcb(b: Buffer, gen: Generation): SevTcbVersion {
  return gen === 'turin'
    ? { fmc: b[0]!, bootloader: b[1]!, tee: b[2]!, snp: b[3]!, microcode: b[7]! }
    : { fmc: null, bootloader: b[0]!, tee: b[1]!, snp: b[6]!, microcode: b[7]! };
}

function bytes(report: Buffer, offset: number, length: number): number[] {
  return [...report.subarray(offset, offset + length)];
}

function u64(report: Buffer, offset: number, what: string): number {
  const v = report.readBigUInt64LE(offset);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new KbsEvidenceError(`${what} (0x${v.toString(16)}) does not fit a JSON number without loss`);
  return Number(v);
}

/** The serde form of sev v6.3 `AttestationReport` for a 1184-byte report. */
export function sevAttestationReportJson(reportBytes: Uint8Array): Record<string, unknown> {
  const r = Buffer.from(reportBytes);
  if (r.length !== REPORT_SIZE) throw new KbsEvidenceError(`an SEV-SNP report is ${REPORT_SIZE} bytes, got ${r.length}`);
  const version = r.readUInt32LE(0);
  if (version < 2) throw new KbsEvidenceError(`report version ${version} is not supported by the sev crate`);
  const gen = generation(r, version);
  const v3 = version >= 3;
  const v5 = version >= 5;
  const firmware = (o: number) => ({ major: r[o + 2]!, minor: r[o + 1]!, build: r[o]! });
  return {
    version,
    guest_svn: r.readUInt32LE(0x04),
    policy: u64(r, 0x08, 'POLICY'),
    family_id: bytes(r, 0x10, 16),
    image_id: bytes(r, 0x20, 16),
    vmpl: r.readUInt32LE(0x30),
    sig_algo: r.readUInt32LE(0x34),
    current_tcb: tcb(r.subarray(0x38, 0x40), gen),
    plat_info: u64(r, 0x40, 'PLATFORM_INFO'),
    key_info: r.readUInt32LE(0x48),
    report_data: bytes(r, 0x50, 64),
    measurement: bytes(r, 0x90, 48),
    host_data: bytes(r, 0xc0, 32),
    id_key_digest: bytes(r, 0xe0, 48),
    author_key_digest: bytes(r, 0x110, 48),
    report_id: bytes(r, 0x140, 32),
    report_id_ma: bytes(r, 0x160, 32),
    reported_tcb: tcb(r.subarray(0x180, 0x188), gen),
    cpuid_fam_id: v3 ? r[0x188]! : null,
    cpuid_mod_id: v3 ? r[0x189]! : null,
    cpuid_step: v3 ? r[0x18a]! : null,
    chip_id: bytes(r, 0x1a0, 64),
    committed_tcb: tcb(r.subarray(0x1e0, 0x1e8), gen),
    current: firmware(0x1e8),
    committed: firmware(0x1ec),
    launch_tcb: tcb(r.subarray(0x1f0, 0x1f8), gen),
    launch_mit_vector: v5 ? u64(r, 0x1f8, 'LAUNCH_MIT_VECTOR') : null,
    current_mit_vector: v5 ? u64(r, 0x200, 'CURRENT_MIT_VECTOR') : null,
    signature: { r: bytes(r, 0x2a0, 72), s: bytes(r, 0x2e8, 72) },
  };
}

/** sev `CertType` names for the certificate table GUIDs (host/types/snp.rs). */
const CERT_TYPE: Record<string, string> = { vcek: 'VCEK', vlek: 'VLEK', ask: 'ASK', asvk: 'ASK', ark: 'ARK' };

/** kbs-types `Tee` for a tessera TEE name. */
export function kbsTeeName(tee: Tee): KbsTee {
  if (tee === 'sev-snp') return 'snp';
  if (tee === 'tdx' || tee === 'az-snp-vtpm' || tee === 'az-tdx-vtpm') return tee;
  throw new KbsEvidenceError(`the KBS protocol of this agent has no evidence shape for ${tee}`);
}

/** The tee name the agent puts in `/auth` (kbs-types `Tee`, lowercase). */
export function kbsTee(evidence: ProviderEvidence): KbsTee {
  if (evidence.tee === 'az-snp-vtpm' || evidence.tee === 'az-tdx-vtpm') return evidence.tee;
  return evidence.tee === 'tdx' ? 'tdx' : 'snp';
}

export interface KbsEvidenceOptions {
  /** TDX: the CC event log bytes (CCEL, optionally followed by the AAEL), when the guest has one. */
  ccEventlog?: Uint8Array;
}

/** The agent's `primary_evidence` for this provider evidence. */
export function kbsPrimaryEvidence(evidence: ProviderEvidence, options: KbsEvidenceOptions = {}): Record<string, unknown> {
  if (evidence.tee === 'tdx') {
    // The provider's CCEL (cut after its last event, providers/ccel.ts), as attester/src/utils.rs
    // read_eventlog sends it (that also appends the AA event log, which this agent does not keep).
    const log = options.ccEventlog ?? evidence.eventLog;
    return { cc_eventlog: log ? Buffer.from(log).toString('base64') : null, quote: Buffer.from(evidence.quote).toString('base64') };
  }
  // Azure: the attester's evidence JSON is the KBS evidence as it is (guest-components attester/src/az_*_vtpm).
  if (evidence.tee !== 'sev-snp') return { ...evidence.azure };
  const certs = Object.entries(evidence.certificates ?? {}).filter(([, der]) => der !== undefined) as [string, Uint8Array][];
  // Table order as the firmware hands it over is not kept by the provider; the GUID order of the
  // GHCB table (VCEK/VLEK first, then ASK, then ARK) is what hosts use.
  const order = Object.keys(CERT_TABLE_GUID).concat('asvk');
  certs.sort(([a], [b]) => order.indexOf(a) - order.indexOf(b));
  return {
    attestation_report: sevAttestationReportJson(evidence.report),
    cert_chain: certs.length > 0 ? certs.map(([kind, der]) => ({ cert_type: CERT_TYPE[kind] ?? kind.toUpperCase(), data: [...der] })) : null,
  };
}
