// The SEV-SNP certificate table that comes with an extended guest report: the configfs-tsm
// `auxblob` of a sev_guest report (Linux Documentation/ABI/testing/configfs-tsm) carries
// the table the hypervisor supplied through the GHCB extended guest request (AMD GHCB
// specification 56421, section 4.1.8.1 "SNP Extended Guest Request", certificate table):
// 24-byte entries { GUID (16 bytes, RFC 4122 byte order), offset (u32 LE), length (u32 LE) }
// terminated by an all-zero entry; offsets count from the start of the table. The GUIDs are
// the GHCB spec's (as in go-sev-guest abi.VcekGUID etc.).

import type { SnpCertificates } from '../../verifier/evidence.ts';
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

/** Parse an auxblob. An empty blob (the host supplied no certificates) is an empty table. */
export function parseCertTable(blob: Uint8Array): CertTable {
  const buf = Buffer.from(blob);
  const found = new Map<string, Buffer>();
  const offsets: { name: string; offset: number }[] = [];
  const unknown: CertTable['unknown'] = [];
  if (buf.length === 0) return { certificates: {}, unknown };
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
    const name = guidString(guid);
    if (length === 0) malformed(`entry ${name} has length 0`);
    if (offset + length > buf.length) malformed(`entry ${name} points past the end (offset ${offset}, length ${length}, table ${buf.length} bytes)`);
    if (found.has(name) || unknown.some((u) => u.guid === name)) malformed(`GUID ${name} appears twice`);
    const known = Object.values(CERT_TABLE_GUID).includes(name as (typeof CERT_TABLE_GUID)[keyof typeof CERT_TABLE_GUID]);
    offsets.push({ name, offset });
    if (known) found.set(name, Buffer.from(buf.subarray(offset, offset + length)));
    else unknown.push({ guid: name, length });
  }
  if (!terminated) malformed('no all-zero terminating entry');
  const headerEnd = pos + ENTRY_SIZE;
  for (const { name, offset } of offsets) {
    if (offset < headerEnd) malformed(`entry ${name} starts inside the table itself (offset ${offset})`);
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
