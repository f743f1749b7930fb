// Intel QE Identity v2 (id "QE" for SGX quotes, "TD_QE" for TDX): who the genuine Quoting
// Enclave is (MRSIGNER, ISVPRODID, MISCSELECT and ATTRIBUTES under masks) and the status of
// each of its ISVSVNs. Parsed from the PCS body as served, the signed text kept byte-exact.
// Schema: Intel PCS API v4, "Enclave Identity V2"; QVL Verifiers/EnclaveIdentityV2.cpp.
// The match follows QVL Verifiers/EnclaveReportVerifier.cpp (4.1.2.9.5 - 4.1.2.9.10).

import { z } from 'zod';
import { BoundedCache } from '../x509/bounded-cache.ts';
import type { SgxReportBody } from './abi/sgx-report.ts';
import { parseSignedDocument, pcsDate as isoDate, pcsHex as hex, type SignedDocument } from './signed-json.ts';


const levelSchema = z.object({
  tcb: z.object({ isvsvn: z.number().int().min(0).max(0xffff) }),
  tcbDate: isoDate,
  tcbStatus: z.string().min(1),
  advisoryIDs: z.array(z.string()).optional(),
});

const identitySchema = z.object({
  id: z.enum(['QE', 'TD_QE', 'QVE']),
  version: z.literal(2),
  issueDate: isoDate,
  nextUpdate: isoDate,
  tcbEvaluationDataNumber: z.number().int().min(0),
  miscselect: hex(4),
  miscselectMask: hex(4),
  attributes: hex(16),
  attributesMask: hex(16),
  mrsigner: hex(32),
  isvprodid: z.number().int().min(0).max(0xffff),
  tcbLevels: z.array(levelSchema).min(1),
});

export type QeIdentityBody = z.infer<typeof identitySchema>;
export type QeIdentityLevel = z.infer<typeof levelSchema>;

export type QeIdentityDocument = SignedDocument<QeIdentityBody>;

const cache = new BoundedCache<string, QeIdentityDocument>(64);

/** Parse a PCS QE Identity body (cached by its text). Throws EvidenceFormatError `intel_qe_identity_malformed`. */
export function parseQeIdentity(text: string): QeIdentityDocument {
  const hit = cache.get(text);
  if (hit) return hit;
  const doc = parseSignedDocument(text, 'enclaveIdentity', 'QE Identity', 'intel_qe_identity_malformed', 'a v2 enclave identity', identitySchema);
  cache.set(text, doc);
  return doc;
}

export interface QeIdentityMismatch {
  field: 'miscselect' | 'attributes' | 'mrsigner' | 'isvprodid';
  expected: string | number;
  found: string | number;
}

interface DecodedIdentity {
  miscMask: number;
  misc: number;
  attrMask: Buffer;
  attrs: Buffer;
  mrsigner: Buffer;
}

// Parsed identities are cached and reused: decode their hex values once.
const decodedCache = new WeakMap<QeIdentityBody, DecodedIdentity>();

function decoded(identity: QeIdentityBody): DecodedIdentity {
  let d = decodedCache.get(identity);
  if (!d) {
    d = {
      miscMask: Buffer.from(identity.miscselectMask, 'hex').readUInt32LE(0),
      misc: Buffer.from(identity.miscselect, 'hex').readUInt32LE(0),
      attrMask: Buffer.from(identity.attributesMask, 'hex'),
      attrs: Buffer.from(identity.attributes, 'hex'),
      mrsigner: Buffer.from(identity.mrsigner, 'hex'),
    };
    decodedCache.set(identity, d);
  }
  return d;
}

/**
 * Compare the QE report with the identity. MISCSELECT: the report's value under the mask
 * must equal the identity's value (the JSON hex is the little-endian u32 as bytes, QVL
 * vectorToUint32); ATTRIBUTES likewise byte by byte; MRSIGNER and ISVPRODID exactly.
 */
export function matchQeIdentity(report: SgxReportBody, identity: QeIdentityBody): QeIdentityMismatch[] {
  const out: QeIdentityMismatch[] = [];
  const { miscMask, misc, attrMask, attrs, mrsigner } = decoded(identity);
  if (((report.miscSelect & miscMask) >>> 0) !== misc) {
    out.push({ field: 'miscselect', expected: identity.miscselect.toLowerCase(), found: Buffer.from(Uint32Array.of(report.miscSelect).buffer).toString('hex') });
  }
  const masked = Buffer.alloc(16);
  for (let i = 0; i < 16; i++) masked[i] = report.attributes[i]! & attrMask[i]!;
  if (!masked.equals(attrs)) out.push({ field: 'attributes', expected: attrs.toString('hex'), found: masked.toString('hex') });
  if (!mrsigner.equals(report.mrSigner)) out.push({ field: 'mrsigner', expected: mrsigner.toString('hex'), found: report.mrSigner.toString('hex') });
  if (report.isvProdId !== identity.isvprodid) out.push({ field: 'isvprodid', expected: identity.isvprodid, found: report.isvProdId });
  return out;
}

/** The first level (in the document's order, highest first) whose ISVSVN the QE meets. */
export function matchQeLevel(isvSvn: number, identity: QeIdentityBody): QeIdentityLevel | undefined {
  return identity.tcbLevels.find((l) => isvSvn >= l.tcb.isvsvn);
}
