// The audit log over HTTP (scope auditor): filtered, newest first, keyset-paginated; a full
// verification of the hash chain; and the signed head, to keep elsewhere against truncation.

import { createRoute, z } from '@hono/zod-openapi';
import { AUDIT_HEAD_TYP, signAuditHead } from '../audit/head.ts';
import { queryAudit, verifyAuditChain } from '../audit/log.ts';
import type { ServiceContext } from '../context.ts';
import { newRouter, requireScope } from '../http.ts';
import { ApiError } from '../problem.ts';
import { bearerSecurity, problem, auditorAuthResponses } from './schemas.ts';

const entrySchema = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    action: z.string(),
    outcome: z.string(),
    actor: z.string(),
    subject: z.string().nullable(),
    tee: z.string().nullable(),
    clientAddress: z.string().nullable(),
    details: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
  })
  .openapi('AuditEntry');

const q = (name: string, description: string) => z.string().max(256).optional().openapi({ param: { name, in: 'query' }, description });

const listRoute = createRoute({
  method: 'get',
  path: '/v1/audit',
  tags: ['audit'],
  summary: 'Query the audit log (newest first)',
  security: bearerSecurity,
  request: {
    query: z.object({
      from: q('from', 'ISO-8601 instant, inclusive'),
      to: q('to', 'ISO-8601 instant, inclusive'),
      action: q('action', 'e.g. attestation, policy.create, policy.activate, reference-values.put, token.create, token.revoke, key.rotate, auth.failure'),
      outcome: q('outcome', 'e.g. affirming, warning, contraindicated, success, failure'),
      tee: q('tee', 'sev-snp, tdx or sgx'),
      subject: q('subject', 'the entry subject (attestation id, policy name, token id...)'),
      limit: q('limit', '1..500, default 100'),
      cursor: q('cursor', 'nextCursor of the previous page'),
    }),
  },
  responses: {
    200: {
      description: 'A page of entries',
      content: { 'application/json': { schema: z.object({ entries: z.array(entrySchema), nextCursor: z.string().nullable() }).openapi('AuditPage') } },
    },
    400: problem('Bad filter'),
    ...auditorAuthResponses,
  },
});

const verifyRoute = createRoute({
  method: 'get',
  path: '/v1/audit/verify',
  tags: ['audit'],
  summary: 'Verify the whole hash chain',
  security: bearerSecurity,
  responses: {
    200: {
      description: 'Chain report: ok, or the first broken link',
      content: {
        'application/json': {
          schema: z
            .object({
              ok: z.boolean(),
              checked: z.number().int(),
              head: z.object({ seq: z.number().int(), hash: z.string() }).optional(),
              firstBroken: z.object({ seq: z.number().int(), reason: z.string(), detail: z.string() }).optional(),
            })
            .openapi('AuditChainReport'),
        },
      },
    },
    ...auditorAuthResponses,
  },
});

const headRoute = createRoute({
  method: 'get',
  path: '/v1/audit/head',
  tags: ['audit'],
  summary: 'The newest entry, signed: keep it elsewhere to detect a log cut short later',
  description: `The hash chain cannot show that its newest entries were removed. Export this now and then; \`tessera audit verify --head FILE\` later checks that the log still holds the signed entry with the same hash. \`signed\` is a compact JWS (ES256, typ ${AUDIT_HEAD_TYP}) by the result-signing key, payload {seq, hash, iat}.`,
  security: bearerSecurity,
  responses: {
    200: {
      description: 'The signed head',
      content: {
        'application/json': {
          schema: z.object({ seq: z.number().int(), hash: z.string(), at: z.string(), signed: z.string() }).openapi('SignedAuditHead'),
        },
      },
    },
    ...auditorAuthResponses,
  },
});

function instant(text: string | undefined, name: string): number | undefined {
  if (text === undefined) return undefined;
  const t = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || Number.isNaN(t)) throw new ApiError(400, 'request_invalid', `${name} must be an ISO-8601 instant, e.g. 2025-01-31T00:00:00Z.`);
  return t;
}

export function auditRoutes(ctx: ServiceContext) {
  const r = newRouter();
  r.use('/v1/audit', requireScope(ctx, 'auditor'));
  r.use('/v1/audit/*', requireScope(ctx, 'auditor'));
  r.openapi(listRoute, async (c) => {
    const p = c.req.valid('query');
    let limit = 100;
    if (p.limit !== undefined) {
      if (!/^\d{1,3}$/.test(p.limit) || Number(p.limit) < 1 || Number(p.limit) > 500) throw new ApiError(400, 'request_invalid', 'limit must be an integer from 1 to 500.');
      limit = Number(p.limit);
    }
    let beforeSeq: number | undefined;
    if (p.cursor !== undefined) {
      const decoded = Buffer.from(p.cursor, 'base64url').toString('utf8');
      if (!/^[A-Za-z0-9_-]+$/.test(p.cursor) || !/^s[1-9]\d{0,15}$/.test(decoded)) throw new ApiError(400, 'cursor_invalid', 'cursor is not one this server returned.');
      beforeSeq = Number(decoded.slice(1));
    }
    const page = await queryAudit(ctx.store.audit, {
      from: instant(p.from, 'from'),
      to: instant(p.to, 'to'),
      action: p.action,
      outcome: p.outcome,
      tee: p.tee,
      subject: p.subject,
      limit,
      beforeSeq,
    });
    const nextCursor = page.nextBeforeSeq === undefined ? null : Buffer.from(`s${page.nextBeforeSeq}`).toString('base64url');
    return c.json({ entries: page.entries, nextCursor }, 200);
  });
  r.openapi(verifyRoute, async (c) => c.json(await verifyAuditChain(ctx.store.audit), 200));
  r.openapi(headRoute, async (c) => {
    // The newest durable entry (AuditStorage.head): the signed head never names an entry that
    // a power cut could still take back (on SQLite a batch is visible to readers a moment
    // before its WAL sync; the head is read after it).
    const head = await ctx.store.audit.head();
    return c.json(await signAuditHead(ctx.keys, head), 200);
  });
  return r;
}
