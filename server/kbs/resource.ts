// GET /kbs/v0/resource/<repository>/<type>/<tag>: a tessera secret, released exactly as
// GET /v1/secrets/{name} releases it (server/secrets/release.ts decideRelease: the secret's
// release gates decide, on the claims of our EAR), encrypted to the token's cnf key as the
// KBS flattened JWE (server/kbs/jwe.ts).
//
// Mapping: the resource path <repository>/<type>/<tag> is the secret `<repository>.<type>.<tag>`
// (secret names cannot hold `/`, server/secrets/store.ts). repository and type are letters,
// digits, `_` and `-`; tag may also hold `.` (not `..`): splitting the name at its first two
// dots gives the path back, so no two paths name one secret. Other paths map to nothing.
//
// Status codes: trustee's code sends 401 both for a resource its policy denies (PolicyDeny)
// and for one that does not exist (the storage backend's "resource not found" is a
// PluginInternalError, 401; kbs/src/error.rs, plugins/implementations/resource/), although
// its protocol document says 403 and 404. We follow the code: the agent re-attests on 401,
// and a missing secret must look like a refused one (guestDenial: no name oracle).

import type { JWK } from 'jose';
import type { ServiceContext } from '../context.ts';
import { ApiError } from '../problem.ts';
import { decideRelease, guestDenial, releaseAudit, verifyResultToken, type ReleaseSubject } from '../secrets/release.ts';
import { isSecretName } from '../secrets/store.ts';
import { KbsError } from './errors.ts';
import { encryptToKbsKey } from './jwe.ts';
import { readTeePubkey, type KbsTeeKey } from './tee-pubkey.ts';

const SEGMENT_RE = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const TAG_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** The secret a resource path names, or undefined when it names none. */
export function resourceSecretName(repository: string, type: string, tag: string): string | undefined {
  if (!SEGMENT_RE.test(repository) || !SEGMENT_RE.test(type) || !TAG_RE.test(tag)) return undefined;
  const name = `${repository}.${type}.${tag}`;
  return isSecretName(name) ? name : undefined;
}

export interface ResourceInput {
  name: string;
  /** The EAR: the attested session's, else the bearer token; undefined when neither. */
  token: string | undefined;
  clientAddress: string | null;
  now: number;
}

/**
 * The key to encrypt to: a KBS token's cnf is the tee-pubkey as sent; a /v1 token's is a bare
 * P-256 JWK, used with the agent's default algorithm (the EAR is the same either way).
 */
function cnfKey(jwk: JWK): KbsTeeKey {
  return readTeePubkey(jwk.kty === 'EC' && jwk.alg === undefined ? { ...jwk, alg: 'ECDH-ES+A256KW' } : jwk);
}

function isCnfKey(jwk: JWK): boolean {
  try {
    cnfKey(jwk);
    return true;
  } catch {
    return false;
  }
}

/** Release `name` to the holder of `token`; the JWE JSON text, or a KbsError. Every decision is audited. */
export async function kbsResource(ctx: ServiceContext, input: ResourceInput): Promise<string> {
  const { name, clientAddress, now } = input;
  let subject: ReleaseSubject;
  try {
    // trustee: Error::TokenNotFound "Attestation Token not found"
    if (input.token === undefined) throw new KbsError(401, 'TokenNotFound', 'token_missing', 'Attestation Token not found: attest first (/kbs/v0/auth then /kbs/v0/attest), or send Authorization: Bearer <token>');
    try {
      subject = await verifyResultToken(ctx, input.token, now, isCnfKey);
    } catch (err) {
      // trustee: Error::TokenVerifierError "Token Verifier error"
      if (err instanceof ApiError) throw new KbsError(401, 'TokenVerifierError', err.code, `Token Verifier error: ${err.detail}`);
      throw err;
    }
  } catch (err) {
    if (err instanceof KbsError) await ctx.store.audit.append([releaseAudit({ name, version: null, released: false, code: err.code, via: 'kbs' }, null, clientAddress, now)]);
    throw err;
  }
  const key = cnfKey(subject.cnf);
  const d = await decideRelease(ctx, ctx.secrets, subject, name, undefined, undefined, (value: Uint8Array, _cnf: JWK) => JSON.stringify(encryptToKbsKey(value, key)));
  // Recorded before the answer leaves: no release without its audit entry.
  await ctx.store.audit.append([releaseAudit({ ...d, via: 'kbs' }, subject, clientAddress, now)]);
  if (d.released) return d.jwe;
  const g = guestDenial(d);
  if (g.status === 503) throw new KbsError(503, 'PluginInternalError', g.code, g.detail);
  // trustee: Error::PolicyDeny "Access denied by policy"
  throw new KbsError(401, 'PolicyDeny', g.code, `Access denied by policy: ${g.detail}`);
}
