// The Confidential Containers KBS protocol, version 0.4.0, under /kbs/v0 (trustee
// kbs/src/api_server.rs): POST auth, POST attest, GET resource/<repository>/<type>/<tag>.
// Mounted only when kbs.enabled (server/config.ts kbsEnabled). The logic is in server/kbs/;
// here are the HTTP edges: bodies, cookies, and every refusal in the KBS error shape.

import type { Context, MiddlewareHandler } from 'hono';
import type { ServiceContext } from '../context.ts';
import { newRouter, type AppEnv } from '../http.ts';
import { readAuthRequest } from '../kbs/auth.ts';
import { kbsAttest, refusalCode } from '../kbs/attest.ts';
import { kbsResource, resourceSecretName } from '../kbs/resource.ts';
import { attestFailed, authFailed, KbsError, kbsErrorResponse } from '../kbs/errors.ts';
import { KBS_PREFIX, newNonce, newSessionId, sessionKey, sessionOf, setSessionCookie } from '../kbs/session.ts';
import { KBS_TEES, isKbsTee } from '../kbs/tees.ts';

/** The body as JSON; `fail` builds the refusal of a body that is not JSON. */
async function jsonBody(c: Context, fail: (why: string) => KbsError): Promise<unknown> {
  const text = await c.req.text();
  try {
    return JSON.parse(text);
  } catch {
    throw fail('the body is not valid JSON');
  }
}

/** The shared per-address limits of /v1 (same buckets), answered in the KBS shape. */
function kbsRateLimit(ctx: ServiceContext, bucket: 'challenge' | 'attest'): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const limit = ctx.config.rateLimit[bucket];
    const d = await ctx.store.rateLimits.take(bucket, c.get('clientAddress') ?? 'unknown', limit, ctx.config.rateLimit.windowSeconds * 1000, Date.now());
    if (!d.allowed) {
      const res = kbsErrorResponse(c, 429, 'AttestationError', 'rate_limited', `Too many requests from this address: at most ${limit} per ${ctx.config.rateLimit.windowSeconds} s. Retry in ${d.resetSeconds} s.`);
      res.headers.set('retry-after', String(d.resetSeconds));
      return res;
    }
    await next();
  };
}

export function kbsRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.use(`${KBS_PREFIX}/auth`, kbsRateLimit(ctx, 'challenge'));
  r.use(`${KBS_PREFIX}/attest`, kbsRateLimit(ctx, 'attest'));
  r.use(`${KBS_PREFIX}/resource/*`, kbsRateLimit(ctx, 'attest'));

  r.post(`${KBS_PREFIX}/auth`, async (c) => {
    const now = Date.now();
    const clientAddress = c.get('clientAddress');
    let request;
    try {
      request = readAuthRequest(await jsonBody(c, (why) => authFailed('kbs_request_invalid', `deserialize Request: ${why}`)));
    } catch (err) {
      if (err instanceof KbsError) {
        await ctx.store.audit.append([{ action: 'kbs.auth', outcome: 'rejected', actor: 'anonymous', clientAddress, at: now, details: { code: err.code } }]);
      }
      throw err;
    }
    const id = newSessionId();
    const key = sessionKey(id);
    const nonce = newNonce();
    const expiresAt = now + ctx.config.kbs.sessionTtlSeconds * 1000;
    await ctx.store.kbsSessions.create({ id: key, nonce, tee: request.tee, state: 'auth', hashAlg: request.hash, teePubkey: null, token: null, attestationId: null, createdAt: now, expiresAt });
    await ctx.store.audit.append([
      { action: 'kbs.auth', outcome: 'issued', actor: 'anonymous', subject: key.slice(0, 16), tee: request.tee, clientAddress, at: now, details: { hashAlg: request.hash, expiresAt } },
    ]);
    setSessionCookie(c, id, expiresAt);
    c.header('cache-control', 'no-store');
    return c.json({ nonce, 'extra-params': request.extraParams }, 200);
  });

  r.post(`${KBS_PREFIX}/attest`, async (c) => {
    const started = performance.now();
    let outcomeLabel = 'error';
    const now = Date.now();
    const clientAddress = c.get('clientAddress');
    const found = await sessionOf(c, ctx.store.kbsSessions, now);
    const key = found ? sessionKey(found.id) : null;
    const tee = found && isKbsTee(found.row.tee) ? KBS_TEES[found.row.tee] : null;
    try {
      // trustee: "cookie not found" / "session not found" / "session expired." (all 401)
      if (!found) throw attestFailed('kbs_session_unknown', 'no unexpired KBS session: send the kbs-session-id cookie that /auth set (sessions last a few minutes)');
      const body = await jsonBody(c, (why) => attestFailed('kbs_request_invalid', `deserialize Attestation: ${why}`));
      const { outcome, teeKey } = await kbsAttest(ctx, { key: key!, session: found.row, body, clientAddress }, now);
      outcomeLabel = outcome.status;
      if (!outcome.issued) {
        const { failedChecks, failedRules } = outcome.denial;
        const why = [...failedChecks.map((f) => f.id), ...failedRules.map((f) => f.id)].join(', ');
        return kbsErrorResponse(c, 401, 'AttestationError', 'attestation_denied', `Attestation error: RCAR handshake Attest failed: verify TEE evidence failed: the evidence was not accepted (attestation ${outcome.attestationId}; failed: ${why})`);
      }
      const marked = await ctx.store.kbsSessions.markAttested(key!, { teePubkey: JSON.stringify(teeKey), token: outcome.token, attestationId: outcome.attestationId, expiresAt: found.row.expiresAt }, now);
      if (!marked) throw attestFailed('kbs_session_expired', 'session expired.');
      setSessionCookie(c, found.id, found.row.expiresAt);
      c.header('cache-control', 'no-store');
      return c.json({ token: outcome.token }, 200);
    } catch (err) {
      const code = refusalCode(err);
      if (code !== undefined) {
        outcomeLabel = 'rejected';
        await ctx.store.audit.append([{ action: 'kbs.attest', outcome: 'rejected', actor: 'anonymous', subject: key?.slice(0, 16) ?? null, tee, clientAddress, at: now, details: { code } }]);
      }
      throw err;
    } finally {
      // The same histogram as /v1/attest, so a dashboard sees every attestation.
      if (tee) ctx.metrics.attestationSeconds.observe({ tee, outcome: outcomeLabel }, (performance.now() - started) / 1000);
    }
  });

  r.get(`${KBS_PREFIX}/resource/:repository/:type/:tag`, async (c) => {
    const now = Date.now();
    const { repository, type, tag } = c.req.param();
    const name = resourceSecretName(repository, type, tag);
    if (name === undefined) {
      return kbsErrorResponse(c, 404, 'InvalidRequestPath', 'kbs_resource_path_invalid', `Request path resource/${repository.slice(0, 64)}/${type.slice(0, 64)}/${tag.slice(0, 64)} is invalid: repository and type are letters, digits, _ and -, the tag may also hold dots (it names the secret <repository>.<type>.<tag>)`);
    }
    // The attested session's token first, then a bearer token (trustee api_server.rs get_attestation_token).
    const found = await sessionOf(c, ctx.store.kbsSessions, now);
    const bearer = /^Bearer\s+(\S+)$/i.exec(c.req.header('authorization') ?? '')?.[1];
    const token = (found?.row.state === 'attested' ? found.row.token ?? undefined : undefined) ?? bearer;
    const jwe = await kbsResource(ctx, { name, token, clientAddress: c.get('clientAddress'), now });
    return c.body(jwe, 200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  });

  r.get(`${KBS_PREFIX}/resource/*`, (c) =>
    kbsErrorResponse(c, 404, 'InvalidRequestPath', 'kbs_resource_path_invalid', 'A resource path is resource/<repository>/<type>/<tag>: three segments.'),
  );

  // Trustee's admin endpoints (attestation-policy, resource-policy, reference-value) and its
  // plugins are not served: tessera has its own admin API (/v1/policies, /v1/secrets).
  r.all(`${KBS_PREFIX}/*`, (c) => {
    const plugin = c.req.path.slice(KBS_PREFIX.length + 1).split('/')[0] ?? '';
    return kbsErrorResponse(c, 404, 'PluginNotFound', 'kbs_not_served', `Plugin ${plugin.slice(0, 64)} not found: this server serves auth, attest and resource only (its admin API is /v1).`);
  });
  return r;
}
