// Errors of the KBS protocol as the guest's attestation-agent reads them: a JSON body
// {"type", "detail"} (kbs-types ErrorInformation) whose type is
// "https://github.com/confidential-containers/kbs/errors/<variant>", the variant being the
// name of trustee's kbs::Error (kbs/src/error.rs, `AsRefStr`), and the status Trustee's
// ResponseError gives it: 404 for InvalidRequestPath and PluginNotFound, 401 for everything
// else. The agent re-attests on a 401 (guest-components kbs_protocol rcar_client.rs
// get_resource), so a 401 is also what an expired or unattested session must give.
//
// Our own stable code travels in the `x-tessera-code` header, so an operator (or a test)
// can tell refusals apart without changing the body the agent parses. A store outage stays
// a 503 with Retry-After: not a Trustee status, but the agent reports it as a server error
// instead of re-attesting into the outage.

import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { ProblemAnswer } from '../problem.ts';

export const KBS_ERROR_TYPE_PREFIX = 'https://github.com/confidential-containers/kbs/errors';
export const TESSERA_CODE_HEADER = 'x-tessera-code';

/** The kbs::Error variants we answer with (trustee kbs/src/error.rs). */
export type KbsErrorType = 'AttestationError' | 'InvalidRequestPath' | 'PluginNotFound' | 'PluginInternalError' | 'PolicyDeny' | 'TokenNotFound' | 'TokenVerifierError' | 'SerdeError';

export class KbsError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly type: KbsErrorType,
    /** Our stable code (x-tessera-code). */
    readonly code: string,
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'KbsError';
  }
}

/** Trustee's detail for an auth failure: `Error::AttestationError` around `RcarAuthFailed` (display strings of both). */
export const authFailed = (code: string, why: string) => new KbsError(401, 'AttestationError', code, `Attestation error: RCAR handshake Auth failed: ${why}`);
/** Trustee's detail for an attest failure: `Error::AttestationError` around `RcarAttestFailed`, then why. */
export const attestFailed = (code: string, why: string) => new KbsError(401, 'AttestationError', code, `Attestation error: RCAR handshake Attest failed: ${why}`);

export function kbsErrorBody(type: KbsErrorType | string, detail: string): string {
  return JSON.stringify({ type: `${KBS_ERROR_TYPE_PREFIX}/${type}`, detail });
}

export function kbsErrorResponse(c: Context, status: ContentfulStatusCode, type: KbsErrorType | string, code: string, detail: string): Response {
  return c.body(kbsErrorBody(type, detail), status, { 'content-type': 'application/json', [TESSERA_CODE_HEADER]: code, 'cache-control': 'no-store' });
}

/**
 * Any other refusal (body too large, malformed JSON, the store down, the verifier's format
 * errors) in the KBS shape: 4xx become 401 AttestationError-like answers only where
 * Trustee would; a 413 stays 413 and a 503 stays 503 (see the header comment).
 */
export function kbsProblemResponse(c: Context, p: ProblemAnswer): Response {
  const type = p.status === 404 ? 'InvalidRequestPath' : p.status === 400 || p.status === 415 ? 'SerdeError' : 'AttestationError';
  const status: ContentfulStatusCode = p.status === 413 || p.status === 429 || p.status >= 500 ? p.status : p.status === 404 ? 404 : 401;
  const res = kbsErrorResponse(c, status, type, p.code, p.detail);
  if (p.retryAfterSeconds !== undefined) res.headers.set('retry-after', String(p.retryAfterSeconds));
  return res;
}
