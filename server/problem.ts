// RFC 9457 problem details for every error the API returns, each with a stable `code`.
// Handlers throw ApiError; errorHandler() maps everything else (the verifier's errors,
// Hono's body-limit and JSON errors) to a 4xx, and only a genuine bug to a 500 whose body
// reveals nothing about it.

import type { Context } from 'hono';
import { HTTPException } from 'hono/http-exception';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { CollateralUnavailableError, EvidenceFormatError } from '../verifier/errors.ts';
import { PolicyValidationError } from '../verifier/policy/types.ts';
import { ChallengeError } from './challenge.ts';
import { NotDurableError, StoreCorruptError, StoreUnavailableError } from './storage/store.ts';
import { ServerBusyError } from './verification/pool.ts';

export const PROBLEM_TYPE_BASE = 'https://tessera.dev/problems/';

/** Retry-After of a 503 store_unavailable: long enough for a database failover or restart to begin answering. */
export const STORE_RETRY_AFTER_SECONDS = 2;

export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: string;
  instance?: string;
  [extension: string]: unknown;
}

export class ApiError extends Error {
  constructor(
    readonly status: ContentfulStatusCode,
    readonly code: string,
    readonly detail: string,
    readonly extensions: Record<string, unknown> = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

const TITLES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Content Too Large',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function problemBody(status: number, code: string, detail: string, extensions: Record<string, unknown> = {}): Problem {
  return { type: `${PROBLEM_TYPE_BASE}${code}`, title: TITLES[status] ?? 'Error', status, detail, code, ...extensions };
}

export function problemResponse(c: Context, status: ContentfulStatusCode, code: string, detail: string, extensions: Record<string, unknown> = {}): Response {
  const body = problemBody(status, code, detail, { instance: c.req.path, ...extensions });
  return c.body(JSON.stringify(body), status, { 'content-type': 'application/problem+json' });
}

/** Turn any thrown value into its problem. `onBug` is told about the ones that are bugs. */
/** What a thrown value answers: status, code, sentence, and how to treat it. */
export interface ProblemAnswer {
  status: ContentfulStatusCode;
  code: string;
  detail: string;
  extensions: Record<string, unknown>;
  bug: boolean;
  /** Sent as Retry-After: the refusal is temporary and the client may try again this soon. */
  retryAfterSeconds?: number;
}

export function toProblem(err: unknown): ProblemAnswer {
  if (err instanceof ApiError) return { status: err.status, code: err.code, detail: err.detail, extensions: err.extensions, bug: false };
  if (err instanceof ChallengeError) return { status: err.code === 'challenge_replayed' ? 409 : 400, code: err.code, detail: err.message, extensions: {}, bug: false };
  if (err instanceof EvidenceFormatError) return { status: 400, code: err.code, detail: err.message, extensions: {}, bug: false };
  if (err instanceof CollateralUnavailableError) {
    return { status: 503, code: err.code, detail: err.message, extensions: { document: err.document }, bug: false };
  }
  if (err instanceof ServerBusyError) {
    return { status: 503, code: 'server_busy', detail: `The server is saturated: ${err.message} Retry shortly.`, extensions: {}, bug: false, retryAfterSeconds: 1 };
  }
  if (err instanceof StoreUnavailableError) {
    // Temporary (the database is down or failing over): the client retries; server/app.ts warns the operator.
    return {
      status: 503,
      code: 'store_unavailable',
      detail: 'The database cannot be reached right now; nothing was recorded for this request. Retry shortly.',
      extensions: {},
      bug: false,
      retryAfterSeconds: STORE_RETRY_AFTER_SECONDS,
    };
  }
  if (err instanceof StoreCorruptError) {
    // The record's name goes to the operator (server/audit/corruption.ts), never to the
    // caller: for a guest it could tell which names exist.
    return {
      status: 503,
      code: 'store_corrupt',
      detail: 'A stored record this request needs is damaged and cannot be used; the operator has been told which. Other requests are served.',
      extensions: {},
      bug: false,
    };
  }
  if (err instanceof NotDurableError) {
    // Logged (bug: true) for the operator: the disk refused a sync.
    return { status: 503, code: 'database_unavailable', detail: 'The decision could not be made durable; the service refuses attestations until it restarts.', extensions: {}, bug: true };
  }
  if (err instanceof PolicyValidationError) return { status: 422, code: err.code, detail: err.message, extensions: { issues: err.issues }, bug: false };
  if (err instanceof HTTPException) {
    if (err.status === 413) return { status: 413, code: 'body_too_large', detail: 'The request body exceeds the size limit.', extensions: {}, bug: false };
    if (err.status === 415) return { status: 415, code: 'unsupported_media_type', detail: 'Send the body as application/json.', extensions: {}, bug: false };
    if (err.status === 400 && /malformed json/i.test(err.message)) {
      return { status: 400, code: 'malformed_json', detail: 'The request body is not valid JSON.', extensions: {}, bug: false };
    }
    return { status: err.status, code: 'http_error', detail: err.message || 'Request refused.', extensions: {}, bug: err.status >= 500 };
  }
  return { status: 500, code: 'internal_error', detail: 'The server failed to process the request; the failure was logged.', extensions: {}, bug: true };
}
