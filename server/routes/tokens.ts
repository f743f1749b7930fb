// API tokens over HTTP (scope admin): create (the token is in this one response only),
// list, revoke. Each change is audited; tokens themselves never are.

import { createRoute, z } from '@hono/zod-openapi';
import { createApiToken, listApiTokens, MAX_TOKEN_DAYS, revokeApiToken, SCOPES, SESSION_NAME_PREFIX } from '../auth/api-tokens.ts';
import type { ServiceContext } from '../context.ts';
import { actorOf, newRouter, requireScope } from '../http.ts';
import { ApiError } from '../problem.ts';
import { bearerSecurity, problem, adminAuthResponses } from './schemas.ts';

const infoSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scope: z.enum(SCOPES as ['admin', 'auditor']),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
    expiresAt: z.string().nullable().openapi({ description: 'Refused from this time on; null: until revoked' }),
  })
  .openapi('ApiTokenInfo');

const createRouteDef = createRoute({
  method: 'post',
  path: '/v1/tokens',
  tags: ['tokens'],
  summary: 'Create an API token (shown once)',
  security: bearerSecurity,
  request: {
    body: {
      required: true,
      content: {
        'application/json': {
          schema: z
            .strictObject({
              name: z.string().min(1).max(128),
              scope: z.enum(SCOPES as ['admin', 'auditor']),
              expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).optional().openapi({ description: 'Refuse the token this many days from now; absent: until revoked' }),
            })
            .openapi('CreateTokenRequest'),
        },
      },
    },
  },
  responses: {
    201: { description: 'Created; `token` is not retrievable later', content: { 'application/json': { schema: infoSchema.extend({ token: z.string() }) } } },
    400: problem('Bad request'),
    ...adminAuthResponses,
  },
});

const listRoute = createRoute({
  method: 'get',
  path: '/v1/tokens',
  tags: ['tokens'],
  summary: 'List API tokens (never their secrets)',
  security: bearerSecurity,
  responses: {
    200: { description: 'Tokens', content: { 'application/json': { schema: z.object({ tokens: z.array(infoSchema) }) } } },
    ...adminAuthResponses,
  },
});

const revokeRoute = createRoute({
  method: 'delete',
  path: '/v1/tokens/{id}',
  tags: ['tokens'],
  summary: 'Revoke an API token',
  security: bearerSecurity,
  request: { params: z.object({ id: z.string().regex(/^[0-9a-f]{16}$/, 'expected a token id (16 hex digits)').openapi({ param: { name: 'id', in: 'path' } }) }) },
  responses: {
    200: { description: 'Revoked', content: { 'application/json': { schema: infoSchema } } },
    ...adminAuthResponses,
    404: problem('No such token'),
  },
});

export function tokenRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.use('/v1/tokens', requireScope(ctx, 'admin'));
  r.use('/v1/tokens/*', requireScope(ctx, 'admin'));
  r.openapi(createRouteDef, async (c) => {
    const { name, scope, expiresInDays } = c.req.valid('json');
    // Console sessions are made by signing in, bound to their parent (server/console/session.ts).
    if (name.startsWith(SESSION_NAME_PREFIX)) throw new ApiError(400, 'token_name_reserved', `Token names starting with ${SESSION_NAME_PREFIX} are reserved for console sessions.`);
    const actor = actorOf(c);
    const created = await createApiToken(ctx.store.apiTokens, { name, scope, expiresInDays }, (info) => ({
      action: 'token.create',
      outcome: 'success',
      actor,
      subject: info.id,
      clientAddress: c.get('clientAddress'),
      details: { name, scope, expiresAt: info.expiresAt },
    }));
    return c.json({ ...created.info, token: created.token }, 201);
  });
  r.openapi(listRoute, async (c) => c.json({ tokens: await listApiTokens(ctx.store.apiTokens) }, 200));
  r.openapi(revokeRoute, async (c) => {
    const { id } = c.req.valid('param');
    const actor = actorOf(c);
    const info = await revokeApiToken(ctx.store.apiTokens, id, (i) => ({ action: 'token.revoke', outcome: 'success', actor, subject: id, clientAddress: c.get('clientAddress'), details: { name: i.name } }));
    if (!info) throw new ApiError(404, 'token_not_found', `There is no API token with id ${id}.`);
    const { changed: _changed, ...rest } = info;
    return c.json(rest, 200);
  });
  return r;
}
