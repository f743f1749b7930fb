// What every router shares: the Hono environment, the validation hook that turns a schema
// failure into a precise problem, authentication by scope, and per-address rate limits.

import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { scopeAllows, type Principal, type Scope } from './auth/api-tokens.ts';
import type { ServiceContext } from './context.ts';
import { ApiError, problemResponse } from './problem.ts';

export interface AppEnv {
  Variables: {
    requestId: string;
    clientAddress: string | null;
    principal: Principal;
  };
}

interface ZodLikeIssue {
  path: PropertyKey[];
  message: string;
  code?: string;
}

/** A stable code for the first schema issue: the fields with their own codes get them. */
function codeForIssues(issues: ZodLikeIssue[]): string {
  const first = issues[0];
  const top = first?.path[0];
  if (top === 'tee') return 'tee_unknown';
  if (top === 'teePublicKey') return 'tee_public_key_invalid';
  if (top === 'evidence') return 'evidence_invalid';
  return 'request_invalid';
}

export function newRouter(): OpenAPIHono<AppEnv> {
  return new OpenAPIHono<AppEnv>({
    defaultHook: (result, c) => {
      if (result.success) return;
      const issues = (result.error as { issues: ZodLikeIssue[] }).issues.map((i) => ({ path: i.path.map(String).join('.'), message: i.message }));
      const target = (result as { target?: string }).target;
      const where = target === 'query' ? 'query parameter' : target === 'param' ? 'path parameter' : 'field';
      const detail = issues.map((i) => `${i.path ? `${where} ${i.path}` : 'body'}: ${i.message}`).join('; ');
      return problemResponse(c, 400, codeForIssues((result.error as { issues: ZodLikeIssue[] }).issues), detail, { issues });
    },
  });
}

const BEARER_RE = /^Bearer\s+(\S+)$/i;

/**
 * Require an API token with `scope`. Every refusal is audited (who tried, from where, on
 * what, why), up to `rateLimit.authFailures` per address and window; the token itself never
 * is.
 */
export function requireScope(ctx: ServiceContext, scope: Scope): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const header = c.req.header('authorization');
    const presented = header ? BEARER_RE.exec(header)?.[1] : undefined;
    const verdict = header && !presented ? 'malformed' : await ctx.apiTokens.verify(presented);
    const refuse = async (status: 401 | 403, code: string, reason: string, actor: string) => {
      const address = c.get('clientAddress');
      const limit = ctx.config.rateLimit.authFailures;
      const counted = await ctx.store.rateLimits.take('auth-failure', address ?? 'unknown', limit, ctx.config.rateLimit.windowSeconds * 1000, Date.now());
      const audit = (details: Record<string, unknown>) =>
        ctx.store.audit.append([{ action: 'auth.failure', outcome: 'failure', actor, subject: `${c.req.method} ${c.req.path}`, clientAddress: address, details }]);
      if (!counted.allowed) {
        // Past the limit only the first refusal of the window is recorded, saying so: the
        // log keeps the fact without letting an anonymous client grow it at will.
        if (counted.firstRefusal) await audit({ reason, requiredScope: scope, rateLimited: `more than ${limit} refused authentications from this address in ${ctx.config.rateLimit.windowSeconds} s; further ones in this window are refused with 429 and not audited` });
        const res = problemResponse(c, 429, 'rate_limited', `Too many refused authentications from this address: at most ${limit} per ${ctx.config.rateLimit.windowSeconds} s. Retry in ${counted.resetSeconds} s.`);
        res.headers.set('retry-after', String(counted.resetSeconds));
        return res;
      }
      await audit({ reason, requiredScope: scope });
      const res = problemResponse(c, status, code, status === 401 ? `This endpoint needs an API token with scope ${scope} (Authorization: Bearer <token>): ${reason}.` : reason);
      if (status === 401) res.headers.set('www-authenticate', 'Bearer realm="tessera"');
      return res;
    };
    if (typeof verdict === 'string') {
      const reasons = {
        missing: 'no token was presented',
        malformed: 'the credential is not a tessera API token',
        unknown: 'the token is not valid',
        revoked: 'the token was revoked',
        expired: 'the token has expired',
      };
      const codes = { revoked: 'token_revoked', expired: 'token_expired' } as Partial<Record<typeof verdict, string>>;
      return refuse(401, codes[verdict] ?? 'unauthenticated', reasons[verdict], 'anonymous');
    }
    if (!scopeAllows(verdict.scope, scope)) {
      return refuse(403, 'insufficient_scope', `This endpoint needs scope ${scope}; the token has scope ${verdict.scope}.`, verdict.actor);
    }
    c.set('principal', verdict);
    await next();
  };
}

/** Count the request against the address's limit for `bucket`; 429 with Retry-After when over. */
export function rateLimit(ctx: ServiceContext, bucket: 'challenge' | 'attest'): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limit = ctx.config.rateLimit[bucket];
    const d = await ctx.store.rateLimits.take(bucket, c.get('clientAddress') ?? 'unknown', limit, ctx.config.rateLimit.windowSeconds * 1000, Date.now());
    if (!d.allowed) {
      const res = problemResponse(c, 429, 'rate_limited', `Too many ${bucket} requests from this address: at most ${limit} per ${ctx.config.rateLimit.windowSeconds} s. Retry in ${d.resetSeconds} s.`);
      res.headers.set('retry-after', String(d.resetSeconds));
      return res;
    }
    await next();
  };
}

export function actorOf(c: Context<AppEnv>): string {
  return c.get('principal')?.actor ?? 'anonymous';
}

/** Read a positive integer query/path value or refuse it with a precise code. */
export function parseVersion(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^[1-9]\d{0,8}$/.test(text)) throw new ApiError(400, 'request_invalid', `version must be a positive integer, found ${JSON.stringify(text.slice(0, 20))}.`);
  return Number(text);
}
