// Console sessions over HTTP (server/console/session.ts): exchange the bearer API token for a
// short-lived session token of the same scope, and end the bearer's own session. Behind the
// same requireScope as every route, so a refused sign-in is audited and rate-limited like
// any refused API call.

import { createRoute, z } from '@hono/zod-openapi';
import { SCOPES } from '../auth/api-tokens.ts';
import { closeSession, openSession } from '../console/session.ts';
import type { ServiceContext } from '../context.ts';
import { newRouter, requireScope } from '../http.ts';
import { ApiError } from '../problem.ts';
import { auditorAuthResponses, bearerSecurity, problem } from './schemas.ts';

const openRoute = createRoute({
  method: 'post',
  path: '/v1/sessions',
  tags: ['tokens'],
  summary: 'Open a console session: a stored API token of the bearer\'s scope, expiring after console.sessionMinutes or with the bearer',
  description: 'Named console:<parent id>; revoking the parent ends it. A session token cannot open another session.',
  security: bearerSecurity,
  responses: {
    201: {
      description: 'The session; `token` is shown this once',
      content: { 'application/json': { schema: z.object({ id: z.string(), token: z.string(), scope: z.enum(SCOPES as ['admin', 'auditor']), expiresAt: z.string() }).openapi('ConsoleSession') } },
    },
    400: problem('The bearer is itself a session (session_token)'),
    ...auditorAuthResponses,
  },
});

const closeRoute = createRoute({
  method: 'delete',
  path: '/v1/sessions/current',
  tags: ['tokens'],
  summary: 'End the bearer\'s console session (revokes its token)',
  security: bearerSecurity,
  responses: {
    200: { description: 'Revoked', content: { 'application/json': { schema: z.object({ id: z.string(), revoked: z.literal(true) }) } } },
    400: problem('The bearer is not a console session (not_a_session)'),
    ...auditorAuthResponses,
  },
});

export function sessionRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.use('/v1/sessions', requireScope(ctx, 'auditor'));
  r.use('/v1/sessions/*', requireScope(ctx, 'auditor'));
  r.openapi(openRoute, async (c) => {
    const s = await openSession(ctx, c.get('principal'), c.get('clientAddress'));
    if (s === 'session_token') throw new ApiError(400, 'session_token', 'A console session cannot open another session: sign in with an API token.');
    return c.json({ id: s.id, token: s.token, scope: s.scope, expiresAt: new Date(s.expiresAt).toISOString() }, 201);
  });
  r.openapi(closeRoute, async (c) => {
    const closed = await closeSession(ctx, c.get('principal'), c.get('clientAddress'));
    if (!closed) throw new ApiError(400, 'not_a_session', 'The bearer is an API token, not a console session: revoke API tokens with DELETE /v1/tokens/{id}.');
    return c.json({ id: closed.id, revoked: true as const }, 200);
  });
  return r;
}
