// The HTTP application: request ids and logs, metrics, the body limit, problem+json errors,
// and the routers, composed. Building it touches nothing: server/service.ts supplies the
// context and server/server.ts listens.

import { randomUUID } from 'node:crypto';
import { getConnInfo } from '@hono/node-server/conninfo';
import { bodyLimit } from './body-limit.ts';
import type { ServiceContext } from './context.ts';
import { newRouter } from './http.ts';
import { problemResponse, toProblem } from './problem.ts';
import { reportCorruption } from './audit/corruption.ts';
import { StoreCorruptError } from './storage/store.ts';
import { attestationRoutes } from './routes/attestation.ts';
import { attestationReadRoutes } from './routes/attestations.ts';
import { auditRoutes } from './routes/audit.ts';
import { fleetRoutes } from './routes/fleet.ts';
import { mountDocs } from './routes/docs.ts';
import { inventoryRoutes } from './routes/inventory.ts';
import { keyRoutes } from './routes/keys.ts';
import { opsRoutes } from './routes/ops.ts';
import { policyRoutes } from './routes/policies.ts';
import { referenceValueRoutes } from './routes/reference-values.ts';
import { secretRoutes } from './routes/secrets.ts';
import { tokenRoutes } from './routes/tokens.ts';
import { sessionRoutes } from './routes/sessions.ts';
import { consoleRoutes } from './console/router.tsx';
import { kbsRoutes } from './routes/kbs.ts';
import { KbsError, kbsErrorResponse, kbsProblemResponse } from './kbs/errors.ts';
import { kbsEnabled } from './config.ts';

const REQUEST_ID_RE = /^[A-Za-z0-9._-]{1,64}$/;

function clientAddress(ctx: ServiceContext, c: Parameters<typeof getConnInfo>[0]): string | null {
  if (ctx.config.trustProxy) {
    // The last entry is the one the trusted proxy appended (the address it saw); earlier
    // entries come from the client and could be anything.
    const forwarded = c.req.header('x-forwarded-for')?.split(',').at(-1)?.trim();
    if (forwarded) return forwarded.slice(0, 64);
  }
  try {
    return getConnInfo(c).remote.address ?? null;
  } catch {
    return null;
  }
}

export function createApp(ctx: ServiceContext) {
  const app = newRouter();

  app.use('*', async (c, next) => {
    const started = performance.now();
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID_RE.test(incoming) ? incoming : randomUUID();
    c.set('requestId', requestId);
    c.set('clientAddress', clientAddress(ctx, c));
    await next();
    c.res.headers.set('x-request-id', requestId);
    // The route pattern, not the path: bounded label values, and no names or ids in logs' route.
    const route = c.req.routePath && c.req.routePath !== '*' && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched';
    ctx.metrics.httpRequests.inc({ route, method: c.req.method, status: String(c.res.status) });
    // Only method, path, status and timing: never headers (tokens) nor bodies.
    ctx.log.info(
      { requestId, method: c.req.method, path: c.req.path, route, status: c.res.status, ms: Math.round((performance.now() - started) * 100) / 100, client: c.get('clientAddress') },
      'request',
    );
  });

  app.use('*', bodyLimit(ctx.config.bodyLimit));

  const kbs = kbsEnabled(ctx.config);
  app.onError((err, c) => {
    // The KBS protocol's refusals, and anything else thrown under /kbs/, in its error shape (server/kbs/errors.ts).
    if (err instanceof KbsError) return kbsErrorResponse(c, err.status, err.type, err.code, err.detail);
    const p = toProblem(err);
    if (p.bug) ctx.log.error({ requestId: c.get('requestId'), err }, 'unhandled error');
    // Not a bug, but the operator must see it: the message names the cause, never a credential.
    else if (err instanceof StoreCorruptError) reportCorruption(ctx, err, `${c.req.method} ${c.req.routePath}`);
    else if (p.code === 'store_unavailable') ctx.log.warn({ requestId: c.get('requestId'), err: (err as Error).message }, 'the store is unavailable');
    if (kbs && c.req.path.startsWith('/kbs/')) return kbsProblemResponse(c, p);
    const res = problemResponse(c, p.status, p.code, p.detail, p.extensions);
    if (p.retryAfterSeconds !== undefined) res.headers.set('retry-after', String(p.retryAfterSeconds));
    return res;
  });
  app.notFound((c) => problemResponse(c, 404, 'not_found', `No route ${c.req.method} ${c.req.path}.`));

  app.route('/', opsRoutes(ctx));
  app.route('/', keyRoutes(ctx));
  app.route('/', attestationRoutes(ctx));
  app.route('/', attestationReadRoutes(ctx));
  app.route('/', inventoryRoutes(ctx));
  app.route('/', policyRoutes(ctx));
  app.route('/', fleetRoutes(ctx));
  app.route('/', referenceValueRoutes(ctx));
  app.route('/', auditRoutes(ctx));
  app.route('/', tokenRoutes(ctx));
  app.route('/', secretRoutes(ctx));
  app.route('/', sessionRoutes(ctx));
  // The operator console calls this very app in-process for every read and action.
  app.route('/', consoleRoutes(ctx, (request, env) => app.fetch(request, env)));
  if (kbs) app.route('/', kbsRoutes(ctx));
  mountDocs(app);
  return app;
}
