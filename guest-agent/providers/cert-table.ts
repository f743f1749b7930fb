// The SEV-SNP certificate table that comes with an extended guest report: the configfs-tsm
// `auxblob` of a sev_guest report (Linux Documentation/ABI/testing/configfs-tsm) carries
// the table the hypervisor supplied through the GHCB extended guest request (AMD GHCB
// specification 56421, section 4.1.8.1 "SNP Extended Guest Request", certificate table):
// 24-byte entries { GUID (16 bytes, RFC 4122 byte order), offset (u32 LE), length (u32 LE) }
// terminated by an all-zero entry; offsets count from the start of the table. The GUIDs are
// the GHCB spec's (as in go-sev-guest abi.VcekGUID etc.).
// The spec leaves the certificate encoding to the host, and hosts differ: the real Genoa
// auxblob in test/fixtures/snp/genoa-v3-tsm-veraison (veraison/services) carries PEM text,
// others DER; a PEM entry is read as its one CERTIFICATE block, so what is sent is DER.
// Entries must not overlap: each certificate is its own region of the blob.

import { EvidenceFormatError } from '../../verifier/errors.ts';
import type { SnpCertificates } from '../../verifier/evidence.ts';
import { derSingle, looksLikePem } from '../../verifier/x509/pem.ts';
import { ProviderError } from './provider.ts';

export const CERT_TABLE_GUID = {
  vcek: '63da758d-e664-4564-adc5-f4b93be8accd',
  vlek: 'a8074bc2-a25a-483e-aae6-39c045a0b8a1',
  /** The intermediate: the ASK for a VCEK, the ASVK for a VLEK (the GHCB spec has one GUID for both). */
  ask: '4ab7b379-bbac-4fe4-a02f-05aef327c782',
  ark: 'c0b406a4-a803-4952-9743-3fb6014cd0ae',
} as const;

const ENTRY_SIZE = 24;

export interface CertTable {
  certificates: SnpCertificates;
  /** Entries with GUIDs this agent does not use (e.g. extra platform info), kept for debugging. */
  unknown: { guid: string; length: number }[];
}

export function guidString(bytes: Uint8Array): string {
  const h = Buffer.from(bytes).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

export function guidBytes(guid: string): Buffer {
  return Buffer.from(guid.replace(/-/g, ''), 'hex');
}

function malformed(detail: string): never {
  throw new ProviderError('provider_output', `The SEV-SNP certificate table (auxblob) is malformed: ${detail}.`);
}

/** A certificate entry as DER: DER as it is, PEM (one CERTIFICATE block, NUL padding allowed) decoded. */
function certificateDer(bytes: Buffer, guid: string): Buffer {
  const trimmed = bytes.subarray(0, bytes.length - trailingNuls(bytes));
  if (!looksLikePem(trimmed)) return Buffer.from(bytes);
  try {
    return derSingle(trimmed, 'CERTIFICATE', `certificate of entry ${guid}`);
  } catch (err) {
    if (err instanceof EvidenceFormatError) malformed(`entry ${guid} is neither a DER certificate nor one PEM CERTIFICATE block (${err.message})`);
    throw err;
  }
}

function trailingNuls(b: Buffer): number {
  let n = 0;
  while (n < b.length && b[b.length - 1 - n] === 0) n++;
  return n;
}

/** Parse an auxblob. An empty blob (the host supplied no certificates) is an empty table. */
export function parseCertTable(blob: Uint8Array): CertTable {
  const buf = Buffer.from(blob);
  const unknown: CertTable['unknown'] = [];
  if (buf.length === 0) return { certificates: {}, unknown };
  // The entries first, up to the terminator: where the table ends decides what is data.
  const entries: { name: string; offset: number; length: number }[] = [];
  let terminated = false;
  let pos = 0;
  for (; pos + ENTRY_SIZE <= buf.length; pos += ENTRY_SIZE) {
    const guid = buf.subarray(pos, pos + 16);
    const offset = buf.readUInt32LE(pos + 16);
    const length = buf.readUInt32LE(pos + 20);
    if (guid.every((b) => b === 0) && offset === 0 && length === 0) {
      terminated = true;
      break;
    }
    entries.push({ name: guidString(guid), offset, length });
  }
  if (!terminated) malformed(`no all-zero terminating entry (${entries.length} entries read, ${buf.length - pos} bytes left over)`);
  const headerEnd = pos + ENTRY_SIZE;
  const seen = new Set<string>();
  for (const { name, offset, length } of entries) {
    if (seen.has(name)) malformed(`GUID ${name} appears twice`);
    seen.add(name);
    if (length === 0) malformed(`entry ${name} has length 0`);
    if (offset < headerEnd) malformed(`entry ${name} starts inside the table itself (offset ${offset}, the table ends at ${headerEnd})`);
    if (offset + length > buf.length) malformed(`entry ${name} points past the end (offset ${offset}, length ${length}, table ${buf.length} bytes)`);
  }
  const byOffset = [...entries].sort((a, b) => a.offset - b.offset);
  for (let i = 1; i < byOffset.length; i++) {
    const a = byOffset[i - 1]!;
    const b = byOffset[i]!;
    if (a.offset + a.length > b.offset) malformed(`entries ${a.name} (offset ${a.offset}, length ${a.length}) and ${b.name} (offset ${b.offset}) overlap`);
  }
  const known = new Set<string>(Object.values(CERT_TABLE_GUID));
  const found = new Map<string, Buffer>();
  for (const { name, offset, length } of entries) {
    if (known.has(name)) found.set(name, certificateDer(buf.subarray(offset, offset + length), name));
    else unknown.push({ guid: name, length });
  }
  const certificates: SnpCertificates = {};
  const vcek = found.get(CERT_TABLE_GUID.vcek);
  const vlek = found.get(CERT_TABLE_GUID.vlek);
  const intermediate = found.get(CERT_TABLE_GUID.ask);
  const ark = found.get(CERT_TABLE_GUID.ark);
  if (vcek) certificates.vcek = vcek;
  if (vlek) certificates.vlek = vlek;
  // One GUID names both intermediates; which one it is follows from the signer supplied.
  if (intermediate) {
    if (vlek && !vcek) certificates.asvk = intermediate;
    else certificates.ask = intermediate;
  }
  if (ark) certificates.ark = ark;
  return { certificates, unknown };
}
