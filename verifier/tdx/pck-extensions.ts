// The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1): the platform's
// identity (PPID, FMSPC, PCE-ID) and the TCB the certificate was issued for (16 SGX TCB
// component SVNs, PCESVN, CPUSVN), which TCB level matching uses instead of anything the
// quote claims. Layout: Intel "SGX PCK Certificate and Certificate Revocation List Profile
// Specification", section 1.5 (SGX Extensions); QVL PckParser/PckParser.cpp.
//
// A minimal, strict DER walker is enough here: a SEQUENCE of SEQUENCE { OID, value }, with
// the TCB entry itself such a SEQUENCE. X.509 parsing proper is node:crypto's.

import { EvidenceFormatError } from '../errors.ts';
import type { Certificate } from '../x509/certificate.ts';

export const SGX_EXTENSION_OID = '1.2.840.113741.1.13.1';

export interface PckExtension {
  ppid: string;
  /** SGX TCB component SVNs 1..16 (index 0 = COMP01). */
  sgxTcbComponents: number[];
  pceSvn: number;
  cpuSvn: string;
  pceId: string;
  fmspc: string;
  /** 0 Standard, 1 Scalable, 2 Scalable with integrity. */
  sgxType: number;
  /** Platform CA certificates only. */
  platformInstanceId?: string;
}

interface Tlv {
  tag: number;
  value: Buffer;
  next: number;
}

function fail(detail: string): never {
  throw new EvidenceFormatError('intel_pck_extension', `The PCK certificate's SGX extension is malformed: ${detail}.`);
}

function readTlv(buf: Buffer, pos: number, end: number): Tlv {
  if (pos + 2 > end) fail('truncated element');
  const tag = buf[pos]!;
  let len = buf[pos + 1]!;
  let start = pos + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || start + n > end) fail('bad length');
    len = 0;
    for (let i = 0; i < n; i++) len = (len << 8) | buf[start + i]!;
    start += n;
  }
  if (start + len > end) fail('element overruns its container');
  return { tag, value: buf.subarray(start, start + len), next: start + len };
}

function children(seq: Buffer): Tlv[] {
  const out: Tlv[] = [];
  for (let pos = 0; pos < seq.length; ) {
    const t = readTlv(seq, pos, seq.length);
    out.push(t);
    pos = t.next;
  }
  return out;
}

const SEQUENCE = 0x30;
const OID = 0x06;
const INTEGER = 0x02;
const OCTET_STRING = 0x04;
const ENUMERATED = 0x0a;

function oidToString(v: Buffer): string {
  if (v.length === 0) fail('empty OID');
  const parts: number[] = [];
  const first = v[0]!;
  parts.push(first < 80 ? Math.floor(first / 40) : 2, first < 80 ? first % 40 : first - 80);
  let acc = 0;
  for (let i = 1; i < v.length; i++) {
    acc = acc * 128 + (v[i]! & 0x7f);
    if (!(v[i]! & 0x80)) {
      parts.push(acc);
      acc = 0;
    }
  }
  return parts.join('.');
}

function unsigned(t: Tlv, what: string, tag = INTEGER): number {
  if (t.tag !== tag || t.value.length === 0 || t.value.length > 3 || t.value[0]! & 0x80) fail(`${what} is not a small non-negative integer`);
  let n = 0;
  for (const b of t.value) n = n * 256 + b;
  return n;
}

function octets(t: Tlv, what: string, length: number): string {
  if (t.tag !== OCTET_STRING || t.value.length !== length) fail(`${what} is not a ${length}-byte OCTET STRING`);
  return t.value.toString('hex');
}

/** Map each SEQUENCE { OID, value } under `seq` by OID; duplicates are rejected. */
function entries(seq: Buffer): Map<string, Tlv> {
  const map = new Map<string, Tlv>();
  for (const entry of children(seq)) {
    if (entry.tag !== SEQUENCE) fail('an entry is not a SEQUENCE');
    const [oid, value, extra] = children(entry.value);
    if (!oid || oid.tag !== OID || !value || extra) fail('an entry is not { OID, value }');
    const name = oidToString(oid.value);
    if (map.has(name)) fail(`OID ${name} appears twice`);
    map.set(name, value);
  }
  return map;
}

const cache = new WeakMap<Certificate, PckExtension>();

/** The SGX extension of a PCK leaf certificate. Throws EvidenceFormatError when absent or malformed. */
export function pckExtension(cert: Certificate): PckExtension {
  const hit = cache.get(cert);
  if (hit) return hit;
  const raw = cert.extensions.get(SGX_EXTENSION_OID);
  if (!raw) throw new EvidenceFormatError('intel_pck_extension', 'The PCK certificate has no SGX extension (1.2.840.113741.1.13.1).');
  const top = readTlv(raw, 0, raw.length);
  if (top.tag !== SEQUENCE || top.next !== raw.length) fail('not one SEQUENCE');
  const map = entries(top.value);
  const get = (arc: string): Tlv => map.get(`${SGX_EXTENSION_OID}.${arc}`) ?? fail(`entry .${arc} is missing`);

  const tcb = get('2');
  if (tcb.tag !== SEQUENCE) fail('the TCB entry is not a SEQUENCE');
  const tcbMap = entries(tcb.value);
  const tcbGet = (arc: number): Tlv => tcbMap.get(`${SGX_EXTENSION_OID}.2.${arc}`) ?? fail(`TCB entry .2.${arc} is missing`);
  const sgxTcbComponents: number[] = [];
  for (let i = 1; i <= 16; i++) {
    const svn = unsigned(tcbGet(i), `TCB component ${i}`);
    if (svn > 255) fail(`TCB component ${i} exceeds 255`);
    sgxTcbComponents.push(svn);
  }
  const pceSvn = unsigned(tcbGet(17), 'PCESVN');
  if (pceSvn > 0xffff) fail('PCESVN exceeds 65535');
  const instance = map.get(`${SGX_EXTENSION_OID}.6`);
  const ext: PckExtension = {
    ppid: octets(get('1'), 'PPID', 16),
    sgxTcbComponents,
    pceSvn,
    cpuSvn: octets(tcbGet(18), 'CPUSVN', 16),
    pceId: octets(get('3'), 'PCE-ID', 2),
    fmspc: octets(get('4'), 'FMSPC', 6),
    sgxType: unsigned(get('5'), 'SGX Type', ENUMERATED),
    ...(instance && instance.tag === OCTET_STRING ? { platformInstanceId: instance.value.toString('hex') } : {}),
  };
  cache.set(cert, ext);
  return ext;
}
