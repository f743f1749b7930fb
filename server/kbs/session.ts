// KBS sessions: the `kbs-session-id` cookie (trustee kbs/src/attestation/session.rs) names a
// row of store.kbsSessions, so auth, attest and resource may each land on another replica.
// The row is keyed by SHA-256 of the cookie value, not the value: reading the database does
// not give anyone a session to present.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie, setCookie } from 'hono/cookie';
import type { KbsSessionRow, KbsSessionStorage } from '../storage/store.ts';

export const KBS_SESSION_COOKIE = 'kbs-session-id';
export const KBS_PREFIX = '/kbs/v0';

const SESSION_ID_RE = /^[0-9a-f]{32}$/;

/** The stored key of a session id. */
export function sessionKey(id: string): string {
  return createHash('sha256').update(id, 'utf8').digest('hex');
}

/** A new session id: 128 random bits, hex (trustee uses a UUID v4, 122 random bits, in the same 32-hex form). */
export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

/** The KBS nonce: 32 random bytes, standard base64 with padding (trustee backend.rs make_nonce). */
export function newNonce(): string {
  return randomBytes(32).toString('base64');
}

export function setSessionCookie(c: Context, id: string, expiresAt: number): void {
  // No Secure attribute: TLS usually ends at a proxy in front of tessera, and an agent
  // talking plain HTTP to a test deployment would drop a Secure cookie.
  setCookie(c, KBS_SESSION_COOKIE, id, { path: KBS_PREFIX, httpOnly: true, sameSite: 'Strict', expires: new Date(expiresAt) });
}

/** The session the request's cookie names, unexpired at `now`; undefined when there is none. */
export async function sessionOf(c: Context, sessions: KbsSessionStorage, now: number): Promise<{ id: string; row: KbsSessionRow } | undefined> {
  const id = getCookie(c, KBS_SESSION_COOKIE);
  if (id === undefined || !SESSION_ID_RE.test(id)) return undefined;
  const row = await sessions.get(sessionKey(id), now);
  return row ? { id, row } : undefined;
}

/** Constant-time equality of two strings (the nonce the guest echoes against the session's). */
export function sameString(a: string, b: string): boolean {
  const x = Buffer.from(a, 'utf8');
  const y = Buffer.from(b, 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}
