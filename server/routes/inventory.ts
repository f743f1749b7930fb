// What the service holds besides decisions, as metadata for operators (scope auditor): the
// result-signing keys (ages, never private parts) and the cached vendor collateral
// (freshness, never trust: every use re-verifies a document).

import { createRoute, z } from '@hono/zod-openapi';
import type { ServiceContext } from '../context.ts';
import { newRouter, requireScope } from '../http.ts';
import { auditorAuthResponses, bearerSecurity } from './schemas.ts';

const keysRoute = createRoute({
  method: 'get',
  path: '/v1/keys',
  tags: ['keys'],
  summary: 'Every result-signing key ever made (public metadata), newest first',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'Keys',
      content: {
        'application/json': {
          schema: z.object({
            keys: z.array(
              z.object({
                kid: z.string(),
                createdAt: z.string(),
                retiredAt: z.string().nullable(),
                publishedUntil: z.string().nullable(),
                active: z.boolean(),
                published: z.boolean().openapi({ description: 'In /.well-known/jwks.json now' }),
              }),
            ),
          }),
        },
      },
    },
    ...auditorAuthResponses,
  },
});

const collateralRoute = createRoute({
  method: 'get',
  path: '/v1/collateral',
  tags: ['collateral'],
  summary: 'The cached vendor collateral documents (metadata): how fresh each one is',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'Documents, in key order',
      content: {
        'application/json': {
          schema: z.object({
            documents: z.array(
              z.object({
                key: z.string(),
                kind: z.string(),
                source: z.string(),
                fetchedAt: z.string(),
                nextUpdate: z.string().nullable(),
                immutable: z.boolean(),
                size: z.number().int(),
                stale: z.boolean().openapi({ description: 'Past its nextUpdate: the vendor published a newer one that could not be had (an outage, or offline mode)' }),
              }),
            ),
            maxStalenessHours: z.number(),
          }),
        },
      },
    },
    ...auditorAuthResponses,
  },
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export function inventoryRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.on(['GET'], ['/v1/keys', '/v1/collateral'], requireScope(ctx, 'auditor'));
  r.openapi(keysRoute, async (c) => {
    const now = Date.now();
    const all = await ctx.store.signingKeys.all();
    const activeKid = all.find((k) => k.retiredAt === null)?.kid;
    return c.json(
      {
        keys: all.map((k) => ({
          kid: k.kid,
          createdAt: new Date(k.createdAt).toISOString(),
          retiredAt: iso(k.retiredAt),
          publishedUntil: iso(k.publishUntil),
          active: k.kid === activeKid,
          published: k.retiredAt === null || (k.publishUntil !== null && k.publishUntil > now),
        })),
      },
      200,
    );
  });
  r.openapi(collateralRoute, async (c) => {
    const now = Date.now();
    const entries = await ctx.store.collateral.list();
    return c.json(
      {
        documents: entries.map((e) => ({
          key: e.key,
          kind: e.kind,
          source: e.source,
          fetchedAt: e.fetchedAt.toISOString(),
          nextUpdate: e.nextUpdate ? e.nextUpdate.toISOString() : null,
          immutable: e.immutable,
          size: e.bytes.byteLength,
          stale: !e.immutable && e.nextUpdate !== undefined && e.nextUpdate.getTime() < now,
        })),
        maxStalenessHours: ctx.config.collateral.maxStalenessHours,
      },
      200,
    );
  });
  return r;
}
