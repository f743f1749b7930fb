// `snp` evidence of the KBS protocol: what the attestation-agent's SNP attester sends, the
// serde JSON of trustee's SnpEvidence {attestation_report, cert_chain} (trustee
// deps/verifier/src/snp/mod.rs), where attestation_report is the Rust `sev` crate's
// AttestationReport (virtee/sev src/firmware/guest/types/snp.rs, at the revision trustee
// pins, d4878091): integers as JSON numbers, byte fields as arrays of numbers, each TCB as
// {fmc, bootloader, tee, snp, microcode}, firmware versions as {major, minor, build} and the
// signature as {r, s} (72 bytes each). cert_chain is the sev crate's CertTableEntry list,
// {cert_type: "VCEK" | "VLEK" | "ASK" | "ARK" | "CRL" | ..., data: [bytes]}.
//
// The report is re-encoded into the 1184-byte ATTESTATION_REPORT exactly as the sev
// crate's `Encoder for AttestationReport` writes it (reserved bytes zero), which is what
// trustee verifies the signature over: our verifier then checks the same bytes. The TCB
// layout depends on the processor generation, chosen as the sev crate chooses it
// (`Generation::identify_cpu` for report version 3 and later, the CHIP_ID shape for 2).

import type { Evidence, SnpCertificates } from '../../../verifier/evidence.ts';
import { REPORT_SIZE } from '../../../verifier/snp/abi/report.ts';
import { attestFailed } from '../errors.ts';

const bad = (why: string) => attestFailed('kbs_evidence_invalid', `snp evidence: ${why}`);

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function uint(obj: Record<string, unknown>, key: string, max: number, where = 'attestation_report'): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > max) throw bad(`${where}.${key} must be an integer from 0 to ${max}`);
  return v;
}

/** An Option<u..> of the sev crate: absent or null is None. */
function optionalUint(obj: Record<string, unknown>, key: string, max: number, where = 'attestation_report'): number | undefined {
  return obj[key] === undefined || obj[key] === null ? undefined : uint(obj, key, max, where);
}

function bytes(obj: Record<string, unknown>, key: string, length: number, where = 'attestation_report'): Buffer {
  const v = obj[key];
  if (!Array.isArray(v) || v.length !== length || !v.every((b) => typeof b === 'number' && Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw bad(`${where}.${key} must be an array of ${length} bytes`);
  }
  return Buffer.from(v as number[]);
}

type Generation = 'legacy' | 'turin';

/** virtee/sev src/lib.rs Generation::identify_cpu (Milan and Genoa share the legacy TCB layout). */
function generationOfCpu(family: number, model: number): Generation {
  if (family === 0x19 && (model <= 0x0f || (model >= 0x10 && model <= 0x1f) || (model >= 0xa0 && model <= 0xaf))) return 'legacy';
  if (family === 0x1a && model <= 0x11) return 'turin';
  throw bad(`CPUID family 0x${family.toString(16)} model 0x${model.toString(16)} is not a known SEV-SNP processor`);
}

/** TCB_VERSION: legacy [bootloader, tee, 0, 0, 0, 0, snp, microcode]; Turin [fmc, bootloader, tee, snp, 0, 0, 0, microcode] (sev host/types/snp.rs). */
function tcb(report: Record<string, unknown>, key: string, generation: Generation): Buffer {
  const t = report[key];
  if (!isRecord(t)) throw bad(`attestation_report.${key} must be an object {fmc, bootloader, tee, snp, microcode}`);
  const where = `attestation_report.${key}`;
  const bl = uint(t, 'bootloader', 255, where);
  const tee = uint(t, 'tee', 255, where);
  const snp = uint(t, 'snp', 255, where);
  const ucode = uint(t, 'microcode', 255, where);
  const fmc = optionalUint(t, 'fmc', 255, where);
  return Buffer.from(generation === 'turin' ? [fmc ?? 0, bl, tee, snp, 0, 0, 0, ucode] : [bl, tee, 0, 0, 0, 0, snp, ucode]);
}

/** Version {major, minor, build}, written build, minor, major (sev `Encoder for Version`). */
function firmwareVersion(report: Record<string, unknown>, key: string): Buffer {
  const v = report[key];
  if (!isRecord(v)) throw bad(`attestation_report.${key} must be an object {major, minor, build}`);
  const where = `attestation_report.${key}`;
  return Buffer.from([uint(v, 'build', 255, where), uint(v, 'minor', 255, where), uint(v, 'major', 255, where)]);
}

function u64(report: Record<string, unknown>, key: string): bigint {
  // JSON numbers above 2^53 lose precision in JSON.parse: refused rather than misread.
  return BigInt(uint(report, key, Number.MAX_SAFE_INTEGER));
}

/** Re-encode the sev crate's AttestationReport serde into the 1184-byte report. */
export function encodeSevReport(report: Record<string, unknown>): Buffer {
  const version = uint(report, 'version', 0xffffffff);
  if (version < 2) throw bad(`report version ${version} is not supported`);
  const variant = version === 2 ? 2 : version <= 4 ? 3 : 5;
  const chipId = bytes(report, 'chip_id', 64);
  let generation: Generation;
  let cpuid: [number, number, number] | undefined;
  if (variant === 2) {
    if (chipId.every((b) => b === 0)) throw bad('a version 2 report with a masked CHIP_ID does not say its processor generation');
    generation = chipId.subarray(8).every((b) => b === 0) ? 'turin' : 'legacy';
  } else {
    cpuid = [uint(report, 'cpuid_fam_id', 255), uint(report, 'cpuid_mod_id', 255), uint(report, 'cpuid_step', 255)];
    generation = generationOfCpu(cpuid[0], cpuid[1]);
  }

  const b = Buffer.alloc(REPORT_SIZE);
  b.writeUInt32LE(version, 0x00);
  b.writeUInt32LE(uint(report, 'guest_svn', 0xffffffff), 0x04);
  b.writeBigUInt64LE(u64(report, 'policy'), 0x08);
  bytes(report, 'family_id', 16).copy(b, 0x10);
  bytes(report, 'image_id', 16).copy(b, 0x20);
  b.writeUInt32LE(uint(report, 'vmpl', 0xffffffff), 0x30);
  b.writeUInt32LE(uint(report, 'sig_algo', 0xffffffff), 0x34);
  tcb(report, 'current_tcb', generation).copy(b, 0x38);
  b.writeBigUInt64LE(u64(report, 'plat_info'), 0x40);
  b.writeUInt32LE(uint(report, 'key_info', 0xffffffff), 0x48);
  bytes(report, 'report_data', 64).copy(b, 0x50);
  bytes(report, 'measurement', 48).copy(b, 0x90);
  bytes(report, 'host_data', 32).copy(b, 0xc0);
  bytes(report, 'id_key_digest', 48).copy(b, 0xe0);
  bytes(report, 'author_key_digest', 48).copy(b, 0x110);
  bytes(report, 'report_id', 32).copy(b, 0x140);
  bytes(report, 'report_id_ma', 32).copy(b, 0x160);
  tcb(report, 'reported_tcb', generation).copy(b, 0x180);
  if (cpuid) Buffer.from(cpuid).copy(b, 0x188);
  chipId.copy(b, 0x1a0);
  tcb(report, 'committed_tcb', generation).copy(b, 0x1e0);
  firmwareVersion(report, 'current').copy(b, 0x1e8);
  firmwareVersion(report, 'committed').copy(b, 0x1ec);
  tcb(report, 'launch_tcb', generation).copy(b, 0x1f0);
  if (variant === 5) {
    b.writeBigUInt64LE(BigInt(optionalUint(report, 'launch_mit_vector', Number.MAX_SAFE_INTEGER) ?? 0), 0x1f8);
    b.writeBigUInt64LE(BigInt(optionalUint(report, 'current_mit_vector', Number.MAX_SAFE_INTEGER) ?? 0), 0x200);
  }
  const sig = report.signature;
  if (!isRecord(sig)) throw bad('attestation_report.signature must be an object {r, s}');
  bytes(sig, 'r', 72, 'attestation_report.signature').copy(b, 0x2a0);
  bytes(sig, 's', 72, 'attestation_report.signature').copy(b, 0x2a0 + 72);
  return b;
}

/** A certificate as DER (the sev crate's Certificate::from_bytes also takes PEM). */
function der(data: Buffer): Buffer {
  const text = data.toString('latin1');
  const m = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/.exec(text);
  return m ? Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64') : data;
}

/**
 * cert_chain -> our certificates. As trustee does: the first VCEK or VLEK is the signer (a
 * later one is ignored), an ASK entry is the signer's intermediate (our `asvk` when the
 * signer is a VLEK), the ARK is informational (ours is pinned), a CRL is the AMD CRL (and
 * refused like any attester-sent CRL unless collateral.acceptFromEvidence), other entries are ignored.
 */
function certificates(chain: unknown): { certificates?: SnpCertificates; crl?: Buffer } {
  if (chain === undefined || chain === null) return {};
  if (!Array.isArray(chain)) throw bad('cert_chain must be an array of {cert_type, data}');
  const certs: SnpCertificates = {};
  let signer: 'vcek' | 'vlek' | undefined;
  let ask: Buffer | undefined;
  let crl: Buffer | undefined;
  chain.forEach((entry: unknown, i) => {
    if (!isRecord(entry) || !Array.isArray(entry.data)) throw bad(`cert_chain[${i}] must be {cert_type, data: [bytes]}`);
    const data = bytes(entry, 'data', entry.data.length, `cert_chain[${i}]`);
    switch (entry.cert_type) {
      case 'VCEK':
      case 'VLEK':
        if (!signer) {
          signer = entry.cert_type === 'VCEK' ? 'vcek' : 'vlek';
          certs[signer] = der(data);
        }
        break;
      case 'ASK':
        ask = der(data);
        break;
      case 'ARK':
        certs.ark = der(data);
        break;
      case 'CRL':
        crl = data;
        break;
      default:
        break;
    }
  });
  if (ask) certs[signer === 'vlek' ? 'asvk' : 'ask'] = ask;
  return { ...(Object.keys(certs).length > 0 ? { certificates: certs } : {}), ...(crl ? { crl } : {}) };
}

export function snpEvidenceFromKbs(evidence: unknown): Evidence {
  if (!isRecord(evidence) || !isRecord(evidence.attestation_report)) throw bad('expected {attestation_report, cert_chain}');
  return { tee: 'sev-snp', report: encodeSevReport(evidence.attestation_report), ...certificates(evidence.cert_chain) };
}
