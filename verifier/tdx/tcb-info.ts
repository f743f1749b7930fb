// Intel TCB Info v3 (id "SGX" or "TDX"): the TCB levels of one platform family (FMSPC) with
// their status and advisories, and for TDX the TDX module identities. Parsed from the PCS
// body as served, with the signed text kept byte-exact for the signature check.
// Schema: Intel PCS API v4, "TCB Info V3"; QVL Src/AttestationParsers/src/Json/TcbInfo.cpp.

import { z } from 'zod';
import { EvidenceFormatError } from '../errors.ts';
import { BoundedCache } from '../x509/bounded-cache.ts';
import { parseSignedDocument, pcsDate as isoDate, pcsHex as hex, type SignedDocument } from './signed-json.ts';

const svn = z.number().int().min(0).max(255);
const statusText = z.string().min(1);

const tcbComponent = z.object({ svn, category: z.string().optional(), type: z.string().optional() });
const components16 = z.array(tcbComponent).length(16);

const tcbLevelSchema = z.object({
  tcb: z.object({
    sgxtcbcomponents: components16,
    pcesvn: z.number().int().min(0).max(0xffff),
    tdxtcbcomponents: components16.optional(),
  }),
  tcbDate: isoDate,
  tcbStatus: statusText,
  advisoryIDs: z.array(z.string()).optional(),
});

const moduleLevelSchema = z.object({
  tcb: z.object({ isvsvn: svn }),
  tcbDate: isoDate,
  tcbStatus: statusText,
  advisoryIDs: z.array(z.string()).optional(),
});

const moduleSchema = z.object({ mrsigner: hex(48), attributes: hex(8), attributesMask: hex(8) });

const tcbInfoSchema = z.object({
  id: z.enum(['SGX', 'TDX']),
  version: z.literal(3),
  issueDate: isoDate,
  nextUpdate: isoDate,
  fmspc: hex(6),
  pceId: hex(2),
  tcbType: z.literal(0),
  tcbEvaluationDataNumber: z.number().int().min(0),
  tdxModule: moduleSchema.optional(),
  tdxModuleIdentities: z.array(moduleSchema.extend({ id: z.string(), tcbLevels: z.array(moduleLevelSchema) })).optional(),
  tcbLevels: z.array(tcbLevelSchema).min(1),
});

export type TcbInfoBody = z.infer<typeof tcbInfoSchema>;
export type TcbLevel = z.infer<typeof tcbLevelSchema>;
export type TdxModuleLevel = z.infer<typeof moduleLevelSchema>;
export type TdxModuleIdentity = NonNullable<TcbInfoBody['tdxModuleIdentities']>[number];

export interface TcbInfoDocument extends SignedDocument<TcbInfoBody> {
  /** Lower-case hex. */
  fmspc: string;
  pceId: string;
}

const cache = new BoundedCache<string, TcbInfoDocument>(256);

/** Parse a PCS TCB Info body (cached by its text). Throws EvidenceFormatError `intel_tcb_info_malformed`. */
export function parseTcbInfo(text: string): TcbInfoDocument {
  const hit = cache.get(text);
  if (hit) return hit;
  const signed = parseSignedDocument(text, 'tcbInfo', 'TCB Info', 'intel_tcb_info_malformed', 'a v3 TCB Info', tcbInfoSchema);
  const body = signed.body;
  if (body.id === 'TDX' && (!body.tdxModule || body.tcbLevels.some((l) => !l.tcb.tdxtcbcomponents))) {
    throw new EvidenceFormatError('intel_tcb_info_malformed', 'The TDX TCB Info lacks tdxModule or a level lacks tdxtcbcomponents.');
  }
  const doc: TcbInfoDocument = { ...signed, fmspc: body.fmspc.toLowerCase(), pceId: body.pceId.toLowerCase() };
  cache.set(text, doc);
  return doc;
}
