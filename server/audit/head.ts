// Signed audit heads. The hash chain (log.ts) shows that no entry was changed, inserted or
// removed before the newest one, but not that the newest ones were not cut off: whoever can
// write the database can drop the tail (and the triggers that refuse it), and what is
// left still verifies. A head, the newest entry's seq and hash signed with the
// result-signing key, exported by an auditor now and then and kept elsewhere, pins the log
// up to that entry: later the chain must still hold that entry with that hash. (The same
// idea as a transparency log's signed tree head, RFC 9162 section 4.10, for a hash chain.)

import { decodeProtectedHeader, importJWK, jwtVerify } from 'jose';
import { signCompactJws } from '../keys/sign-jws.ts';
import { SIGNING_ALG, type PublicSigningKey, type SigningKeyStore } from '../keys/signing-keys.ts';
import type { AuditStorage } from '../storage/store.ts';
import type { ChainReport } from './log.ts';

/** The JWS `typ` of a signed head: never taken for an EAR token (`JWT`), nor the reverse. */
export const AUDIT_HEAD_TYP = 'tessera-audit-head+jwt';

export interface AuditHead {
  /** The newest entry's seq (0 for an empty log). */
  seq: number;
  hash: string;
  /** When it was signed (ISO 8601). */
  at: string;
}

/** `head` signed (compact JWS, ES256, by the active result-signing key). */
export async function signAuditHead(keys: SigningKeyStore, head: { seq: number; hash: string }, now: number = Date.now()): Promise<AuditHead & { signed: string }> {
  const { seq, hash } = head;
  const { jws } = await signCompactJws(keys, AUDIT_HEAD_TYP, { seq, hash, iat: Math.floor(now / 1000) });
  return { seq, hash, at: new Date(Math.floor(now / 1000) * 1000).toISOString(), signed: jws };
}

/** A signed head that cannot be read or whose signature does not hold. */
export class AuditHeadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AuditHeadError';
  }
}

/**
 * Verify a signed head against `keys` (every key the service ever had: a head outlives the
 * rotation of the key that signed it) and return what it says. Throws AuditHeadError.
 */
export async function readSignedAuditHead(jws: string, keys: readonly PublicSigningKey[]): Promise<AuditHead> {
  let kid: string | undefined;
  try {
    kid = decodeProtectedHeader(jws).kid;
  } catch {
    throw new AuditHeadError('not a signed audit head (a compact JWS, as GET /v1/audit/head returns in `signed`)');
  }
  const key = keys.find((k) => k.kid === kid);
  if (!key) throw new AuditHeadError(`signed by a key this data directory never had (kid ${JSON.stringify(kid ?? null)})`);
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(jws, await importJWK(key.jwk, SIGNING_ALG), { algorithms: [SIGNING_ALG], typ: AUDIT_HEAD_TYP }));
  } catch (err) {
    throw new AuditHeadError(`the signature or the type does not hold: ${err instanceof Error ? err.message : String(err)}`);
  }
  const { seq, hash, iat } = payload;
  if (!Number.isSafeInteger(seq) || (seq as number) < 0 || typeof hash !== 'string' || !/^[0-9a-f]{64}$/.test(hash) || !Number.isSafeInteger(iat)) {
    throw new AuditHeadError('the signed payload is not {seq, hash, iat}');
  }
  return { seq: seq as number, hash, at: new Date((iat as number) * 1000).toISOString() };
}

/**
 * Whether the chain (`report`, from verifyAuditChain) still holds the entry a signed head
 * names, with the same hash: undefined when it does, else why not.
 */
export async function headMismatch(audit: AuditStorage, report: ChainReport, head: AuditHead): Promise<string | undefined> {
  if (head.seq === 0) return undefined;
  const newest = report.head?.seq ?? 0;
  if (newest < head.seq) {
    return `the log ends at entry ${newest}, but a head signed at ${head.at} names entry ${head.seq}: entries ${newest + 1} to ${head.seq} were removed`;
  }
  const row = await audit.get(head.seq);
  if (row?.hash !== head.hash) {
    return `entry ${head.seq} hashes to ${row?.hash ?? 'nothing'}, but the head signed at ${head.at} says ${head.hash}: the log was rewritten from there`;
  }
  return undefined;
}
