// API tokens for operators: `tsr_<id>_<secret>`, 32 random bytes of secret. Shown once at
// creation; only SHA-256(token) is stored, so a copy of the database grants nothing. The id
// is public (it names the token in lists and audit entries); the check looks the row up by
// id and compares the hashes in constant time. A token may carry an expiry; without one it
// lasts until revoked.

import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { desc, eq, isNull, and } from 'drizzle-orm';
import type { Db } from '../storage/db.ts';
import { apiTokens } from '../storage/schema/api-tokens.ts';

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

function toInfo(row: typeof apiTokens.$inferSelect): TokenInfo {
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

/**
 * Create a token, refused from `expiresInDays` days on when given; the returned `token` is
 * the only time its secret exists outside the caller.
 */
export function createApiToken(db: Db, name: string, scope: Scope, now: number = Date.now(), expiresInDays?: number): { token: string; info: TokenInfo } {
  const id = randomBytes(8).toString('hex');
  const token = `tsr_${id}_${randomBytes(32).toString('base64url')}`;
  const expiresAt = expiresInDays === undefined ? null : now + expiresInDays * 86_400_000;
  const row = { id, name, scope, hash: sha256(token).toString('hex'), createdAt: now, revokedAt: null, expiresAt };
  db.insert(apiTokens).values(row).run();
  return { token, info: toInfo(row) };
}

export function listApiTokens(db: Db): TokenInfo[] {
  return db.select().from(apiTokens).orderBy(desc(apiTokens.createdAt)).all().map(toInfo);
}

/**
 * Revoke by id. Returns the token's info and whether this call revoked it (false when it
 * already was), or undefined when there is no such token.
 */
export function revokeApiToken(db: Db, id: string, now: number = Date.now()): (TokenInfo & { changed: boolean }) | undefined {
  const { changes } = db
    .update(apiTokens)
    .set({ revokedAt: now })
    .where(and(eq(apiTokens.id, id), isNull(apiTokens.revokedAt)))
    .run();
  const row = db.select().from(apiTokens).where(eq(apiTokens.id, id)).get();
  return row ? { ...toInfo(row), changed: changes === 1 } : undefined;
}

export type AuthFailure = 'missing' | 'malformed' | 'unknown' | 'revoked' | 'expired';

export class TokenVerifier {
  private readonly envAdminHash: Buffer | undefined;

  /** `envAdminToken`: TESSERA_ADMIN_TOKEN, an admin credential that lives only in the environment. */
  constructor(
    private readonly db: Db,
    envAdminToken?: string,
  ) {
    this.envAdminHash = envAdminToken ? sha256(envAdminToken) : undefined;
  }

  verify(presented: string | undefined, now: number = Date.now()): Principal | AuthFailure {
    if (!presented) return 'missing';
    const presentedHash = sha256(presented);
    if (this.envAdminHash && timingSafeEqual(presentedHash, this.envAdminHash)) return { actor: 'env:TESSERA_ADMIN_TOKEN', scope: 'admin' };
    const m = TOKEN_RE.exec(presented);
    if (!m) return 'malformed';
    const row = this.db.select().from(apiTokens).where(eq(apiTokens.id, m[1]!)).get();
    if (!row) return 'unknown';
    if (!timingSafeEqual(presentedHash, Buffer.from(row.hash, 'hex'))) return 'unknown';
    // Only a holder of the whole token learns it was revoked or has expired.
    if (row.revokedAt !== null) return 'revoked';
    if (row.expiresAt !== null && now >= row.expiresAt) return 'expired';
    return { actor: `token:${row.id}`, scope: row.scope as Scope };
  }
}

/** Admin may do everything an auditor may. */
export function scopeAllows(have: Scope, need: Scope): boolean {
  return have === 'admin' || have === need;
}
