// Console sessions: an operator signs in with an API token, and gets a session that is itself
// a stored API token of the same scope (server/auth/api-tokens.ts), named console:<parent id>
// and expiring after console.sessionMinutes or with its parent, whichever is first. So the
// console holds no credential of its own kind: every page calls the API with the session as
// Bearer, revocation is the API's (revoking the parent ends its sessions), and signing out
// revokes the session row.
//
// The cookie is HttpOnly and SameSite=Strict, and over TLS Secure with the __Host- prefix
// (RFC 6265bis section 4.1.3.2: Secure, Path=/, no Domain, so no sibling host can set it).
// State changes carry a CSRF token, HMAC-SHA256 of the session token under a server secret
// (OWASP CSRF cheat sheet, "signed double-submit" bound to the session), and must come with
// an Origin header naming this origin.

import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import { getCookie } from 'hono/cookie';
import { createApiToken, ENV_SESSION_PARENT, revokeApiToken, SESSION_NAME_PREFIX, type Principal, type Scope } from '../auth/api-tokens.ts';
import type { ServiceContext } from '../context.ts';
import type { AppEnv } from '../http.ts';

export interface Session {
  /** The session's own API token (tsr_...), the Bearer of every API call the console makes. */
  token: string;
  /** The session token's id. */
  id: string;
  scope: Scope;
  /** `token:<parent id>` or `env:TESSERA_ADMIN_TOKEN`: who signed in. */
  parent: string;
  expiresAt: number;
}

const TOKEN_ID_RE = /^tsr_([0-9a-f]{16})_/;

/** Whether this request reached us over TLS (directly, or through a trusted proxy that says so). */
export function overTls(ctx: ServiceContext, c: Context<AppEnv>): boolean {
  if (new URL(c.req.url).protocol === 'https:') return true;
  return ctx.config.trustProxy && c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase() === 'https';
}

export function cookieName(tls: boolean): string {
  return tls ? '__Host-tessera_console' : 'tessera_console';
}

/** The Set-Cookie value of a session (or, with maxAge 0, of its removal). */
export function sessionCookie(tls: boolean, value: string, maxAgeSeconds: number): string {
  return [`${cookieName(tls)}=${value}`, 'Path=/', 'HttpOnly', 'SameSite=Strict', `Max-Age=${Math.max(0, Math.floor(maxAgeSeconds))}`, ...(tls ? ['Secure'] : [])].join('; ');
}

/** The CSRF token of a session: bound to it, so a token seen for one session is worth nothing for another. */
export function csrfToken(ctx: ServiceContext, sessionToken: string): string {
  return createHmac('sha256', ctx.consoleKey).update(`tessera-console-csrf-v1\0${sessionToken}`, 'utf8').digest('base64url');
}

export function csrfValid(ctx: ServiceContext, sessionToken: string, presented: unknown): boolean {
  if (typeof presented !== 'string' || presented.length > 128) return false;
  const expected = Buffer.from(csrfToken(ctx, sessionToken));
  const given = Buffer.from(presented);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/**
 * The Origin check of a state change (OWASP: verify the source origin): the header must name
 * this very origin. `null` (an opaque origin: a sandboxed frame, a redirect across origins,
 * or a Referrer-Policy of no-referrer on some browsers) and an absent header are refused.
 */
export function originValid(ctx: ServiceContext, c: Context<AppEnv>): boolean {
  const origin = c.req.header('origin');
  const host = c.req.header('host');
  if (!origin || !host) return false;
  return origin === `${overTls(ctx, c) ? 'https' : 'http'}://${host}`;
}

/**
 * Exchange the API token `principal` authenticated with for a session of the same scope
 * (POST /v1/sessions). A session token cannot open another session: that would outlive the
 * sign-in it came from. Audited as console.sign-in in the token's creating transaction.
 */
export async function openSession(ctx: ServiceContext, principal: Principal, clientAddress: string | null, now: number = Date.now()): Promise<Session | 'session_token'> {
  let parentId: string;
  let parentExpiresAt: number | null = null;
  if (principal.actor.startsWith('token:')) {
    parentId = principal.actor.slice('token:'.length);
    const row = await ctx.store.apiTokens.get(parentId);
    if (!row || row.name.startsWith(SESSION_NAME_PREFIX)) return 'session_token';
    parentExpiresAt = row.expiresAt;
  } else {
    parentId = ENV_SESSION_PARENT;
  }
  const lifetime = ctx.config.console.sessionMinutes * 60_000;
  const expiresAt = parentExpiresAt === null ? now + lifetime : Math.min(now + lifetime, parentExpiresAt);
  const created = await createApiToken(
    ctx.store.apiTokens,
    { name: `${SESSION_NAME_PREFIX}${parentId}`, scope: principal.scope, expiresAt },
    (info) => ({
      action: 'console.sign-in',
      outcome: 'success',
      actor: principal.actor,
      subject: info.id,
      clientAddress,
      details: { session: info.id, scope: info.scope, expiresAt: info.expiresAt },
    }),
    now,
  );
  return { token: created.token, id: created.info.id, scope: principal.scope, parent: principal.actor, expiresAt };
}

/**
 * The session named by the request's cookie, if it is a live console session: a stored
 * token named console:..., unrevoked, unexpired, its parent alive (TokenVerifier.verify).
 * A plain API token in the cookie is not a session and is refused.
 */
export async function currentSession(ctx: ServiceContext, c: Context<AppEnv>, now: number = Date.now()): Promise<Session | undefined> {
  const token = getCookie(c, cookieName(overTls(ctx, c)));
  const id = token ? TOKEN_ID_RE.exec(token)?.[1] : undefined;
  if (!token || !id) return undefined;
  const principal = await ctx.apiTokens.verify(token, now);
  if (typeof principal === 'string') return undefined;
  const row = await ctx.store.apiTokens.get(id);
  if (!row || !row.name.startsWith(SESSION_NAME_PREFIX) || row.expiresAt === null) return undefined;
  const parentId = row.name.slice(SESSION_NAME_PREFIX.length);
  return { token, id, scope: principal.scope, parent: parentId === ENV_SESSION_PARENT ? 'env:TESSERA_ADMIN_TOKEN' : `token:${parentId}`, expiresAt: row.expiresAt };
}

/**
 * Sign out (DELETE /v1/sessions/current): the session's token is revoked in the store,
 * audited, so its cookie is worthless on every replica from the next request on. Returns
 * false when `principal` is not a console session.
 */
export async function closeSession(ctx: ServiceContext, principal: Principal, clientAddress: string | null): Promise<{ id: string } | undefined> {
  const id = principal.actor.startsWith('token:') ? principal.actor.slice('token:'.length) : undefined;
  const row = id ? await ctx.store.apiTokens.get(id) : undefined;
  if (!id || !row || !row.name.startsWith(SESSION_NAME_PREFIX)) return undefined;
  await revokeApiToken(ctx.store.apiTokens, id, () => ({
    action: 'console.sign-out',
    outcome: 'success',
    actor: principal.actor,
    subject: id,
    clientAddress,
    details: { session: id, parent: row.name.slice(SESSION_NAME_PREFIX.length) },
  }));
  return { id };
}
