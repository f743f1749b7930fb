// GET /.well-known/jwks.json (public) and POST /v1/keys/rotate (admin).

import { createRoute, z } from '@hono/zod-openapi';
import { appendAudit } from '../audit/log.ts';
import type { ServiceContext } from '../context.ts';
import { actorOf, newRouter, requireScope } from '../http.ts';
import { bearerSecurity, problem } from './schemas.ts';

const jwkSchema = z.object({ kty: z.string(), crv: z.string(), x: z.string(), y: z.string(), kid: z.string(), alg: z.string(), use: z.string() }).openapi('Jwk');

const jwksRoute = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  tags: ['keys'],
  summary: 'Result-signing public keys',
  description: 'The active key and retired keys whose tokens may still be valid.',
  responses: { 200: { description: 'JWK Set (RFC 7517)', content: { 'application/json': { schema: z.object({ keys: z.array(jwkSchema) }).openapi('Jwks') } } } },
});

const rotateRoute = createRoute({
  method: 'post',
  path: '/v1/keys/rotate',
  tags: ['keys'],
  summary: 'Rotate the result-signing key',
  description: 'The retired key stays in the JWKS until the tokens it signed have expired.',
  security: bearerSecurity,
  responses: {
    200: { description: 'Rotated', content: { 'application/json': { schema: z.object({ kid: z.string(), retired: z.string().nullable(), retiredPublishedUntil: z.string().nullable() }) } } },
    401: problem('No valid token'),
    403: problem('Token lacks scope admin'),
  },
});

/** Rotate and audit: shared by the API and `tessera keys rotate`. */
export async function rotateSigningKey(ctx: Pick<ServiceContext, 'db' | 'keys' | 'config'>, actor: string, clientAddress: string | null) {
  const now = Date.now();
  // Keep the retired key published a minute past the longest token lifetime, for clock skew.
  const publishForMs = ctx.config.tokenTtlSeconds * 1000 + 60_000;
  const { kid, retired } = await ctx.keys.rotate(publishForMs, now);
  appendAudit(ctx.db, { action: 'key.rotate', outcome: 'success', actor, subject: kid, clientAddress, details: { kid, retired } });
  return { kid, retired, retiredPublishedUntil: retired ? new Date(now + publishForMs).toISOString() : null };
}

export function keyRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.openapi(jwksRoute, (c) => {
    c.header('cache-control', 'public, max-age=60');
    return c.json({ keys: ctx.keys.published().map((k) => k.jwk as z.infer<typeof jwkSchema>) }, 200);
  });
  r.use('/v1/keys/rotate', requireScope(ctx, 'admin'));
  r.openapi(rotateRoute, async (c) => c.json(await rotateSigningKey(ctx, actorOf(c), c.get('clientAddress')), 200));
  return r;
}
