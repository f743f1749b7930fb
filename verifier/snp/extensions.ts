// The AMD extensions of a VCEK or VLEK certificate (AMD "Versioned Chip Endorsement Key
// (VCEK) Certificate and KDS Interface Specification" (57230), table "VCEK Certificate
// Extensions"; VLEK: same OIDs plus cspID). All under 1.3.6.1.4.1.3704.1:
//   .1 structVersion INTEGER   .2 productName IA5String ("Milan-B0", "Genoa", "Turin")
//   .3.1 blSPL  .3.2 teeSPL  .3.3 snpSPL  .3.4-.3.7 spl4-spl7  .3.8 ucodeSPL  .3.9 fmcSPL
//   (all INTEGER)   .4 hwID OCTET STRING (64 bytes; 8 bytes on Turin)   .5 cspID (VLEK)
// The extension values are DER and parsed as DER: an SPL of 128 or more is encoded with
// a leading zero byte (02 02 00 80), which a "last byte" reader would get wrong. Real KDS
// VCEKs put the raw hwID bytes directly in extnValue; some certificates wrap them in an
// OCTET STRING (trustee's test-vcek-invalid-new.der): both are read.

import { EvidenceFormatError } from '../errors.ts';
import type { Certificate } from '../x509/certificate.ts';

const ARC = '1.3.6.1.4.1.3704.1';
export const AMD_OID = {
  structVersion: `${ARC}.1`,
  productName: `${ARC}.2`,
  blSPL: `${ARC}.3.1`,
  teeSPL: `${ARC}.3.2`,
  snpSPL: `${ARC}.3.3`,
  spl4: `${ARC}.3.4`,
  spl5: `${ARC}.3.5`,
  spl6: `${ARC}.3.6`,
  spl7: `${ARC}.3.7`,
  ucodeSPL: `${ARC}.3.8`,
  fmcSPL: `${ARC}.3.9`,
  hwID: `${ARC}.4`,
  cspID: `${ARC}.5`,
} as const;

export interface AmdExtensions {
  structVersion?: number;
  productName?: string;
  blSPL?: number;
  teeSPL?: number;
  snpSPL?: number;
  spl4?: number;
  spl5?: number;
  spl6?: number;
  spl7?: number;
  ucodeSPL?: number;
  fmcSPL?: number;
  /** Lower-case hex. */
  hwID?: string;
  cspID?: string;
}

type IntName = 'structVersion' | 'blSPL' | 'teeSPL' | 'snpSPL' | 'spl4' | 'spl5' | 'spl6' | 'spl7' | 'ucodeSPL' | 'fmcSPL';
const INT_NAMES: IntName[] = ['structVersion', 'blSPL', 'teeSPL', 'snpSPL', 'spl4', 'spl5', 'spl6', 'spl7', 'ucodeSPL', 'fmcSPL'];

function bad(name: string, why: string): never {
  throw new EvidenceFormatError('snp_cert_extension', `The signer certificate's ${name} extension is malformed: ${why}.`);
}

/** One DER TLV with a short- or long-form length; returns the tag and contents, and requires it to fill `b`. */
function readTlv(b: Buffer, name: string): { tag: number; value: Buffer } {
  if (b.length < 2) bad(name, 'too short');
  const tag = b[0]!;
  let len = b[1]!;
  let off = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 2 || b.length < 2 + n) bad(name, 'bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + b[2 + i]!;
    off = 2 + n;
  }
  if (off + len !== b.length) bad(name, 'length does not match the value');
  return { tag, value: b.subarray(off) };
}

/** A DER INTEGER that must be non-negative and fit a JS safe integer. */
export function derUint(b: Buffer, name: string): number {
  const { tag, value } = readTlv(b, name);
  if (tag !== 0x02) bad(name, `expected an INTEGER (tag 0x02), found tag 0x${tag.toString(16)}`);
  if (value.length === 0) bad(name, 'empty INTEGER');
  if (value[0]! & 0x80) bad(name, 'negative INTEGER');
  if (value.length > 1 && value[0] === 0 && !(value[1]! & 0x80)) bad(name, 'non-minimal INTEGER encoding');
  if (value.length > 7) bad(name, 'INTEGER too large');
  let n = 0;
  for (const byte of value) n = n * 256 + byte;
  return n;
}

function derString(b: Buffer, name: string): string {
  const { tag, value } = readTlv(b, name);
  // IA5String (0x16) per the KDS spec; UTF8String and PrintableString tolerated.
  if (tag !== 0x16 && tag !== 0x0c && tag !== 0x13) bad(name, `expected a string, found tag 0x${tag.toString(16)}`);
  return value.toString(tag === 0x0c ? 'utf8' : 'latin1');
}

/** hwID: 64 raw bytes (8 on Turin) as KDS issues it, or the same wrapped in an OCTET STRING. */
export function parseHwId(b: Buffer): string {
  if (b.length === 64 || b.length === 8) return b.toString('hex');
  const { tag, value } = readTlv(b, 'hwID');
  if (tag !== 0x04 || (value.length !== 64 && value.length !== 8)) bad('hwID', `expected 8 or 64 bytes, found ${b.length}`);
  return value.toString('hex');
}

const cache = new WeakMap<Certificate, AmdExtensions>();

/** The AMD extensions of a VCEK/VLEK (cached per parsed certificate). Absent extensions are absent fields. */
export function amdExtensions(cert: Certificate): AmdExtensions {
  const hit = cache.get(cert);
  if (hit) return hit;
  const ext = cert.extensions;
  const out: AmdExtensions = {};
  for (const name of INT_NAMES) {
    const v = ext.get(AMD_OID[name]);
    if (v !== undefined) out[name] = derUint(v, name);
  }
  const product = ext.get(AMD_OID.productName);
  if (product !== undefined) out.productName = derString(product, 'productName');
  const hw = ext.get(AMD_OID.hwID);
  if (hw !== undefined) out.hwID = parseHwId(hw);
  const csp = ext.get(AMD_OID.cspID);
  if (csp !== undefined) out.cspID = derString(csp, 'cspID');
  cache.set(cert, out);
  return out;
}
