// GET /.well-known/jwks.json (public) and POST /v1/keys/rotate (admin).

import { createRoute, z } from '@hono/zod-openapi';
import type { ServiceContext } from '../context.ts';
import { actorOf, newRouter, requireScope } from '../http.ts';
import { bearerSecurity, adminAuthResponses } from './schemas.ts';

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
  description:
    'The retired key stays in the JWKS until the tokens it signed have expired. With revokePrevious (a key feared compromised), it leaves the JWKS at once: every token it signed stops verifying, here (secret release) and at relying parties once their JWKS copy is refreshed (it is served with max-age=60).',
  security: bearerSecurity,
  request: {
    body: {
      required: false,
      content: {
        'application/json': {
          schema: z.strictObject({
            revokePrevious: z.boolean().optional().openapi({ description: 'Withdraw the retired key from the JWKS now instead of when its tokens expire' }),
          }),
        },
      },
    },
  },
  responses: {
    200: {
      description: 'Rotated',
      content: {
        'application/json': {
          schema: z.object({ kid: z.string(), retired: z.string().nullable(), retiredPublishedUntil: z.string().nullable(), revokedPrevious: z.boolean() }),
        },
      },
    },
    ...adminAuthResponses,
  },
});

/**
 * Rotate and audit: shared by the API and `tessera keys rotate`. `revokePrevious` withdraws
 * the retired key from the JWKS at once, so the tokens it signed stop verifying: the answer
 * to a key that may have leaked, where waiting out their lifetime would honour forgeries.
 */
export async function rotateSigningKey(ctx: Pick<ServiceContext, 'keys' | 'config'>, actor: string, clientAddress: string | null, revokePrevious = false) {
  const now = Date.now();
  // Otherwise the retired key stays published a minute past the longest token lifetime, for clock skew.
  const publishForMs = revokePrevious ? 0 : ctx.config.tokenTtlSeconds * 1000 + 60_000;
  // Audited in the rotation's own transaction.
  const { kid, retired } = await ctx.keys.rotate(
    publishForMs,
    (kid, retired) => ({ action: 'key.rotate', outcome: 'success', actor, subject: kid, clientAddress, details: { kid, retired, revokedPrevious: revokePrevious } }),
    now,
  );
  return { kid, retired, retiredPublishedUntil: retired ? new Date(now + publishForMs).toISOString() : null, revokedPrevious: revokePrevious };
}

export function keyRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.openapi(jwksRoute, async (c) => {
    const published = await ctx.keys.published();
    c.header('cache-control', 'public, max-age=60');
    return c.json({ keys: published.map((k) => k.jwk as z.infer<typeof jwkSchema>) }, 200);
  });
  r.use('/v1/keys/rotate', requireScope(ctx, 'admin'));
  r.openapi(rotateRoute, async (c) => {
    const body = c.req.valid('json') as { revokePrevious?: boolean } | undefined;
    return c.json(await rotateSigningKey(ctx, actorOf(c), c.get('clientAddress'), body?.revokePrevious === true), 200);
  });
  return r;
}
