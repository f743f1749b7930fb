// Operations: liveness, readiness (the database answers and shutdown has not begun), and
// Prometheus metrics. Unauthenticated, like most scrape targets: they reveal no secret.

import { createRoute, z } from '@hono/zod-openapi';
import type { ServiceContext } from '../context.ts';
import { newRouter } from '../http.ts';
import { problemResponse } from '../problem.ts';
import { NotDurableError } from '../storage/store.ts';
import { problem } from './schemas.ts';

const status = z.object({ status: z.string() }).openapi('Status');

const healthRoute = createRoute({
  method: 'get',
  path: '/healthz',
  tags: ['operations'],
  summary: 'Liveness',
  responses: { 200: { description: 'The process serves requests', content: { 'application/json': { schema: status } } } },
});
const readyRoute = createRoute({
  method: 'get',
  path: '/readyz',
  tags: ['operations'],
  summary: 'Readiness: the database answers',
  responses: { 200: { description: 'Ready', content: { 'application/json': { schema: status } } }, 503: problem('Not ready: shutting_down, or database_unavailable (the database does not answer, or a WAL sync failed)') },
});
const metricsRoute = createRoute({
  method: 'get',
  path: '/metrics',
  tags: ['operations'],
  summary: 'Prometheus metrics',
  responses: { 200: { description: 'Prometheus text exposition format', content: { 'text/plain': { schema: z.string() } } } },
});

export function opsRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.openapi(healthRoute, (c) => c.json({ status: 'ok' }, 200));
  r.openapi(readyRoute, async (c) => {
    if (ctx.draining) return problemResponse(c, 503, 'shutting_down', 'The server is shutting down.') as never;
    try {
      await ctx.store.ping();
    } catch (err) {
      if (err instanceof NotDurableError) {
        return problemResponse(c, 503, 'database_unavailable', 'A write could not be made durable (a sync failed); attestations are refused until the service restarts.') as never;
      }
      return problemResponse(c, 503, 'database_unavailable', 'The database does not answer.') as never;
    }
    return c.json({ status: 'ready' }, 200);
  });
  r.openapi(metricsRoute, async (c) => c.text(await ctx.metrics.registry.metrics(), 200, { 'content-type': ctx.metrics.registry.contentType }));
  return r;
}
