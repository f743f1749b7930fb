// API tokens for operators: `tsr_<id>_<secret>`, 32 random bytes of secret. Shown once at
// creation; only SHA-256(token) is stored, so a copy of the database grants nothing. The id
// is public (it names the token in lists and audit entries); the check looks the row up by
// id and compares the hashes in constant time. A token may carry an expiry; without one it
// lasts until revoked.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { ApiTokenRow, ApiTokenStorage, AuditInput } from '../storage/store.ts';

export type Scope = 'admin' | 'auditor';
export const SCOPES: readonly Scope[] = ['admin', 'auditor'];

export interface TokenInfo {
  id: string;
  name: string;
  scope: Scope;
  createdAt: string;
  revokedAt: string | null;
  expiresAt: string | null;
}

export interface Principal {
  /** `token:<id>` or `env:TESSERA_ADMIN_TOKEN`, for the audit log. */
  actor: string;
  scope: Scope;
}

const TOKEN_RE = /^tsr_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$/;

const sha256 = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

function toInfo(row: ApiTokenRow): TokenInfo {
  return {
    id: row.id,
    name: row.name,
    scope: row.scope as Scope,
    createdAt: new Date(row.createdAt).toISOString(),
    revokedAt: row.revokedAt === null ? null : new Date(row.revokedAt).toISOString(),
    expiresAt: row.expiresAt === null ? null : new Date(row.expiresAt).toISOString(),
  };
}

/** The longest lifetime a token may be given, days (about ten years). */
export const MAX_TOKEN_DAYS = 3650;

interface NewToken {
  name: string;
  scope: Scope;
  /** Refused from this many days on; absent: until revoked. */
  expiresInDays?: number | undefined;
  /** Refused from this instant (ms) on; wins over expiresInDays (console sessions). */
  expiresAt?: number | undefined;
}

/**
 * Names of the operator console's sessions (server/console/session.ts): `console:<parent
 * token id>`, or `console:env` for a session opened with TESSERA_ADMIN_TOKEN. A session holds
 * only while its parent token does (TokenVerifier.verify).
 */
export const SESSION_NAME_PREFIX = 'console:';
export const ENV_SESSION_PARENT = 'env';

function newToken(input: NewToken, now: number): { token: string; row: ApiTokenRow } {
  const id = randomBytes(8).toString('hex');
  const token = `tsr_${id}_${randomBytes(32).toString('base64url')}`;
  const expiresAt = input.expiresAt ?? (input.expiresInDays === undefined ? null : now + input.expiresInDays * 86_400_000);
  return { token, row: { id, name: input.name, scope: input.scope, hash: sha256(token).toString('hex'), createdAt: now, revokedAt: null, expiresAt } };
}

/**
 * Create a token and its audit entry (`audit(info)`) in one transaction; the returned
 * `token` is the only time its secret exists outside the caller.
 */
export async function createApiToken(rows: ApiTokenStorage, input: NewToken, audit: (info: TokenInfo) => AuditInput, now: number = Date.now()): Promise<{ token: string; info: TokenInfo }> {
  const { token, row } = newToken(input, now);
  const info = toInfo(row);
  await rows.create(row, audit(info));
  return { token, info };
}

/** createApiToken() only when no token exists at all (the first start's admin token); undefined when one does. */
export async function createFirstApiToken(rows: ApiTokenStorage, input: NewToken, audit: (info: TokenInfo) => AuditInput, now: number = Date.now()): Promise<{ token: string; info: TokenInfo } | undefined> {
  const { token, row } = newToken(input, now);
  const info = toInfo(row);
  return (await rows.createFirst(row, audit(info))) ? { token, info } : undefined;
}

export async function listApiTokens(rows: ApiTokenStorage): Promise<TokenInfo[]> {
  return (await rows.list()).map(toInfo);
}

/**
 * Revoke by id, audited by `audit(info)` in the same transaction when this call revoked it.
 * Returns the token's info and whether this call revoked it (false when it already was), or
 * undefined when there is no such token.
 */
export async function revokeApiToken(rows: ApiTokenStorage, id: string, audit: (info: TokenInfo) => AuditInput, now: number = Date.now()): Promise<(TokenInfo & { changed: boolean }) | undefined> {
  const r = await rows.revoke(id, now, (row) => audit(toInfo(row)));
  if (r && !r.row.name.startsWith(SESSION_NAME_PREFIX)) {
    // Its console sessions are refused from now on anyway (TokenVerifier.verify reads the
    // parent); revoking their rows too keeps the token list and the audit log saying so.
    for (const session of await rows.list()) {
      if (session.name !== `${SESSION_NAME_PREFIX}${id}` || session.revokedAt !== null) continue;
      await rows.revoke(session.id, now, (row) => {
        const entry = audit(toInfo(row));
        return { ...entry, subject: row.id, details: { ...entry.details, name: row.name, reason: `its parent token ${id} was revoked` } };
      });
    }
  }
  return r ? { ...toInfo(r.row), changed: r.changed } : undefined;
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

export class TokenVerifier {
  private readonly envAdminHash: Buffer | undefined;

  /** `envAdminToken`: TESSERA_ADMIN_TOKEN, an admin credential that lives only in the environment. */
  constructor(
    private readonly rows: ApiTokenStorage,
    envAdminToken?: string,
  ) {
    this.envAdminHash = envAdminToken ? sha256(envAdminToken) : undefined;
  }

  async verify(presented: string | undefined, now: number = Date.now()): Promise<Principal | AuthFailure> {
    if (!presented) return 'missing';
    const presentedHash = sha256(presented);
    if (this.envAdminHash && timingSafeEqual(presentedHash, this.envAdminHash)) return { actor: 'env:TESSERA_ADMIN_TOKEN', scope: 'admin' };
    const m = TOKEN_RE.exec(presented);
    if (!m) return 'malformed';
    // Read on every request, never cached: a revocation on any replica holds from the next one.
    const row = await this.rows.get(m[1]!);
    if (!row) return 'unknown';
    if (!timingSafeEqual(presentedHash, Buffer.from(row.hash, 'hex'))) return 'unknown';
    // Only a holder of the whole token learns it was revoked or has expired.
    if (row.revokedAt !== null) return 'revoked';
    if (row.expiresAt !== null && now >= row.expiresAt) return 'expired';
    if (row.name.startsWith(SESSION_NAME_PREFIX)) {
      // A console session lives only as long as the token it was opened with: revoking the
      // parent ends every session opened with it, whoever revoked it and however (API, CLI).
      const parentId = row.name.slice(SESSION_NAME_PREFIX.length);
      if (parentId === ENV_SESSION_PARENT) {
        if (!this.envAdminHash) return 'revoked';
      } else {
        const parent = /^[0-9a-f]{16}$/.test(parentId) ? await this.rows.get(parentId) : undefined;
        if (!parent || parent.revokedAt !== null) return 'revoked';
        if (parent.expiresAt !== null && now >= parent.expiresAt) return 'expired';
      }
    }
    return { actor: `token:${row.id}`, scope: row.scope as Scope };
  }
}

/** Admin may do everything an auditor may. */
export function scopeAllows(have: Scope, need: Scope): boolean {
  return have === 'admin' || have === need;
}
